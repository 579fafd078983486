"""tally_ops.drain against a real redis-server and moto SQS: every job arrives, byte for byte,
including after a crash at each step; timed jobs keep their time; SQS -> Redis too."""

import time
from typing import Any

import pytest

from tally_contract import envelope, wire
from tally_contract.sidekiq_redis import hold_key
from tally_ops.drain import RedisToSqs, SqsToRedis
from tally_ops.errors import OpsError
from tally_ops.redis_side import RedisSide
from tally_ops.sqs import Outgoing, Sqs
from tests.support.jobs import jobs, push
from tests.support.ops import Crash, CrashingSqs, received


@pytest.fixture
def sqs(aws: None, boto: Any) -> Sqs:
    client = boto.client("sqs")
    client.create_queue(QueueName="events")
    return Sqs("events", client=client)


def test_redis_to_sqs_moves_every_job_byte_for_byte(redis_client: Any, sqs: Sqs) -> None:
    bodies = [*jobs(257), envelope.encode(envelope.build([{"é": "✓ 日本"}]))]
    push(redis_client, bodies)
    push(redis_client, other := jobs(3), "low")
    steps: list[int] = []
    drain = RedisToSqs(RedisSide(redis_client), sqs, chunk=50)
    assert drain.plan().moved == 258
    report = drain.run(progress=steps.append)
    assert (report.moved, report.resent, report.timed) == (258, 0, 0)
    assert sum(steps) == 258 and max(steps) == 50
    assert sorted(received(sqs)) == sorted(bodies)
    assert redis_client.exists("queue:default", hold_key("default")) == 0
    assert redis_client.lrange("queue:low", 0, -1)[::-1] == [b.encode() for b in other]


@pytest.mark.parametrize("after_send", [False, True])
def test_a_crash_mid_drain_loses_nothing(redis_client: Any, sqs: Sqs, after_send: bool) -> None:
    bodies = jobs(120)
    push(redis_client, bodies)
    with pytest.raises(Crash):
        RedisToSqs(RedisSide(redis_client), CrashingSqs(sqs, 3, after_send), chunk=25).run()
    assert redis_client.llen(hold_key("default")) == 25  # the chunk in flight is held, not gone
    plan = RedisToSqs(RedisSide(redis_client), sqs, chunk=25).plan()
    assert (plan.moved, plan.resent) == (120 - 75, 25)
    report = RedisToSqs(RedisSide(redis_client), sqs, chunk=25).run()
    assert (report.resent, report.moved) == (25, 45)
    got = received(sqs)
    assert set(got) == set(bodies)  # nothing lost
    assert len(got) == 120 + (25 if after_send else 0)  # at most the crashed chunk twice
    assert redis_client.exists("queue:default", hold_key("default")) == 0


def test_jobs_sqs_refuses_go_back_to_the_queue_in_order(redis_client: Any, sqs: Sqs) -> None:
    sqs.client.set_queue_attributes(QueueUrl=sqs.url, Attributes={"MaximumMessageSize": "1024"})
    huge = envelope.encode(envelope.build([{"blob": "x" * 2000}]))  # over this queue's limit
    sent = jobs(4)
    push(redis_client, sent)
    RedisToSqs(RedisSide(redis_client), sqs, chunk=2).run()
    bodies = [jobs(1)[0], huge, jobs(1)[0]]
    push(redis_client, bodies)
    with pytest.raises(OpsError, match="InvalidParameterValue"):
        RedisToSqs(RedisSide(redis_client), sqs, chunk=2).run()
    # SQS refused the request: that chunk went back to the front of the queue, nothing is held
    assert redis_client.lrange("queue:default", 0, -1)[::-1] == [b.encode() for b in bodies]
    assert redis_client.exists(hold_key("default")) == 0
    assert sorted(received(sqs)) == sorted(sent)


def timed(queue: str = "default") -> str:
    return envelope.encode(envelope.build([{"n": 1}], envelope.JobOptions(queue=queue)))


