"""The SQS side of the operator tools: the only module here that calls AWS.

Every call goes through ``_call`` and the AWS edge (aws.call); provider errors become one-line
``OpsError``s.
Sends retry the entries SQS reports as failed (throttling, 5xx) a few times; an entry SQS
rejects as the sender's fault is reported, not retried.
"""

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from tally_contract import aws
from tally_contract.errors import ServiceError

from .errors import OpsError

MAX_ENTRIES = 10  # SendMessageBatch / DeleteMessageBatch limit
MAX_BATCH_BYTES = 1024 * 1024
MAX_DELAY = 900  # SQS DelaySeconds limit, 15 minutes


@dataclass(frozen=True)
class Message:
    message_id: str
    receipt: str
    body: str
    receive_count: int = 0
    sent_at: float = 0.0
    attributes: dict[str, Any] = field(default_factory=dict)  # MessageAttributes, as SQS returns them


@dataclass(frozen=True)
class Outgoing:
    body: str
    delay: int = 0
    attributes: dict[str, Any] = field(default_factory=dict)


def make_client(endpoint_url: str | None = None, region: str | None = None) -> Any:
    import botocore.session

    session = botocore.session.get_session()
    return session.create_client("sqs", endpoint_url=endpoint_url or None, region_name=region or None)


class Sqs:
    """One SQS queue. ``queue`` is its name or URL; ``client`` a botocore SQS client (lazy)."""

    def __init__(self, queue: str, *, client: Any = None, factory: Callable[[], Any] = make_client) -> None:
        self.queue = queue
        self._url = queue if queue.startswith(("https://", "http://")) else None
        self._client = client
        self._factory = factory

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = self._factory()
        return self._client

    @property
    def url(self) -> str:
        if self._url is None:
            self._url = str(self._call("get_queue_url", QueueName=self.queue)["QueueUrl"])
        return self._url

    def attribute(self, name: str) -> str:
        response = self._call("get_queue_attributes", QueueUrl=self.url, AttributeNames=[name])
        return str(response.get("Attributes", {}).get(name, ""))

    def counts(self) -> dict[str, int]:
        names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        names.append("ApproximateNumberOfMessagesDelayed")
        attributes = self._call("get_queue_attributes", QueueUrl=self.url, AttributeNames=names)["Attributes"]
        return {
            "visible": int(attributes.get(names[0], 0)),
            "in_flight": int(attributes.get(names[1], 0)),
            "delayed": int(attributes.get(names[2], 0)),
        }

    def send(self, messages: Sequence[Outgoing], *, attempts: int = 4) -> list[tuple[int, str]]:
        """Send in batches of 10. Returns (index, reason) for each message not taken."""
        failed: list[tuple[int, str]] = []
        for indexes in _batches([len(m.body.encode("utf-8")) for m in messages]):
            failed += self._send_batch({i: messages[i] for i in indexes}, attempts)
        return failed

    def _send_batch(self, pending: dict[int, Outgoing], attempts: int) -> list[tuple[int, str]]:
        permanent: list[tuple[int, str]] = []
        reasons: dict[int, str] = {}
        for attempt in range(attempts):
            if attempt:
                time.sleep(0.05 * 2**attempt)
            entries = [_entry(i, m) for i, m in pending.items()]
            response = self._call("send_message_batch", QueueUrl=self.url, Entries=entries)
            reasons = {}
            for bad in response.get("Failed", []):
                reason = f"{bad.get('Code', 'Error')}: {bad.get('Message', '')}"
                if bad.get("SenderFault"):
                    permanent.append((int(bad["Id"]), reason))
                else:
                    reasons[int(bad["Id"])] = reason
            pending = {i: pending[i] for i in reasons}
            if not pending:
                break
        return permanent + sorted(reasons.items())

    def receive(self, *, limit: int = 10, wait: int = 1, visibility: int = 120) -> list[Message]:
        response = self._call(
            "receive_message",
            QueueUrl=self.url,
            MaxNumberOfMessages=min(limit, MAX_ENTRIES),
            WaitTimeSeconds=wait,
            VisibilityTimeout=visibility,
            MessageSystemAttributeNames=["ApproximateReceiveCount", "SentTimestamp"],
            MessageAttributeNames=["All"],
        )
        return [_message(m) for m in response.get("Messages", [])]

    def delete(self, receipts: Sequence[str]) -> None:
        self._batched("delete_message_batch", [{"ReceiptHandle": r} for r in receipts])

    def release(self, receipts: Sequence[str]) -> None:
        """Make received messages visible again at once."""
        entries = [{"ReceiptHandle": r, "VisibilityTimeout": 0} for r in receipts]
        self._batched("change_message_visibility_batch", entries)

    def purge(self) -> None:
        self._call("purge_queue", QueueUrl=self.url)

    def start_move_task(self, source_arn: str, destination_arn: str) -> str | None:
        """StartMessageMoveTask; None where the endpoint does not implement it."""
        try:
            response = self._call("start_message_move_task", SourceArn=source_arn, DestinationArn=destination_arn)
        except _Unsupported:
            return None
        return str(response.get("TaskHandle", ""))

    def _batched(self, operation: str, entries: list[dict[str, Any]]) -> None:
        for start in range(0, len(entries), MAX_ENTRIES):
            chunk = [{"Id": str(i), **e} for i, e in enumerate(entries[start : start + MAX_ENTRIES])]
            response = self._call(operation, QueueUrl=self.url, Entries=chunk)
            if response.get("Failed"):
                first = response["Failed"][0]
                raise OpsError(f"SQS {operation} failed for {len(response['Failed'])} message(s): {first.get('Code')}")

    def _call(self, operation: str, **kwargs: Any) -> Any:
        try:
            return aws.call(self.client, operation, **kwargs)
        except ServiceError as exc:
            if exc.code in _UNSUPPORTED:
                raise _Unsupported(exc.code) from exc
            raise OpsError(f"{exc} ({self.queue})") from exc
        except NotImplementedError as exc:  # moto raises this for actions it lacks
            raise _Unsupported(operation) from exc


