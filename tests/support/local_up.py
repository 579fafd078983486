"""`tally up` as a real process on free ports, for the tests that drive local mode from outside:
the fixture starts it with its state dir and an empty config under the test's tmp_path, waits
for its state file (.tally/local.json there) and kills its whole session afterwards."""

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.servers import free_port
from tests.support.waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]
# Short enough for a test to see batches, retries and sealed buckets within seconds.
FAST = ("--batch-window", "0.5", "--visibility-timeout", "5", "--rollup-interval", "2")
EMULATOR = "--aws-emulator"


def cli_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """A `tally` process's environment: this test's state dir and config, no AWS endpoint."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT_URL")}
    env.update(
        PYTHONPATH=str(ROOT), TALLY_STATE_DIR=str(tmp_path / "state"), TALLY_CONFIG=str(tmp_path / "config.toml")
    )
    (tmp_path / "config.toml").write_text("")
    return {**env, **extra}


def tally(tmp_path: Path, *args: str, timeout: float = 60) -> "subprocess.CompletedProcess[str]":
    """Run one `tally` command against the local mode this test started; it must succeed."""
    return subprocess.run([sys.executable, "-m", "tally_cli", *args], env=cli_env(tmp_path), cwd=tmp_path,
                          capture_output=True, text=True, timeout=timeout, check=True)  # fmt: skip


def aws_client(state: dict[str, Any], service: str) -> Any:
    import boto3

    return boto3.client(service, endpoint_url=state["endpoint_url"], region_name="us-east-1",
                        aws_access_key_id="x", aws_secret_access_key="x")  # fmt: skip


@pytest.fixture
def start_up(tmp_path: Path) -> Iterator[Callable[..., tuple["subprocess.Popen[str]", dict[str, Any]]]]:
    """``start(*extra_args) -> (process, state)``: state is local.json plus api_port, aws_port
    (with --aws-emulator) and file (its path). The data directory is the test's
    ``tmp_path/data``, so a second start in one test finds the first one's data."""
    procs: list[subprocess.Popen[str]] = []

    def start(*extra: str) -> tuple["subprocess.Popen[str]", dict[str, Any]]:
        api_port, aws_port = free_port(), free_port()
        ports = ("--port", str(api_port), *(("--aws-port", str(aws_port)) if EMULATOR in extra else ()))
        args = [sys.executable, "-m", "tally_cli", "up", *ports, "--data-dir", str(tmp_path / "data"), *FAST, *extra]
        state_file = tmp_path / "state" / "local.json"
        state_file.unlink(missing_ok=True)  # a killed run's, stale
        # Its output goes to a file: a pipe nobody reads would fill and block its batch lines.
        log = tmp_path / f"up-{len(procs)}.log"
        with log.open("w") as out:
            proc = subprocess.Popen(args, env=cli_env(tmp_path), cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT,
                                    text=True, start_new_session=True)  # fmt: skip
        procs.append(proc)
        started = lambda: state_file.exists() or proc.poll() is not None  # noqa: E731
        assert wait_for(started, 120, "tally up to start") and proc.poll() is None, log.read_text()[-3000:]
        state = json.loads(state_file.read_text())
        state["api_port"], state["file"], state["log"] = api_port, state_file, log
        state["aws_port"] = aws_port if EMULATOR in extra else None
        return proc, state

    yield start
    for proc in procs:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
