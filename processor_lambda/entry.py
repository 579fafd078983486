"""Lambda entry points for the processor, built once per Lambda instance from the environment.
Tests (and local mode) hand in their own pipeline or rollup instead."""

import dataclasses
import os
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .pipeline import Pipeline, build_pipeline
from .sqs_handler import PartialBatchFailure, SqsBatchHandler

if TYPE_CHECKING:  # the SQS function never loads the rollup
    from tally_aggregates.rollup import Rollup

_handler: SqsBatchHandler | None = None
_rollup: "Rollup | None" = None


def sqs_handler(pipeline: Pipeline | None = None) -> SqsBatchHandler:
    global _handler
    if _handler is None or pipeline is not None:
        _handler = SqsBatchHandler(
            pipeline or build_pipeline(),
            dlq=os.environ.get("TALLY_DLQ") or None,
            report_failures=os.environ.get("TALLY_REPORT_BATCH_ITEM_FAILURES", "").lower() == "true",
        )
    return _handler


def rollup(instance: "Rollup | None" = None) -> "Rollup":
    global _rollup
    if instance is not None:
        _rollup = instance
    elif _rollup is None:
        _rollup = build_rollup()
    return _rollup


def build_rollup(clock: "Callable[[], float]" = time.time) -> "Rollup":
    """The rollup as the functions run it, configured from the environment."""
    import tally_store
    from tally_aggregates.rollup import Rollup
    from tally_contract import sites as site_stores
    from tally_export import base as export_sink

    from .request_job import SiteSettings, declared

    sites = SiteSettings(site_stores.from_environment().by_id)  # local mode: TALLY_STORE_URL's sites
    export = export_sink.from_environment()  # TALLY_EXPORT_BUCKET (S3), TALLY_EXPORT_DIR, or none
    return Rollup(tally_store.from_environment(), declared=lambda site: declared(sites, site), clock=clock,
                  export=export)  # fmt: skip


def reset() -> None:
    global _handler, _rollup
    _handler = _rollup = None


def handle_sqs(event: dict[str, Any]) -> dict[str, Any]:
    from . import observability

    started = time.perf_counter()
    handler = sqs_handler()
    size = len(event.get("Records", []))
    try:
        result = handler(event)
    except PartialBatchFailure as exc:
        observability.record_batch(size, len(exc.message_ids) + handler.last_dead, handler.last_dead, started)
        raise
    failed = len(result.get("batchItemFailures", []))
    observability.record_batch(size, failed + handler.last_dead, handler.last_dead, started)
    return result


def run_rollup() -> dict[str, Any]:
    """The scheduled rollup: plan, and send the work to the rollup queue (rollup_work.py)."""
    from . import observability, rollup_work

    done = rollup_work.dispatch(rollup(), os.environ.get("TALLY_ROLLUP_QUEUE_NAME") or None)
    report = {**dataclasses.asdict(done.report), "sent": done.sent, "behind": done.behind}
    observability.record_rollup(report)
    return report


def handle_rollup_work(event: dict[str, Any]) -> dict[str, Any]:
    """The rollup worker: seal the buckets of a batch of rollup queue messages."""
    from . import observability, rollup_work

    report = dataclasses.asdict(rollup_work.work(rollup(), [r["body"] for r in event.get("Records", [])]))
    observability.record_rollup_work(report)
    return report
