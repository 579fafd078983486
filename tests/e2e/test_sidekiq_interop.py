"""Tally and the real Sidekiq 6.4.1 / ActiveJob 6.1 on one Redis, in both directions:

- what Tally's ingest queues (plain and ActiveJob-wrapped) runs in a real `sidekiq` process
  with the same arguments;
- what Ruby enqueues (perform_async, push_bulk, perform_later with symbol keys, keyword
  arguments, a Time and controller-style params) becomes the same stored events through Tally's
  Redis worker and through the SQS processor (the same bytes sent to SQS);
- what fails in Tally's worker is read, and retried, through Sidekiq's own API.
"""

import time
import uuid
from typing import Any

import pytest

from ingest_lambda import runtime
from ingest_lambda.settings import Settings
from processor_lambda.sqs_handler import SqsBatchHandler
from redis_worker.worker import Worker
from tally_contract import envelope, wire
from tally_contract.envelope import JobOptions
from tally_contract.queues.redis_queue import RedisQueue
from tests.support.infra import create_queues
from tests.support.ingest_harness import make_ingest
from tests.support.processor_harness import Processor, make_processor
from tests.support.sidekiq_ruby import RECORD_KEY, enqueue, recorded, require_sidekiq, ruby, sidekiq
from tests.support.sqs_events import lambda_event
from tests.support.waiting import wait_for

pytestmark = pytest.mark.slow
IDENTITY = "interop:1:0123456789ab"
EVENTS = [
    {"url": "https://shop.example.com/a?utm_source=news", "event_id": "0b1f2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
     "time": "2026-11-23T13:19:59Z", "properties": {"q": "é/\u2028", "n": 1.5, "ok": True, "none": None}},
    {"url": "https://shop.example.com/b", "name": "signup", "properties": {}},
    {"url": "https://shop.example.com/c", "referrer": "https://www.news.example.net/story"},
]  # fmt: skip


@pytest.mark.parametrize("activejob", [False, True], ids=["plain", "activejob"])
def test_real_sidekiq_runs_what_tally_ingest_queued(redis_url: str, redis_client: Any, activejob: bool) -> None:
    require_sidekiq()
    harness = make_ingest(queue=RedisQueue(redis_client))
    harness.activate(Settings(job=JobOptions(activejob=activejob)))
    try:
        for event in EVENTS:
            assert harness.post(event, headers={"User-Agent": "Mozilla/5.0 (X11)"}).status == 202
    finally:
        runtime.reset()
    queued = [envelope.decode(body) for body in redis_client.lrange("queue:default", 0, -1)]
    assert {job.is_activejob for job in queued} == {activejob}
    sent = {job.jid: job.arguments for job in queued}
    form = "activejob" if activejob else "plain"
    with sidekiq(redis_url, form) as proc:
        wait_for(lambda: redis_client.llen(RECORD_KEY) == len(EVENTS), proc=proc)
    got = recorded(redis_client)
    assert sorted(entry["jid"] for entry in got) == sorted(sent)
    for entry in got:
        assert entry["form"] == form
        assert entry["args"] == sent[entry["jid"]]  # the same arguments, nested values and all
        # ActiveJob hands perform a hash with symbol keys, as a Rails producer's own jobs have
        assert entry["key_classes"] == (["Symbol"] if activejob else ["String"])
    assert redis_client.zcard("retry") == 0 and redis_client.zcard("dead") == 0
    assert redis_client.get("stat:processed") == str(len(EVENTS)).encode()  # Sidekiq's own count


def _expected(jid: str, n: int) -> dict[str, Any]:
    """What enqueue.rb's event(n) must become, whichever way it travelled."""
    return {
        "event_id": str(uuid.uuid5(uuid.UUID("7c1f3a52-6a8e-4f0e-9d59-2f1a0e5b8c11"), jid)),
        "site": "shop",
        "path": f"/p{n}",
        "ip": "203.0.113.0",  # the site truncates
        "utm_source": "rb",
        "event_time": f"2026-11-23T13:18:{30 + n}.000Z",
        "browser": "Chrome",
    }


def _fresh_tables(proc: Processor) -> Processor:
    """New, empty tables with the same daily salts (so visitor ids can be compared)."""
    store: Any = proc.store
    salts = proc.client.query(TableName=store.aggregates_table, KeyConditionExpression="pk = :p",
                              ExpressionAttributeValues={":p": {"S": "salt"}})["Items"]  # fmt: skip
    for table in (store.events_table, store.aggregates_table, proc.sites.table):
        proc.client.delete_table(TableName=table)
    fresh = make_processor(proc.client)
    for item in salts:
        fresh.client.put_item(TableName=store.aggregates_table, Item=item)
    return fresh


