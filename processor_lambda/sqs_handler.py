"""The SQS-triggered Lambda: run the pipeline over a batch and settle every message.

Chalice cannot turn on ReportBatchItemFailures, so by default (``report_failures=False``)
the handler deletes the messages it finished, then raises: Lambda puts back exactly the
unfinished ones. Where the flag is set (``chalice package --merge-template``), it returns
``batchItemFailures`` instead. Poison messages (undecodable, an invalid event) go straight to
the dead-letter queue when one is configured, with the reason, instead of being retried; a job
of a class no handler is registered for is retried, as Sidekiq retries it, until SQS's
redrive policy moves it to the dead-letter queue.
"""

import logging
from collections.abc import Sequence
from typing import Any

from tally_contract import aws
from tally_contract.errors import ServiceError, TallyError

from .pipeline import Pipeline
from .results import RecordResult

Record = dict[str, Any]
logger = logging.getLogger(__name__)


class PartialBatchFailure(TallyError):
    """Raised so Lambda redelivers the unfinished messages; the finished ones are deleted."""

    def __init__(self, failed: Sequence[tuple[Record, RecordResult]]) -> None:
        reasons = sorted({str(result.error) for _, result in failed})
        super().__init__(f"{len(failed)} message(s) will be retried: {'; '.join(reasons)[:500]}")
        self.message_ids = [record["messageId"] for record, _ in failed]


class SqsBatchHandler:
    def __init__(
        self,
        pipeline: Pipeline,
        *,
        client: Any = None,
        dlq: str | None = None,
        report_failures: bool = False,
    ) -> None:
        self.pipeline = pipeline
        self._client = client
        self.dlq = dlq  # a queue name or URL
        self.report_failures = report_failures
        self._queue_urls: dict[str, str] = {}
        self.last_dead = 0  # messages the last batch sent to the DLQ, for the batch metrics

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = aws.client("sqs")
        return self._client

    def __call__(self, event: dict[str, Any]) -> dict[str, Any]:
        records: list[Record] = event.get("Records", [])
        self.last_dead = 0
        results = self.pipeline.process([record["body"] for record in records])
        failed = [(r, res) for r, res in zip(records, results, strict=True) if not res.ok]
        if not failed:
            return {"batchItemFailures": []}
        dead = self._dead_letter([(r, res) for r, res in failed if res.error and not res.error.retryable])
        self.last_dead = len(dead)
        retry = [(r, res) for r, res in failed if r["messageId"] not in dead]
        if not retry:
            return {"batchItemFailures": []}
        if self.report_failures:
            return {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r, _ in retry]}
        retry_ids = {r["messageId"] for r, _ in retry}
        self._delete([r for r in records if r["messageId"] not in retry_ids])
        raise PartialBatchFailure(retry)

    def _dead_letter(self, poison: list[tuple[Record, RecordResult]]) -> set[str]:
        """Send poison messages to the DLQ with their reason; return the ids that went."""
        dlq_url = self._dlq_url()
        if not dlq_url or not poison:
            return set()
        sent: set[str] = set()
        for start in range(0, len(poison), 10):
            chunk = poison[start : start + 10]
            entries = [
                {
                    "Id": str(i),
                    "MessageBody": record["body"],
                    "MessageAttributes": {"error": {"DataType": "String", "StringValue": str(result.error)[:1000]}},
                }
                for i, (record, result) in enumerate(chunk)
            ]
            response = self._call("send_message_batch", QueueUrl=dlq_url, Entries=entries)
            ok = {int(entry["Id"]) for entry in (response or {}).get("Successful", [])}
            sent.update(chunk[i][0]["messageId"] for i in ok)
        return sent

    def _delete(self, records: list[Record]) -> None:
        """Delete finished messages. One that fails to delete comes back and is stored again:
        harmless, since raw writes are idempotent and the rollup corrects counters."""
        by_queue: dict[str, list[Record]] = {}
        for record in records:
            by_queue.setdefault(record["eventSourceARN"], []).append(record)
        for arn, members in by_queue.items():
            url = self._queue_url(arn)
            for start in range(0, len(members) if url else 0, 10):
                chunk = members[start : start + 10]
                entries = [{"Id": str(i), "ReceiptHandle": r["receiptHandle"]} for i, r in enumerate(chunk)]
                self._call("delete_message_batch", QueueUrl=url, Entries=entries)

    def _dlq_url(self) -> str | None:
        if not self.dlq or self.dlq.startswith(("https://", "http://")):
            return self.dlq
        response = self._call("get_queue_url", QueueName=self.dlq)
        if response is not None:
            self.dlq = str(response["QueueUrl"])
            return self.dlq
        return None

    def _queue_url(self, arn: str) -> str | None:
        if arn not in self._queue_urls:
            _, _, _, _, account, name = arn.split(":", 5)
            response = self._call("get_queue_url", QueueName=name, QueueOwnerAWSAccountId=account)
            if response is None:
                return None
            self._queue_urls[arn] = response["QueueUrl"]
        return self._queue_urls[arn]

    def _call(self, operation: str, **kwargs: Any) -> Any:
        """Best effort: a message not deleted or not dead-lettered is simply delivered again."""
        try:
            return aws.call(self.client, operation, **kwargs)
        except ServiceError as exc:
            logger.warning("SQS %s failed: %s", operation, exc.code)
            return None
