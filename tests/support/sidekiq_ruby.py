"""Drive the real Sidekiq 6.4.1 / ActiveJob 6.1 (Debian's gems) from tests: tests/support/ruby/*.rb."""

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
APP = "./tests/support/ruby/app.rb"
RECORD_KEY = "tally:test:received"


def require_sidekiq() -> None:
    """CI installs the gems (`make test-deps`); without them these tests fail, never skip."""
    probe = subprocess.run(["ruby", "-e", 'require "sidekiq/api"; require "active_job"'], capture_output=True)
    assert probe.returncode == 0 and shutil.which("sidekiq"), "Debian's ruby-sidekiq / ruby-activejob: make test-deps"


def _env(redis_url: str, form: str) -> dict[str, str]:
    return {**os.environ, "REDIS_URL": redis_url, "TALLY_FORM": form, "TALLY_RECORD_KEY": RECORD_KEY}


def ruby(redis_url: str, form: str, *args: str) -> list[str]:
    """Run Ruby with the app loaded; return its stdout lines."""
    result = subprocess.run(["ruby", "-r", APP, *args], cwd=ROOT, env=_env(redis_url, form), capture_output=True,
                            text=True, timeout=60)  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout.splitlines()


def enqueue(redis_url: str, form: str) -> list[str]:
    """Enqueue the Rails-style jobs of tests/support/ruby/enqueue.rb; return their jids."""
    return ruby(redis_url, form, "tests/support/ruby/enqueue.rb")


@contextmanager
def sidekiq(redis_url: str, form: str, concurrency: int = 2) -> Iterator["subprocess.Popen[str]"]:
    """A real `sidekiq` process running tests/support/ruby/app.rb; stopped with TERM on exit."""
    command = ["sidekiq", "-r", APP, "-c", str(concurrency), "-t", "3", "-q", "default"]
    proc = subprocess.Popen(command, cwd=ROOT, env=_env(redis_url, form), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)  # fmt: skip
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()


def recorded(client: Any) -> list[dict[str, Any]]:
    return [json.loads(entry) for entry in client.lrange(RECORD_KEY, 0, -1)]