@pytest.mark.parametrize(("form", "numbers"), [("plain", [4, 5, 6]), ("activejob", [1, 2, 3])])
def test_ruby_jobs_become_the_same_events_over_redis_and_sqs(
    aws: None, boto: Any, redis_url: str, redis_client: Any, form: str, numbers: list[int]
) -> None:
    require_sidekiq()
    jids = enqueue(redis_url, form)
    bodies = [body.decode() for body in reversed(redis_client.lrange("queue:default", 0, -1))]
    assert sorted(wire.loads(body)["jid"] for body in bodies) == sorted(jids)
    dynamodb = boto.client("dynamodb")

    over_redis = make_processor(dynamodb)
    assert Worker(redis_client, over_redis.pipeline, identity=IDENTITY).work_once() == len(jids)
    assert redis_client.zcard("retry") == 0 and redis_client.zcard("dead") == 0
    stored = over_redis.stored()
    over_redis.rollup(at=over_redis.now[0] + 3 * 86400)
    counted = over_redis.aggregates()

    over_sqs = _fresh_tables(over_redis)
    sqs = boto.client("sqs")
    url = create_queues(sqs, "test")["EventsQueue"]
    assert SqsBatchHandler(over_sqs.pipeline, client=sqs)(lambda_event(sqs, url, bodies)) == {"batchItemFailures": []}
    assert over_sqs.stored() == stored
    over_sqs.rollup(at=over_sqs.now[0] + 3 * 86400)
    assert over_sqs.aggregates() == counted

    by_jid = {wire.loads(body)["jid"]: n for body, n in zip(bodies, _order(bodies, numbers), strict=True)}
    expected = sorted((_expected(jid, n) for jid, n in by_jid.items()), key=lambda e: e["event_id"])
    assert [{k: e[k] for k in expected[0]} for e in stored] == expected
    day = over_sqs.aggregate("shop#d#2026-11-23")
    assert (day["sev"], day["spv"]) == (3, 3)


def _order(bodies: list[str], numbers: list[int]) -> list[int]:
    """Which event(n) each body carries: the n in its /p<n> URL."""
    found = [int(body.split("shop.example.com/p")[1][0]) for body in bodies]
    assert sorted(found) == numbers
    return found


FAILING = """
Sidekiq::Client.push("class" => "FlakyJob", "args" => [1], "backtrace" => true)
ProcessRequestJob.perform_async("ip" => "203.0.113.9", "url" => "javascript:alert(1)")
"""
READ = """
require "sidekiq/api"
Sidekiq::RetrySet.new.each { |j| puts [j.klass, j["retry_count"], j["error_class"], j["error_message"],
                                       j.error_backtrace.size > 0].inspect }
Sidekiq::DeadSet.new.each { |j| puts [j.klass, j["retry_count"], j["error_message"]].inspect }
s = Sidekiq::Stats.new
puts [s.processed, s.failed, s.retry_size, s.dead_size].inspect
puts Sidekiq::ProcessSet.new.map { |p| [p.identity, p["concurrency"]] }.inspect
Sidekiq::RetrySet.new.retry_all if ARGV.include?("retry")
"""


def test_failures_in_tallys_worker_are_sidekiqs_to_read_and_retry(
    aws: None, boto: Any, redis_url: str, redis_client: Any
) -> None:
    require_sidekiq()
    proc = make_processor(boto.client("dynamodb"))
    calls: list[int] = []

    def flaky(arguments: list[Any], job: Any) -> None:
        calls.append(1)
        if len(calls) <= 2:
            raise ConnectionError("upstream down")

    proc.registry.register("FlakyJob", flaky)
    ruby(redis_url, "plain", "-e", FAILING)
    worker = Worker(redis_client, proc.pipeline, identity=IDENTITY, concurrency=3)
    worker.process_beat.beat(busy=0, quiet=False)
    assert worker.work_once() == 2  # FlakyJob to the retry set, the bad URL to the dead set
    (member,) = redis_client.zrange("retry", 0, -1)
    redis_client.zadd("retry", {member: time.time() - 1})  # its time comes
    assert worker.fetch.enqueue_due() == 1
    assert worker.work_once() == 1  # fails again: retry_count 1
    lines = ruby(redis_url, "plain", "-e", READ, "retry")
    assert lines[0] == '["FlakyJob", 1, "ConnectionError", "upstream down", true]'
    assert lines[1].startswith('["ProcessRequestJob", 0, "invalid event: url')
    assert lines[2] == "[3, 3, 1, 1]"  # stat:processed / stat:failed as Tally kept them
    assert lines[3] == f'[["{IDENTITY}", 3]]'
    # Sidekiq's RetrySet#retry_all put the job back on the queue; Tally's worker runs it
    assert worker.work_once() == 1 and len(calls) == 3
    assert ruby(redis_url, "plain", "-e", READ)[-3:-1] == ['["ProcessRequestJob", 0, ' + lines[1].split(", 0, ")[1],
                                                            "[4, 3, 0, 1]"]  # fmt: skip
