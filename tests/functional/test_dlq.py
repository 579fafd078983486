"""Dead letters: the SQS DLQ (moto; StartMessageMoveTask through a Stubber, since moto lacks it)
and Sidekiq's dead set on a real redis-server. Redrive keeps the job bytes."""

from typing import Any

import pytest
from botocore.stub import Stubber

from tally_contract import envelope
from tally_ops.dlq_redis import RedisDeadLetters
from tally_ops.dlq_sqs import SqsDeadLetters
from tally_ops.errors import OpsError
from tally_ops.redis_side import RedisSide
from tally_ops.sqs import Outgoing, Sqs
from tests.support.infra import create_queues
from tests.support.jobs import SIDEKIQ_FAILURES
from tests.support.ops import received

ERROR = {"error": {"DataType": "String", "StringValue": "EnvelopeError: job has no class"}}
# Odd but valid bytes: key order, spacing, escapes and non-ASCII must all survive a redrive.
ODD = '{"class":"ProcessRequestJob", "args":[{"u":"\\u00e9 é ✓"}],"jid":"0123456789abcdef01234567" ,"queue":"default"}'


@pytest.fixture
def queues(aws: None, boto: Any) -> tuple[Sqs, Sqs]:
    client = boto.client("sqs")
    urls = create_queues(client, "test")
    return Sqs(urls["EventsQueue"], client=client), Sqs(urls["EventsDeadLetterQueue"], client=client)


def fill(dlq: Sqs) -> list[str]:
    bodies = [ODD, "not json at all", *(envelope.encode(envelope.build([{"n": i}])) for i in range(12))]
    assert dlq.send([Outgoing(b, attributes=ERROR) for b in bodies]) == []
    return bodies


def test_sqs_list_and_show_do_not_consume(queues: tuple[Sqs, Sqs]) -> None:
    _, dlq = queues
    bodies = fill(dlq)
    letters = SqsDeadLetters(dlq, wait=0).entries(limit=100)
    assert sorted(letter.body.decode() for letter in letters) == sorted(bodies)
    odd = next(letter for letter in letters if letter.body.decode() == ODD)
    assert odd.summary() == {"id": odd.id, "jid": "0123456789abcdef01234567", "class": "ProcessRequestJob",
                             "queue": "default", "error": "EnvelopeError: job has no class"}  # fmt: skip
    assert SqsDeadLetters(dlq, wait=0).show(odd.id).body == ODD.encode()
    assert len(SqsDeadLetters(dlq, wait=0).entries(limit=5)) == 5
    assert dlq.counts() == {"visible": len(bodies), "in_flight": 0, "delayed": 0}
    with pytest.raises(OpsError, match="no message 'nope'"):
        SqsDeadLetters(dlq, wait=0).show("nope")


def test_sqs_redrive_without_a_move_task_keeps_bytes_and_attributes(queues: tuple[Sqs, Sqs]) -> None:
    main, dlq = queues
    bodies = fill(dlq)
    result = SqsDeadLetters(dlq, wait=0).redrive(main)  # moto has no StartMessageMoveTask: the fallback
    assert (result.moved, result.task) == (len(bodies), None)
    assert dlq.counts()["visible"] == 0
    got: list[tuple[str, Any]] = []
    while batch := main.receive(wait=0):
        got += [(m.body, m.attributes) for m in batch]
        main.delete([m.receipt for m in batch])
    assert sorted(got, key=lambda g: g[0]) == sorted(((b, ERROR) for b in bodies), key=lambda g: g[0])


def test_sqs_redrive_and_purge_by_id(queues: tuple[Sqs, Sqs]) -> None:
    main, dlq = queues
    fill(dlq)
    letters = SqsDeadLetters(dlq, wait=0).entries(limit=100)
    odd = next(letter.id for letter in letters if letter.body.decode() == ODD)
    assert SqsDeadLetters(dlq, wait=0).redrive(main, [odd]).moved == 1
    assert received(main) == [ODD]
    rest = [letter.id for letter in letters if letter.id != odd]
    assert SqsDeadLetters(dlq, wait=0).purge(rest[:3]) == 3
    assert dlq.counts()["visible"] == len(letters) - 4
    with pytest.raises(OpsError, match="not found"):
        SqsDeadLetters(dlq, wait=0).purge(["missing-id"])
    assert dlq.counts()["visible"] == len(letters) - 4  # what was looked at is visible again
    assert SqsDeadLetters(dlq, wait=0).purge() == len(letters) - 4
    assert dlq.counts()["visible"] == 0


def test_sqs_redrive_uses_start_message_move_task_where_sqs_has_it(boto: Any) -> None:
    client = boto.client("sqs", endpoint_url="https://sqs.us-east-1.amazonaws.com")
    dlq_arn, main_arn = "arn:aws:sqs:us-east-1:123456789012:dlq", "arn:aws:sqs:us-east-1:123456789012:main"
    with Stubber(client) as stub:
        for url, arn in (("https://q/dlq", dlq_arn), ("https://q/main", main_arn)):
            stub.add_response("get_queue_attributes", {"Attributes": {"QueueArn": arn}},
                              {"QueueUrl": url, "AttributeNames": ["QueueArn"]})  # fmt: skip
        stub.add_response("start_message_move_task", {"TaskHandle": "task-1"},
                          {"SourceArn": dlq_arn, "DestinationArn": main_arn})  # fmt: skip
        stub.add_response("get_queue_attributes", {"Attributes": {"ApproximateNumberOfMessages": "7"}})
        result = SqsDeadLetters(Sqs("https://q/dlq", client=client)).redrive(Sqs("https://q/main", client=client))
        stub.assert_no_pending_responses()
    assert (result.moved, result.task) == (7, "task-1")


# -- Sidekiq's dead set ---------------------------------------------------------------------
REAL_DEAD = SIDEKIQ_FAILURES[2][2]  # written by the real Sidekiq 6.4.1


def test_redis_dead_set_list_show_redrive_purge(redis_client: Any) -> None:
    low = envelope.encode(envelope.build([{"n": 1}], envelope.JobOptions(queue="low"), extra={"error_class": "X"}))
    redis_client.zadd("dead", {REAL_DEAD: 100.0, low: 200.0, ODD: 300.0, "garbage": 50.0})
    letters = RedisDeadLetters(RedisSide(redis_client))
    listed = letters.entries()
    assert [letter.body for letter in listed] == [ODD.encode(), low.encode(), REAL_DEAD.encode(), b"garbage"]
    assert listed[2].summary()["error"] == "ArgumentError boom é"
    assert letters.show("cccccccccccccccccccccccc").body == REAL_DEAD.encode()
    with pytest.raises(OpsError, match="no job with jid nope"):
        letters.show("nope")
    assert letters.redrive(["cccccccccccccccccccccccc", "0123456789abcdef01234567"]) == 2
    # the same bytes, in the order they died (the first to die runs first)
    assert redis_client.lrange("queue:default", 0, -1) == [ODD.encode(), REAL_DEAD.encode()]
    assert letters.redrive(queue="retry-later") == 2  # the rest, to one chosen queue
    assert sorted(redis_client.lrange("queue:retry-later", 0, -1)) == sorted([b"garbage", low.encode()])
    assert redis_client.smembers("queues") == {b"default", b"retry-later"}
    assert redis_client.zcard("dead") == 0
    redis_client.zadd("dead", {REAL_DEAD: 1.0, low: 2.0})
    assert letters.purge([envelope.decode(low).jid]) == 1
    assert letters.purge() == 1
    assert redis_client.exists("dead") == 0
