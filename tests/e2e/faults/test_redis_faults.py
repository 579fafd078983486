"""Fault scenarios on the Redis path, over real HTTP (tests/support/local_pipeline.py with ingest
writing to a real redis-server) and the real worker CLI in its own process, writing to moto's
server: the worker SIGKILLed mid-batch, and Redis restarted while clients send.
Each ends with the Ledger's accounting (tests/support/faults/ledger.py, docs/faults.md)."""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.faults import sinks
from tests.support.faults.client import ORIGIN, Client, new_events
from tests.support.faults.ledger import Ledger, volume
from tests.support.jobs import holding
from tests.support.local_pipeline import LocalPipeline, local_pipeline
from tests.support.servers import free_port, redis_server
from tests.support.waiting import wait_for

ROOT = Path(__file__).resolve().parents[3]
pytestmark = pytest.mark.slow


@pytest.fixture
def worker() -> Iterator[Callable[[str], "subprocess.Popen[bytes]"]]:
    """Start `python -m redis_worker` against the local pipeline's tables."""
    started: list[subprocess.Popen[bytes]] = []

    def start(redis_url: str) -> "subprocess.Popen[bytes]":
        command = [sys.executable, "-m", "redis_worker", "--redis-url", redis_url, "--batch-size", "40",
                   "--heartbeat-ttl", "1", "--recovery-interval", "0.3", "--poll-interval", "0.5"]  # fmt: skip
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)


def settled(local: LocalPipeline, ledger: Ledger, redis: Any) -> Callable[[], bool]:
    """True once the queue is empty, no batch is in hand and every accepted event has landed."""
    table = os.environ["TALLY_EVENTS_TABLE"]

    def done() -> bool:
        queued, retry = redis.llen("queue:default"), redis.zcard("retry")
        landed = set(sinks.stored_ids(local.clients["dynamodb"], table)) | set(sinks.redis_dead_letters(redis))
        return not (queued or retry or holding(redis)) and landed >= ledger.accepted

    return done


def account(local: LocalPipeline, ledger: Ledger, redis: Any) -> None:
    dynamodb = local.clients["dynamodb"]
    stored, ledger.notes["sealed_total"] = sinks.roll_up_and_store(dynamodb, ledger)
    ledger.dead.update(sinks.redis_dead_letters(redis))
    ledger.check()
    assert ledger.notes["sealed_total"] == len(set(stored)), "the rollup counts each stored event once"


def test_worker_sigkilled_mid_batch_and_restarted(redis_url: str, redis_client: Any, worker: Any) -> None:
    with local_pipeline(ORIGIN, queue_url=redis_url) as local:
        ledger = Ledger("worker_sigkill")
        n = volume(200, 2000)
        Client(local.api, local.write_key).send(ledger, new_events(n))
        assert len(ledger.accepted) == n == redis_client.llen("queue:default")
        first = worker(redis_url)
        wait_for(lambda: redis_client.llen("queue:default") < n - 80 and holding(redis_client))
        first.send_signal(signal.SIGKILL)
        assert first.wait(10) == -signal.SIGKILL
        ledger.notes["held_at_kill"] = sum(
            redis_client.llen(k) for k in redis_client.scan_iter("queue:default:processing:*")
        )
        assert ledger.notes["held_at_kill"] > 0, "the kill must land while a batch is in hand"
        second = worker(redis_url)
        wait_for(settled(local, ledger, redis_client), timeout=300)
        second.send_signal(signal.SIGTERM)
        assert second.wait(30) == 0
        account(local, ledger, redis_client)


def test_redis_restarted_under_load(worker: Any) -> None:
    """redis-server (append-only, fsync always) stops while a client sends and the worker works:
    ingest answers 503, the client resends; redis comes back on the same port and data dir, the
    same worker process reconnects and finishes."""
    import redis

    port, workdir = free_port(), tempfile.mkdtemp(prefix="tally-faults-redis-")
    server = redis_server(port, workdir=workdir)
    url = server.__enter__()
    client = redis.Redis.from_url(url)
    try:
        with local_pipeline(ORIGIN, queue_url=url) as local:
            ledger = Ledger("redis_restart")
            sender = Client(local.api, local.write_key, attempts=40, backoff=0.05)
            events = new_events(volume(150, 2000))
            running = worker(url)
            sending = threading.Thread(target=sender.send, args=(ledger, events), kwargs={"batch": 10, "pause": 0.05})
            sending.start()
            wait_for(lambda: len(ledger.accepted) >= len(events) // 3)
            server.__exit__(None, None, None)
            wait_for(lambda: 503 in sender.statuses, timeout=60)
            time.sleep(1.0)  # the worker and the client keep failing for a while
            server = redis_server(port, workdir=workdir)
            server.__enter__()
            sending.join(timeout=300)
            assert not sending.is_alive()
            wait_for(settled(local, ledger, client), timeout=300)
            assert running.poll() is None, "the worker must survive the outage and reconnect"
            running.send_signal(signal.SIGTERM)
            assert running.wait(30) == 0
            ledger.notes["refused_503"] = sender.statuses.count(503)
            account(local, ledger, client)
    finally:
        client.close()
        server.__exit__(None, None, None)
        shutil.rmtree(workdir, ignore_errors=True)
