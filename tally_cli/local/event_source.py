"""A local SQS event-source mapping with Lambda's semantics.

Like Lambda's poller it long-polls the queue, gathers up to ``batch_size`` messages for at
most ``batch_window`` seconds after the first arrives, and invokes the handler with a real
Lambda SQS event. It deletes only what the handler finished: on a normal return every
message except the reported ``batchItemFailures`` (reported failures are honoured only when
``report_failures`` is on, as with ReportBatchItemFailures); on an exception nothing. What is
not deleted becomes visible again after the queue's visibility timeout, and SQS's redrive
policy moves it to the dead-letter queue after ``maxReceiveCount`` receives.
"""

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

logger = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any]], Any]
MAX_RECEIVE = 10  # SQS's cap per ReceiveMessage


class SqsEventSource:
    def __init__(
        self,
        client: Any,
        queue_url: str,
        handler: Handler,
        *,
        batch_size: int = 10,
        batch_window: float = 0.0,
        poll_wait: int = 1,
        report_failures: bool = False,
        region: str = "us-east-1",
    ) -> None:
        if not 1 <= batch_size <= 10_000:
            raise ValueError("batch_size must be 1..10000")
        if batch_size > MAX_RECEIVE and batch_window <= 0:
            raise ValueError("a batch_size above 10 needs a batch window, as on Lambda")
        self.client, self.queue_url, self.handler = client, queue_url, handler
        self.batch_size, self.batch_window, self.poll_wait = batch_size, batch_window, poll_wait
        self.report_failures = report_failures
        attributes = client.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]
        self.arn = attributes["QueueArn"]
        self.region = region
        self.stopping = threading.Event()
        self.invocations = 0
        self.failed_invocations = 0

    # -- one batch ------------------------------------------------------------------------
    def poll_once(self) -> int:
        """Gather one batch and invoke the handler with it. Returns how many messages it held."""
        messages = self._gather()
        if messages:
            self._invoke(messages)
        return len(messages)

    def _gather(self) -> list[dict[str, Any]]:
        messages = self._receive(self.poll_wait)
        if not messages:
            return []
        deadline = time.monotonic() + self.batch_window
        while len(messages) < self.batch_size and not self.stopping.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            wait = min(int(remaining), 20)  # SQS waits whole seconds
            if wait == 0:
                self.stopping.wait(min(remaining, 0.1))  # no busy loop in the window's last second
            messages += self._receive(wait)
        return messages

    def _receive(self, wait: int) -> list[dict[str, Any]]:
        response = self.client.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=min(MAX_RECEIVE, self.batch_size),
            WaitTimeSeconds=max(0, wait),
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        return list(response.get("Messages", []))

    def _invoke(self, messages: list[dict[str, Any]]) -> None:
        self.invocations += 1
        event = {"Records": [lambda_record(message, self.arn, self.region) for message in messages]}
        try:
            result = self.handler(event)
        except Exception as exc:  # noqa: BLE001 - a failed invocation: every message comes back
            self.failed_invocations += 1
            logger.warning("processor raised %s: %s", type(exc).__name__, str(exc)[:300])
            return
        failed: set[str] = set()
        if self.report_failures and isinstance(result, dict):
            failed = {str(item.get("itemIdentifier")) for item in result.get("batchItemFailures") or []}
        self._delete([m for m in messages if m["MessageId"] not in failed])

    def _delete(self, messages: list[dict[str, Any]]) -> None:
        for start in range(0, len(messages), MAX_RECEIVE):
            chunk = messages[start : start + MAX_RECEIVE]
            entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)]
            self.client.delete_message_batch(QueueUrl=self.queue_url, Entries=entries)

    # -- thread ---------------------------------------------------------------------------
    def run(self) -> None:
        pause = 0.1
        while not self.stopping.is_set():
            try:
                self.poll_once()
                pause = 0.1
            except Exception as exc:  # noqa: BLE001 - the emulator may be stopping; keep polling
                if self.stopping.is_set():
                    return
                logger.warning("polling %s failed: %s", self.queue_url, exc)
                self.stopping.wait(pause)
                pause = min(pause * 2, 5.0)


def _lambda_attribute(value: dict[str, Any]) -> dict[str, Any]:
    # Lambda spells SQS's message attributes in lower camel case.
    return {
        "stringValue": value.get("StringValue"),
        "binaryValue": value.get("BinaryValue"),
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": value.get("DataType"),
    }


def lambda_record(message: dict[str, Any], arn: str, region: str) -> dict[str, Any]:
    """One received SQS message as Lambda hands it to a function (AWS's documented SQS event
    shape). Tests that drive the handlers build their events with it too."""
    body = message["Body"]
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": body,
        "attributes": dict(message.get("Attributes", {})),
        "messageAttributes": {
            name: _lambda_attribute(value) for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message.get("MD5OfBody") or hashlib.md5(body.encode(), usedforsecurity=False).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": arn,
        "awsRegion": region,
    }