_UNSUPPORTED = frozenset({"InvalidAction", "UnsupportedOperation", "NotImplemented"})


class _Unsupported(OpsError):
    """The endpoint does not implement the operation (moto, older SQS-compatible servers)."""


def _batches(sizes: Sequence[int]) -> Iterator[list[int]]:
    """Indexes in groups of at most 10 entries and 1 MiB (SendMessageBatch's limits)."""
    batch: list[int] = []
    total = 0
    for index, size in enumerate(sizes):
        if batch and (len(batch) == MAX_ENTRIES or total + size > MAX_BATCH_BYTES):
            yield batch
            batch, total = [], 0
        batch.append(index)
        total += size
    if batch:
        yield batch


def _entry(index: int, message: Outgoing) -> dict[str, Any]:
    entry: dict[str, Any] = {"Id": str(index), "MessageBody": message.body}
    if message.delay:
        entry["DelaySeconds"] = max(0, min(MAX_DELAY, message.delay))
    if message.attributes:
        entry["MessageAttributes"] = message.attributes
    return entry


def _message(raw: dict[str, Any]) -> Message:
    attributes = raw.get("Attributes", {})
    return Message(
        message_id=str(raw["MessageId"]),
        receipt=str(raw["ReceiptHandle"]),
        body=str(raw["Body"]),
        receive_count=int(attributes.get("ApproximateReceiveCount", 0)),
        sent_at=int(attributes.get("SentTimestamp", 0)) / 1000,
        attributes=_sendable(raw.get("MessageAttributes", {})),
    )


def _sendable(attributes: dict[str, Any]) -> dict[str, Any]:
    """Received MessageAttributes in the shape SendMessage takes (only the set fields)."""
    keep = ("DataType", "StringValue", "BinaryValue")
    return {name: {k: v for k, v in value.items() if k in keep} for name, value in attributes.items()}
