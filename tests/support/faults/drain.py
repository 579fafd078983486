"""Drive the production SQS handler as Lambda's event source would, until the queue is empty:
receive up to ``batch`` messages per invocation, call the handler, and when it raises
``PartialBatchFailure`` let the unfinished messages come back (at once here, after the
visibility timeout in AWS). The queue's redrive policy (moto applies it on receive) moves a
message received too often to the dead-letter queue."""

from typing import Any

from processor_lambda.sqs_handler import PartialBatchFailure, SqsBatchHandler
from tests.support.sqs_events import receive_records


def drain(sqs: Any, queue_url: str, handler: SqsBatchHandler, *, batch: int = 100, max_calls: int = 10_000) -> int:
    """Run invocations until nothing is left; returns how many invocations failed partly."""
    partial = 0
    for _ in range(max_calls):
        records = receive_records(sqs, queue_url, at_most=batch)
        if not records:
            return partial
        try:
            handler({"Records": records})
        except PartialBatchFailure as failure:
            partial += 1
            failed = set(failure.message_ids)
            _release(sqs, queue_url, [r for r in records if r["messageId"] in failed])
    raise AssertionError(f"the queue did not drain in {max_calls} invocations")


def _release(sqs: Any, url: str, records: list[dict[str, Any]]) -> None:
    for start in range(0, len(records), 10):
        entries = [{"Id": str(i), "ReceiptHandle": r["receiptHandle"], "VisibilityTimeout": 0}
                   for i, r in enumerate(records[start : start + 10])]  # fmt: skip
        sqs.change_message_visibility_batch(QueueUrl=url, Entries=entries)
