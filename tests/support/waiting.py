"""Polling for a condition, the one way every test waits."""

import subprocess
import time
from collections.abc import Callable
from typing import Any


def wait_for(
    condition: Callable[[], Any],
    timeout: float = 30.0,
    what: str | Callable[[], str] = "the condition",
    proc: "subprocess.Popen[Any] | None" = None,
    interval: float = 0.05,
) -> Any:
    """The condition's first true value. Fails (AssertionError) when ``timeout`` seconds pass,
    or at once when ``proc``, the process that should make it true, has exited."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"waiting for {_text(what)}: process exited {proc.returncode}: {_output(proc)}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {_text(what)}")
        time.sleep(interval)


def _text(what: str | Callable[[], str]) -> str:
    return what if isinstance(what, str) else what()


def _output(proc: "subprocess.Popen[Any]") -> str:
    stream = proc.stdout or proc.stderr
    data = stream.read() if stream is not None else ""
    return (data.decode(errors="replace") if isinstance(data, bytes) else data)[-2000:]
