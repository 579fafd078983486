"""The real Redis worker (its command line, the real pipeline) against a moto server standing
in for DynamoDB: SIGKILL one worker mid-batch, let another recover its jobs, roll up, and find
every event stored once and counted once."""

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tally_aggregates.rollup import Rollup
from tally_contract.queues.redis_queue import RedisQueue
from tally_contract.sidekiq_redis import REGISTRY
from tally_store.base import TOTAL, Bucket
from tests.support import raw_store
from tests.support.infra import create_table
from tests.support.jobs import holding, tally_job
from tests.support.processor_harness import NOW, dynamodb_tables
from tests.support.waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow
JOBS = 400


def test_sigkill_mid_batch_loses_nothing_and_counts_once(moto_endpoint: str, redis_url: str, redis_client: Any) -> None:
    import boto3

    dynamodb = boto3.client("dynamodb", endpoint_url=moto_endpoint, region_name="us-east-1")
    store = dynamodb_tables(dynamodb)
    sites = create_table(dynamodb, "test", "SitesTable")
    bodies = [tally_job(f"ev-{i:04d}", ip=f"198.51.100.{i % 50}", url=f"https://shop.example.com/p{i % 7}")
              for i in range(JOBS)]  # fmt: skip
    assert RedisQueue(redis_client).push("default", bodies) == []
    env = {**os.environ, "PYTHONPATH": str(ROOT), "AWS_ENDPOINT_URL": moto_endpoint,
           "TALLY_EVENTS_TABLE": store.events_table, "TALLY_AGGREGATES_TABLE": store.aggregates_table,
           "TALLY_SITES_TABLE": sites}  # fmt: skip
    command = [sys.executable, "-m", "redis_worker", "--redis-url", redis_url, "--batch-size", "40",
               "--heartbeat-ttl", "1", "--recovery-interval", "0.3", "--poll-interval", "0.5"]  # fmt: skip

    first = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        # Kill it while it holds a batch and has stored part of the work.
        wait_for(lambda: redis_client.llen("queue:default") < JOBS - 80 and holding(redis_client))
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        assert holding(redis_client), "the killed worker must have died holding a batch"
    finally:
        if first.poll() is None:
            first.kill()
    second = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_for(lambda: redis_client.llen("queue:default") == 0 and not holding(redis_client)
              and redis_client.scard(REGISTRY) <= 1)  # fmt: skip
        wait_for(lambda: _stored(dynamodb, store.events_table) == JOBS)
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(30) == 0
    assert redis_client.zcard("retry") == 0 and redis_client.zcard("dead") == 0

    Rollup(store, clock=lambda: NOW + 3 * 86400).settle()
    day = Bucket("shop", "d", "2026-11-23")
    counts = store.counts([(day, TOTAL)])[(day, TOTAL)]
    assert counts.sealed is not None and (counts.sealed["ev"], counts.sealed["pv"]) == (JOBS, JOBS)
    assert counts.sealed["uv"] == 50 and not counts.state.dirty
    assert counts.live["ev"] >= JOBS  # live counters may have counted the recovered batch twice


def _stored(dynamodb: Any, table: str) -> int:
    return raw_store.stored_count(dynamodb, table)
