"""The real Redis worker (its command line, the real pipeline) against a moto server standing
in for DynamoDB: SIGKILL one worker mid-batch, let another recover its jobs, roll up, and find
every event stored once and counted once."""

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from processor_lambda.dynamo import DynamoStore
from processor_lambda.request_job import Tables
from processor_lambda.rollup import Rollup
from tally_contract.queues.redis_queue import RedisQueue
from tally_contract.sidekiq_redis import REGISTRY
from tests import raw_store
from tests.infra import create_table
from tests.processor_harness import NOW
from tests.servers import free_port
from tests.test_processor import tally_job
from tests.waiting import wait_for

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow
JOBS = 400


@pytest.fixture
def moto_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port())
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def test_sigkill_mid_batch_loses_nothing_and_counts_once(moto_endpoint: str, redis_url: str, redis_client: Any) -> None:
    import boto3

    dynamodb = boto3.client("dynamodb", endpoint_url=moto_endpoint, region_name="us-east-1")
    tables = Tables(create_table(dynamodb, "e2e", "EventsTable"), create_table(dynamodb, "e2e", "AggregatesTable"))
    sites = create_table(dynamodb, "e2e", "SitesTable")
    bodies = [tally_job(f"ev-{i:04d}", ip=f"198.51.100.{i % 50}", url=f"https://shop.example.com/p{i % 7}")
              for i in range(JOBS)]  # fmt: skip
    assert RedisQueue(redis_client).push("default", bodies) == []
    env = {**os.environ, "PYTHONPATH": str(ROOT), "AWS_ENDPOINT_URL": moto_endpoint,
           "TALLY_EVENTS_TABLE": tables.events, "TALLY_AGGREGATES_TABLE": tables.aggregates,
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
        wait_for(lambda: _stored(dynamodb, tables.events) == JOBS)
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(30) == 0
    assert redis_client.zcard("retry") == 0 and redis_client.zcard("dead") == 0

    store = DynamoStore(dynamodb, sleep=lambda _: None)
    Rollup(store, tables, clock=lambda: NOW + 3 * 86400).run()
    day = dynamodb.get_item(TableName=tables.aggregates,
                            Key={"pk": {"S": "shop#d#2026-11-23"}, "sk": {"S": "total#"}})["Item"]  # fmt: skip
    assert int(day["sev"]["N"]) == JOBS and int(day["spv"]["N"]) == JOBS
    assert int(day["suv"]["N"]) == 50 and "dirty" not in day
    assert int(day["ev"]["N"]) >= JOBS  # live counters may have counted the recovered batch twice


def holding(client: Any) -> bool:
    return any(client.llen(key) for key in client.scan_iter("queue:default:processing:*"))


def _stored(dynamodb: Any, table: str) -> int:
    return raw_store.stored_count(dynamodb, table)
