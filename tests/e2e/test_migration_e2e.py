"""The Redis -> SQS cut-over of docs/migration.md, end to end, in one process:

ingest writes to Redis while Tally's Redis worker consumes; ingest switches to SQS; `tally
drain` moves the Redis backlog to SQS (crashing once halfway, then rerun) while the worker
still runs; the SQS processor takes over. Every event sent is stored exactly once, and the
sealed aggregates count each once."""

import threading
import time
from collections.abc import Sequence
from typing import Any

import pytest
from click.testing import CliRunner

from ingest_lambda import runtime
from ingest_lambda.ratelimit import RateLimiter
from ingest_lambda.settings import Settings
from processor_lambda.results import RecordResult
from processor_lambda.sqs_handler import SqsBatchHandler
from redis_worker.worker import Worker
from tally_cli.commands.drain import drain
from tally_contract.queues.redis_queue import RedisQueue
from tally_contract.queues.sqs_queue import SqsQueue
from tally_contract.sidekiq_redis import hold_key
from tally_ops.drain import RedisToSqs
from tally_ops.redis_side import RedisSide
from tally_ops.sqs import Sqs
from tests.support.infra import create_queues
from tests.support.ingest_harness import Ingest, make_ingest
from tests.support.ops import Crash, CrashingSqs
from tests.support.processor_harness import make_processor
from tests.support.sqs_events import receive_records
from tests.support.waiting import wait_for

pytestmark = pytest.mark.slow
PER_POST = 10


class SlowPipeline:
    """The real pipeline, slowed so a backlog builds up in Redis as it would under load."""

    def __init__(self, real: Any, pause: float) -> None:
        self.real, self.pause = real, pause

    def process(self, bodies: Sequence[str | bytes]) -> list[RecordResult]:
        time.sleep(self.pause)
        return self.real.process(bodies)  # type: ignore[no-any-return]


def send(harness: Ingest, first: int, count: int) -> list[str]:
    ids = [f"00000000-0000-4000-8000-{n:012d}" for n in range(first, first + count)]
    for start in range(0, count, PER_POST):
        batch = [
            {"event_id": i, "url": f"https://shop.example.com/p{int(i[-3:]) % 9}"}
            for i in ids[start : start + PER_POST]
        ]
        response = harness.post(
            {"batch": batch}, headers={"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/130.0"}
        )
        assert response.status < 300, response.body
    return ids


def point_ingest_at(harness: Ingest, queue: Any) -> None:
    clock = lambda: harness.now[0]  # noqa: E731
    rt = runtime.configure(settings=Settings(), queue=queue, sites=harness.sites, clock=clock)
    rt.limiter = RateLimiter(clock=clock)


def test_redis_to_sqs_cut_over_stores_every_event_once(aws: None, boto: Any, redis_url: str, redis_client: Any) -> None:
    proc = make_processor(boto.client("dynamodb"))
    sqs_client = boto.client("sqs")
    urls = create_queues(sqs_client, "test")
    harness = make_ingest(queue=RedisQueue(redis_client))
    worker = Worker(redis_client, SlowPipeline(proc.pipeline, 0.05), batch_size=10, block_timeout=0.1,
                    identity="old-worker:1:0123456789ab")  # fmt: skip
    runner = threading.Thread(target=worker.run)
    runner.start()
    try:
        # 1. Redis era: ingest -> Redis -> worker.
        sent = send(harness, 0, 200)
        wait_for(lambda: int(redis_client.get("stat:processed") or 0) >= 50)
        # 2. Switch ingest to SQS (TALLY_QUEUE_URL=sqs://...); new traffic no longer touches Redis.
        point_ingest_at(harness, SqsQueue(urls["EventsQueue"], client=sqs_client))
        sent += send(harness, 200, 100)
        backlog = redis_client.llen("queue:default")
        assert backlog > 50, "the Redis worker must not have caught up yet"
        # 3. Drain the backlog while the worker still runs; crash after SQS took a chunk.
        with pytest.raises(Crash):
            RedisToSqs(RedisSide(redis_client), CrashingSqs(Sqs("tally-test-events", client=sqs_client), 2, True),
                       chunk=25).run()  # fmt: skip
        assert redis_client.llen(hold_key("default")) == 25
        result = CliRunner().invoke(drain, ["--from", redis_url, "--to", "sqs://tally-test-events", "--chunk", "25"])
        assert result.exit_code == 0, result.output
        assert "resent 25" in result.output
    finally:
        worker.stopping.set()
        runner.join(30)
        runtime.reset()
    assert redis_client.exists("queue:default", hold_key("default")) == 0
    assert redis_client.zcard("retry") == 0 and redis_client.zcard("dead") == 0
    # 4. The SQS processor takes over and empties the queue.
    handler = SqsBatchHandler(proc.pipeline, client=sqs_client)
    drained = 0
    while records := receive_records(sqs_client, urls["EventsQueue"], at_most=200, visibility_timeout=60):
        assert handler({"Records": records}) == {"batchItemFailures": []}
        drained += len(records)
    assert drained >= 100 + 25  # the SQS-era events, the drained backlog, the crashed chunk twice
    # 5. Every event stored once; the sealed day counts each once.
    stored = [event["event_id"] for event in proc.stored()]
    assert sorted(stored) == sorted(sent) and len(sent) == 300
    proc.rollup(at=proc.now[0] + 3 * 86400)
    day = proc.aggregate("shop#d#2026-11-23")
    assert (day["sev"], day["spv"]) == (300, 300) and "dirty" not in day
    assert sum(proc.aggregate("shop#d#2026-11-23", f"page#/p{n}").get("spv", 0) for n in range(9)) == 300
