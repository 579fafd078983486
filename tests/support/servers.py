"""Real servers for tests: redis-server on a free loopback port."""

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def redis_server(port: int | None = None, *, workdir: str | None = None) -> Iterator[str]:
    """``workdir`` given: an append-only file there, fsynced on every write, so a restart on the
    same port and workdir keeps every acknowledged write (the caller removes the workdir)."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not installed: run `make test-deps` (apt-get install redis-server)")
    port = port or free_port()
    durable = workdir is not None
    workdir = workdir or tempfile.mkdtemp(prefix="tally-redis-")
    proc = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "yes" if durable else "no",
            "--appendfsync",
            "always",
            "--dir",
            workdir,
            "--protected-mode",
            "yes",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, proc, "redis-server")
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if not durable:
            shutil.rmtree(workdir, ignore_errors=True)


def wait_for_port(port: int, proc: "subprocess.Popen[bytes]", name: str, timeout: float = 10.0) -> None:
    """Return once ``proc`` accepts connections on ``port``; raise if it exits or times out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{name} did not start within {timeout:.0f} s")
