"""The Redis worker as a real process: SIGKILL mid-batch loses nothing, SIGTERM stops cleanly.

Workers run ``tests/support/worker_child.py``: a slow fake pipeline that records each processed jid in
the Redis list ``test:processed`` after its pause, with a 1 s heartbeat TTL and 0.3 s recovery.
"""

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tally_contract import envelope
from tally_contract.queues.redis_queue import RedisQueue
from tally_contract.sidekiq_redis import REGISTRY, heartbeat_key, processing_key
from tests.support.waiting import wait_for
from tests.support.worker_child import PROCESSED

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


@pytest.fixture
def spawn(redis_url: str) -> Iterator[Callable[..., "subprocess.Popen[bytes]"]]:
    started: list[subprocess.Popen[bytes]] = []

    def start(identity: str, pause: float, batch: int = 50) -> "subprocess.Popen[bytes]":
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.support.worker_child", redis_url, identity, str(pause), str(batch)],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.wait(5)
        if proc.stderr:
            proc.stderr.close()


def push_jobs(client: Any, n: int) -> list[str]:
    bodies = [envelope.encode(envelope.build([{"n": i}])) for i in range(n)]
    assert RedisQueue(client).push("default", bodies) == []
    return [json.loads(b)["jid"] for b in bodies]


def processed(client: Any) -> list[str]:
    return [jid.decode() for jid in client.lrange(PROCESSED, 0, -1)]


def test_a_worker_killed_mid_batch_loses_no_job(redis_client: Any, spawn: Any) -> None:
    jids = push_jobs(redis_client, 500)
    first = spawn("victim:1:aaaaaaaaaaaa", pause=0.15, batch=50)
    wait_for(lambda: len(processed(redis_client)) >= 100)
    time.sleep(0.05)  # well inside the next batch's pause
    first.send_signal(signal.SIGKILL)
    assert first.wait(5) == -signal.SIGKILL
    held = redis_client.llen(processing_key("default", "victim:1:aaaaaaaaaaaa"))
    assert held > 0, "the kill should land while a batch is in hand"
    done_before = set(processed(redis_client))
    assert len(done_before) < 500

    second = spawn("rescuer:2:bbbbbbbbbbbb", pause=0.01, batch=50)
    wait_for(lambda: set(processed(redis_client)) == set(jids), timeout=15)
    second.send_signal(signal.SIGTERM)
    assert second.wait(10) == 0

    everything = processed(redis_client)
    assert set(everything) == set(jids)  # every job processed at least once
    # Only the batch in hand at the kill can run twice (if it was recorded before the kill).
    assert len(everything) - len(jids) <= held
    assert redis_client.llen("queue:default") == 0
    assert redis_client.keys("queue:default:processing:*") == []
    assert redis_client.smembers(REGISTRY) == set()


def test_sigterm_finishes_the_batch_in_hand_and_exits_0(redis_client: Any, spawn: Any) -> None:
    identity = "polite:3:cccccccccccc"
    jids = push_jobs(redis_client, 200)
    worker = spawn(identity, pause=0.4, batch=50)
    wait_for(lambda: redis_client.llen(processing_key("default", identity)) > 0)
    wait_for(lambda: redis_client.sismember("processes", identity) == 1)
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(10) == 0, worker.stderr.read().decode() if worker.stderr else ""

    done = processed(redis_client)
    assert done and len(done) == len(set(done))  # the batch in hand finished, once
    left = [json.loads(b)["jid"] for b in redis_client.lrange("queue:default", 0, -1)]
    assert sorted(done + left) == sorted(jids)  # the rest is still queued: nothing lost
    assert redis_client.exists(processing_key("default", identity), heartbeat_key(identity), identity) == 0
    assert redis_client.sismember("processes", identity) == 0
    assert redis_client.smembers(REGISTRY) == set()
    assert int(redis_client.get("stat:processed")) == len(done)
