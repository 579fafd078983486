"""Pipeline health: queue sizes from the queue backend, the last batch from the processor's
heartbeat (the store keeps one, written once per batch)."""

import os
import time
from typing import Any, Protocol

from tally_store.base import Store


class Pipeline(Protocol):
    backend: str

    def sizes(self) -> dict[str, Any]: ...

    def inspect(self, limit: int) -> list[dict[str, Any]]: ...

    def redrive(self, limit: int) -> dict[str, int]: ...


def from_environment() -> Pipeline:
    from .pipeline_edge import RedisPipeline, SqlitePipeline, SqsPipeline

    url = os.environ.get("TALLY_QUEUE_URL", "")
    if url.startswith(("redis://", "rediss://")):
        return RedisPipeline(url, os.environ.get("TALLY_JOB_QUEUE") or "default")
    if url.startswith("sqlite://"):
        return SqlitePipeline(url, os.environ.get("TALLY_JOB_QUEUE") or "default")
    name = url.removeprefix("sqs://") or os.environ.get("TALLY_SQS_QUEUE_NAME", "")
    return SqsPipeline(name, os.environ.get("TALLY_DLQ") or None)


def health(pipeline: Pipeline, store: Store, now: float | None = None) -> dict[str, Any]:
    """One GetQueueAttributes per queue (+ one CloudWatch read) or one Redis pipeline, and the
    processor's and the rollup's heartbeats."""
    now = time.time() if now is None else now
    beat, rollup = store.heartbeat(), store.heartbeat("rollup")
    last = beat.at if beat else None
    return {
        "backend": pipeline.backend,
        "queue": pipeline.sizes(),
        "last_batch": {
            "at": last,
            "seconds_ago": round(now - last, 1) if last is not None else None,
            "size": beat.size if beat else None,
            # receipt of the batch's oldest event to its processing: the pipeline's lag
            "lag_seconds": beat.lag if beat else None,
        },
        "rollup": {
            "seconds_ago": round(now - rollup.at, 1) if rollup else None,
            "planned": rollup.size if rollup else None,
            # the backlog: how long the oldest closed bucket has waited to be sealed
            "oldest_unsealed_seconds": rollup.lag if rollup else None,
        },
    }