def test_timed_jobs_keep_their_time_or_stay_in_redis(redis_client: Any, sqs: Sqs) -> None:
    now = time.time()
    soon, overdue, late, retrying, elsewhere = timed(), timed(), timed(), timed(), timed("low")
    redis_client.zadd("schedule", {soon: now + 120, overdue: now - 30, late: now + 3600, elsewhere: now})
    redis_client.zadd("retry", {retrying: now + 600})
    drain = RedisToSqs(RedisSide(redis_client), sqs, sets=("schedule", "retry"), clock=lambda: now)
    plan = drain.plan()
    assert (plan.timed, plan.held_back) == (3, 1)
    report = drain.run()
    assert (report.timed, report.held_back) == (3, 1)
    # the late one and the other queue's stay where the Redis poller would find them
    assert redis_client.zrange("schedule", 0, -1) == sorted(
        [late.encode(), elsewhere.encode()], key=lambda m: m != elsewhere.encode()
    )
    assert redis_client.zcard("retry") == 0
    assert redis_client.keys("tally:drain:*") == []
    assert sqs.counts() == {"visible": 1, "in_flight": 0, "delayed": 2}
    (body,) = received(sqs)  # the overdue one, as the Redis poller would have enqueued it
    job = wire.loads(body)
    assert now - 1 <= job.pop("enqueued_at") <= time.time()
    assert job == {k: v for k, v in wire.loads(overdue).items() if k != "enqueued_at"}


def test_sqs_to_redis_moves_every_message(redis_client: Any, sqs: Sqs) -> None:
    bodies = jobs(35)
    assert sqs.send([Outgoing(b) for b in bodies]) == []
    drain = SqsToRedis(sqs, RedisSide(redis_client), queue="default", wait=0)
    assert drain.plan().moved == 35
    report = drain.run()
    assert (report.moved, report.remaining) == (35, 0)
    assert sorted(redis_client.lrange("queue:default", 0, -1)) == sorted(b.encode() for b in bodies)
    assert redis_client.smembers("queues") == {b"default"}
    assert sqs.counts() == {"visible": 0, "in_flight": 0, "delayed": 0}


def test_sqs_to_redis_gives_messages_back_when_redis_fails(redis_client: Any, sqs: Sqs) -> None:
    sqs.send([Outgoing(b) for b in jobs(5)])
    broken = RedisSide.from_url("redis://127.0.0.1:1/0")
    with pytest.raises(OpsError, match="Redis"):
        SqsToRedis(sqs, broken, wait=0).run()
    assert sqs.counts()["visible"] == 5  # released at once, not held for the visibility timeout


def test_timed_jobs_held_by_a_crashed_drain_are_sent_by_the_next(redis_client: Any, sqs: Sqs) -> None:
    now = time.time()
    members = [timed() for _ in range(3)]
    redis_client.zadd("schedule", {m: now + 60 for m in members})
    with pytest.raises(Crash):
        RedisToSqs(RedisSide(redis_client), CrashingSqs(sqs, 1, False), sets=("schedule",)).run()
    assert redis_client.zcard("tally:drain:schedule:default") == 3 and redis_client.zcard("schedule") == 0
    # the rerun forgot --with-scheduled: what was taken is still sent, with its delay
    drain = RedisToSqs(RedisSide(redis_client), sqs)
    assert drain.plan().resent == 3
    assert drain.run().resent == 3
    assert redis_client.keys("tally:drain:*") == []
    assert sqs.counts()["delayed"] == 3


def test_a_timed_job_the_poller_took_first_is_not_sent(redis_client: Any) -> None:
    side = RedisSide(redis_client)
    redis_client.zadd("schedule", {"a": 1.0, "b": 2.0})
    redis_client.zrem("schedule", "a")  # the Redis worker's poller enqueued it meanwhile
    assert side.hold_timed("schedule", "default", [b"a", b"b"]) == [b"b"]
    assert redis_client.zrange("tally:drain:schedule:default", 0, -1, withscores=True) == [(b"b", 2.0)]
