"""The SQS backend against moto, and its fault paths against botocore's Stubber."""

import json
from collections.abc import Sequence
from typing import Any

import pytest
from botocore.stub import Stubber

from tally_contract import envelope, queues
from tally_contract.errors import QueueUnavailable
from tally_contract.queues.sqs_queue import SqsQueue, _chunks
from tests.support.infra import create_queues

pytestmark = pytest.mark.usefixtures("aws")


def _jobs(count: int, size: int = 10) -> list[str]:
    return [envelope.encode(envelope.build([{"n": i, "pad": "x" * size}])) for i in range(count)]


def _drain(sqs: Any, url: str) -> list[str]:
    bodies: list[str] = []
    while True:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return bodies
        bodies.extend(m["Body"] for m in messages)
        sqs.delete_message_batch(
            QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)]
        )


def test_push_sends_job_json_byte_for_byte(boto: Any) -> None:
    sqs = boto.client("sqs")
    url = create_queues(sqs, "test")["EventsQueue"]
    payloads = [*_jobs(23), '{"retry":true,"queue":"default","class":"X","args":["café/\u2028"],"jid":"a"}']
    queue = queues.from_url("sqs://tally-test-events")
    assert queue.push("default", payloads) == []
    assert sorted(_drain(sqs, url)) == sorted(payloads)


def test_queue_url_form_skips_the_lookup(boto: Any) -> None:
    sqs = boto.client("sqs")
    url = create_queues(sqs, "test")["EventsQueue"]
    queue = queues.from_url(f"sqs://{url}")
    assert isinstance(queue, SqsQueue) and queue.url == url
    queue.ping()


def test_ping_and_push_fail_cleanly_for_a_missing_queue() -> None:
    queue = queues.from_url("sqs://no-such-queue")
    with pytest.raises(QueueUnavailable):
        queue.ping()
    with pytest.raises(QueueUnavailable, match=r"NonExistentQueue|QueueDoesNotExist"):
        queue.push("default", _jobs(1))


def test_chunks_respect_ten_entries_and_one_mebibyte() -> None:
    small = [len(c) for c in _chunks(_jobs(25))]
    assert small == [10, 10, 5]
    big = list(_chunks(_jobs(5, size=300_000)))
    assert [len(c) for c in big] == [3, 2]
    assert list(big[1]) == [3, 4]


def _stubbed(sqs: Any, responses: Sequence[Any]) -> tuple[SqsQueue, list[float]]:
    stub = Stubber(sqs)
    for response in responses:
        if isinstance(response, str):
            status = 403 if response == "AccessDenied" else 500  # as SQS answers them
            stub.add_client_error("send_message_batch", service_error_code=response, http_status_code=status)
        else:
            stub.add_response("send_message_batch", response)
    stub.activate()
    sleeps: list[float] = []
    queue = SqsQueue("https://sqs.us-east-1.amazonaws.com/1/q", client=sqs, sleep=sleeps.append)
    return queue, sleeps


def test_failed_entries_are_retried_with_backoff(boto: Any) -> None:
    sqs = boto.client("sqs")
    queue, sleeps = _stubbed(
        sqs,
        [
            {"Successful": [], "Failed": [{"Id": "1", "SenderFault": False, "Code": "InternalError"}]},
            "ServiceUnavailable",
            {"Successful": [{"Id": "1", "MessageId": "m", "MD5OfMessageBody": "x"}], "Failed": []},
        ],
    )
    assert queue.push("default", _jobs(3)) == []
    # Full jitter, capped: the n-th retry waits up to base * 2**n (aws.backoff).
    assert len(sleeps) == 2 and all(0 <= wait <= 0.05 * 2 ** (n + 1) for n, wait in enumerate(sleeps))


def test_sender_fault_is_not_retried_and_exhausted_retries_are_reported(boto: Any) -> None:
    sqs = boto.client("sqs")
    throttled = {"Id": "2", "SenderFault": False, "Code": "RequestThrottled", "Message": "slow down"}
    first = {
        "Successful": [],
        "Failed": [{"Id": "0", "SenderFault": True, "Code": "InvalidMessageContents"}, throttled],
    }
    queue, sleeps = _stubbed(sqs, [first] + [{"Successful": [], "Failed": [throttled]}] * 3)
    failures = queue.push("default", _jobs(3))
    assert [(f.index, f.retryable) for f in failures] == [(0, False), (2, True)]
    assert "RequestThrottled" in failures[1].reason
    assert len(sleeps) == 3


def test_fatal_errors_are_not_retried(boto: Any) -> None:
    sqs = boto.client("sqs")
    queue, sleeps = _stubbed(sqs, ["AccessDenied"])
    with pytest.raises(QueueUnavailable, match="AccessDenied"):
        queue.push("default", _jobs(1))
    assert sleeps == []


def test_jobs_decode_after_the_round_trip(boto: Any) -> None:
    sqs = boto.client("sqs")
    url = create_queues(sqs, "test")["EventsQueue"]
    queues.from_url("sqs://tally-test-events").push("default", _jobs(2))
    decoded = [envelope.decode(body) for body in _drain(sqs, url)]
    assert sorted(json.dumps(job.arguments) for job in decoded) == sorted(
        json.dumps([{"n": i, "pad": "x" * 10}]) for i in range(2)
    )
