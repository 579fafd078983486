"""SQS backend: the message body is the job JSON, sent with SendMessageBatch.

Batches hold at most 10 entries and 1 MiB. Entries SQS reports as failed are retried with
exponential backoff and jitter unless SQS says the sender is at fault (resending the same
bytes cannot help). botocore's errors become QueueUnavailable at the AWS edge (aws.call): a
retryable one (throttling, a 5xx, no answer) is retried, any other (no such queue, access
denied) ends the push at once.
"""

import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from .. import aws
from ..errors import QueueUnavailable
from .base import PushFailure

MAX_ENTRIES = 10
MAX_BATCH_BYTES = 1024 * 1024


class SqsQueue:
    def __init__(
        self,
        queue: str,
        *,
        client: Any = None,
        attempts: int = 4,
        base_delay: float = 0.05,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._queue = queue
        self._url = queue if queue.startswith(("https://", "http://")) else None
        self._client = client
        self._attempts = attempts
        self._base_delay = base_delay
        self._sleep = sleep

    @classmethod
    def from_url(cls, url: str, **options: Any) -> "SqsQueue":
        return cls(url.removeprefix("sqs://"), **options)

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = aws.client("sqs")
        return self._client

    @property
    def url(self) -> str:
        if self._url is None:
            response = self._call("get_queue_url", QueueName=self._queue)
            self._url = str(response["QueueUrl"])
        return self._url

    def ping(self) -> None:
        self._call("get_queue_attributes", QueueUrl=self.url, AttributeNames=["QueueArn"])

    def push(self, queue: str, payloads: Sequence[str]) -> list[PushFailure]:
        failures: list[PushFailure] = []
        for chunk in _chunks(payloads):
            failures.extend(self._send_chunk(chunk))
        return failures

    def _send_chunk(self, chunk: dict[int, str]) -> list[PushFailure]:
        pending, reasons = dict(chunk), dict.fromkeys(chunk, "not sent")
        permanent: list[PushFailure] = []
        for attempt in range(self._attempts):
            if attempt:
                self._sleep(aws.backoff(attempt, self._base_delay, 1.0))
            entries = [{"Id": str(i), "MessageBody": body} for i, body in pending.items()]
            try:
                response = self._call("send_message_batch", QueueUrl=self.url, Entries=entries)
            except QueueUnavailable as exc:
                if not exc.retryable:
                    raise
                reasons = dict.fromkeys(pending, str(exc))
                continue
            reasons = {}
            for failed in response.get("Failed", []):
                index = int(failed["Id"])
                reason = f"{failed.get('Code', 'Error')}: {failed.get('Message', '')}"
                if failed.get("SenderFault"):
                    permanent.append(PushFailure(index, reason, retryable=False))
                else:
                    reasons[index] = reason
            pending = {i: pending[i] for i in reasons}
            if not pending:
                break
        return permanent + [PushFailure(i, reasons[i]) for i in pending]

    def _call(self, operation: str, **params: Any) -> Any:
        return aws.call(self.client, operation, error=QueueUnavailable, **params)


def _chunks(payloads: Sequence[str]) -> Iterator[dict[int, str]]:
    """Index-keyed groups of at most 10 messages and 1 MiB (SendMessageBatch's limits)."""
    chunk: dict[int, str] = {}
    size = 0
    for index, body in enumerate(payloads):
        length = len(body.encode("utf-8"))
        if chunk and (len(chunk) == MAX_ENTRIES or size + length > MAX_BATCH_BYTES):
            yield chunk
            chunk, size = {}, 0
        chunk[index] = body
        size += length
    if chunk:
        yield chunk
