"""The local event-source mapping keeps Lambda's SQS semantics (moto, in process)."""

import json
import time
from typing import Any

import pytest

from tally_cli.local.event_source import SqsEventSource
from tests.support.infra import create_queues


@pytest.fixture
def queues(aws: None, boto: Any) -> tuple[Any, dict[str, str]]:
    sqs = boto.client("sqs")
    urls = create_queues(sqs, "t")
    # A short visibility timeout so retries come back within the test.
    sqs.set_queue_attributes(QueueUrl=urls["EventsQueue"], Attributes={"VisibilityTimeout": "1"})
    return sqs, urls


def _send(sqs: Any, url: str, bodies: list[str]) -> None:
    for start in range(0, len(bodies), 10):
        entries = [{"Id": str(i), "MessageBody": b} for i, b in enumerate(bodies[start : start + 10])]
        sqs.send_message_batch(QueueUrl=url, Entries=entries)


def _depth(sqs: Any, url: str) -> int:
    attributes = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


def test_a_batch_is_a_lambda_sqs_event_gathered_over_the_window(queues: tuple[Any, dict[str, str]]) -> None:
    sqs, urls = queues
    _send(sqs, urls["EventsQueue"], [json.dumps({"n": i}) for i in range(25)])
    events: list[dict[str, Any]] = []
    source = SqsEventSource(sqs, urls["EventsQueue"], events.append, batch_size=25, batch_window=2, poll_wait=0)

    assert source.poll_once() == 25
    assert len(events) == 1 and len(events[0]["Records"]) == 25
    record = events[0]["Records"][0]
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == "arn:aws:sqs:us-east-1:123456789012:tally-t-events"
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert {"messageId", "receiptHandle", "body", "md5OfBody", "messageAttributes", "awsRegion"} <= set(record)
    assert sorted(json.loads(r["body"])["n"] for r in events[0]["Records"]) == list(range(25))
    assert _depth(sqs, urls["EventsQueue"]) == 0  # a normal return deletes the whole batch


def test_a_failed_invocation_deletes_nothing_and_poison_reaches_the_dlq(queues: tuple[Any, dict[str, str]]) -> None:
    sqs, urls = queues
    _send(sqs, urls["EventsQueue"], ["good", "poison"])
    seen: list[tuple[str, str]] = []

    def handler(event: dict[str, Any]) -> None:
        for record in event["Records"]:
            seen.append((record["body"], record["attributes"]["ApproximateReceiveCount"]))
        finished = [r for r in event["Records"] if r["body"] != "poison"]
        if finished:  # as SqsBatchHandler does: delete what it finished, raise for the rest
            entries = [{"Id": str(i), "ReceiptHandle": r["receiptHandle"]} for i, r in enumerate(finished)]
            sqs.delete_message_batch(QueueUrl=urls["EventsQueue"], Entries=entries)
        if len(finished) < len(event["Records"]):
            raise RuntimeError("1 message(s) will be retried")

    source = SqsEventSource(sqs, urls["EventsQueue"], handler, batch_size=10, poll_wait=0)
    deadline = time.monotonic() + 20
    while _depth(sqs, urls["EventsDeadLetterQueue"]) == 0:
        assert time.monotonic() < deadline, seen
        if source.poll_once() == 0:
            time.sleep(0.2)

    assert [count for body, count in seen if body == "good"] == ["1"]
    # Back after each visibility timeout, five receives (the template's maxReceiveCount), then the DLQ.
    assert [count for body, count in seen if body == "poison"] == ["1", "2", "3", "4", "5"]
    assert source.failed_invocations == 5
    dead = sqs.receive_message(QueueUrl=urls["EventsDeadLetterQueue"])["Messages"]
    assert [m["Body"] for m in dead] == ["poison"]
    assert _depth(sqs, urls["EventsQueue"]) == 0


def test_reported_item_failures_are_kept_only_when_the_mapping_reports_them(
    queues: tuple[Any, dict[str, str]],
) -> None:
    sqs, urls = queues

    def handler(event: dict[str, Any]) -> dict[str, Any]:
        return {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in event["Records"] if r["body"] == "b"]}

    _send(sqs, urls["EventsQueue"], ["a", "b"])
    SqsEventSource(sqs, urls["EventsQueue"], handler, poll_wait=0, report_failures=True).poll_once()
    assert _depth(sqs, urls["EventsQueue"]) == 1  # "b" comes back after the visibility timeout
    time.sleep(1.1)
    assert [m["Body"] for m in sqs.receive_message(QueueUrl=urls["EventsQueue"])["Messages"]] == ["b"]

    time.sleep(1.1)
    # Without ReportBatchItemFailures, Lambda ignores the list: a normal return deletes everything.
    SqsEventSource(sqs, urls["EventsQueue"], handler, poll_wait=0).poll_once()
    assert _depth(sqs, urls["EventsQueue"]) == 0


def test_a_batch_above_ten_needs_a_window(queues: tuple[Any, dict[str, str]]) -> None:
    sqs, urls = queues
    with pytest.raises(ValueError, match="batch window"):
        SqsEventSource(sqs, urls["EventsQueue"], lambda event: None, batch_size=11)
