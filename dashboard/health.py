"""Pipeline health: queue sizes from the queue backend, the last batch from the processor's
heartbeat item (``pk = "heartbeat"`` in the aggregates table, written once per batch)."""

import os
import time
from typing import Any, Protocol

from .queries import Dynamo

HEARTBEAT_KEY = {"pk": {"S": "heartbeat"}, "sk": {"S": "processor"}}


class Pipeline(Protocol):
    backend: str

    def sizes(self) -> dict[str, Any]: ...

    def inspect(self, limit: int) -> list[dict[str, Any]]: ...

    def redrive(self, limit: int) -> dict[str, int]: ...


def from_environment() -> Pipeline:
    from .pipeline_edge import RedisPipeline, SqsPipeline

    url = os.environ.get("TALLY_QUEUE_URL", "")
    if url.startswith(("redis://", "rediss://")):
        return RedisPipeline(url, os.environ.get("TALLY_JOB_QUEUE") or "default")
    name = url.removeprefix("sqs://") or os.environ.get("TALLY_SQS_QUEUE_NAME", "")
    return SqsPipeline(name, os.environ.get("TALLY_DLQ") or None)


def health(pipeline: Pipeline, dynamo: Dynamo, aggregates: str, now: float | None = None) -> dict[str, Any]:
    """One GetQueueAttributes per queue (+ one CloudWatch read) or one Redis pipeline, and one
    GetItem."""
    now = time.time() if now is None else now
    beat = dynamo.get(aggregates, HEARTBEAT_KEY) or {}
    last = float(beat["at"]["N"]) if "at" in beat else None
    return {
        "backend": pipeline.backend,
        "queue": pipeline.sizes(),
        "last_batch": {
            "at": last,
            "seconds_ago": round(now - last, 1) if last is not None else None,
            "size": int(beat["n"]["N"]) if "n" in beat else None,
            # receipt of the batch's oldest event to its processing: the pipeline's lag
            "lag_seconds": float(beat["lag"]["N"]) if "lag" in beat else None,
        },
    }
