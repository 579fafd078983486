"""`tally drain` as a process against a moto server: SIGKILL it mid-drain, run it again, and
find every job in SQS, none lost, at most the chunk it held sent twice."""

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tally_contract.sidekiq_redis import hold_key
from tally_ops.sqs import Sqs
from tests.support.jobs import jobs, push
from tests.support.ops import received
from tests.support.waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow
JOBS, CHUNK = 300, 30


def test_sigkill_mid_drain_then_rerun_loses_nothing(moto_endpoint: str, redis_url: str, redis_client: Any) -> None:
    import boto3

    client = boto3.client("sqs", endpoint_url=moto_endpoint, region_name="us-east-1")
    client.create_queue(QueueName="events")
    bodies = jobs(JOBS)
    push(redis_client, bodies)
    command = [sys.executable, "-c", "from tally_cli.commands.drain import drain; drain()", "--from", redis_url,
               "--to", "sqs://events", "--chunk", str(CHUNK), "--endpoint-url", moto_endpoint]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    first = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(
            lambda: redis_client.llen("queue:default") < JOBS - 3 * CHUNK and redis_client.llen(hold_key("default"))
        )
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
    held = redis_client.llen(hold_key("default"))
    assert 0 < held <= CHUNK, "the drain must have died holding a chunk"
    left = redis_client.llen("queue:default")
    second = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert second.returncode == 0, second.stderr[-2000:]
    assert f"moved {left} queued job(s), resent {held}," in second.stdout
    assert redis_client.exists("queue:default", hold_key("default")) == 0
    got = received(Sqs("events", client=client))
    assert set(got) == set(bodies)  # none lost
    assert JOBS <= len(got) <= JOBS + held  # duplicates only from the chunk in flight at the kill
