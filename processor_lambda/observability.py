"""Powertools Logger and Metrics for the processor functions (namespace ``Tally``, dimensions
stage and service). One EMF line per SQS batch: its size, outcomes and duration."""

import os
import time
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

SERVICE = "processor"
logger = Logger(service=SERVICE)
metrics = Metrics(namespace="Tally", service=SERVICE)
metrics.set_default_dimensions(stage=os.environ.get("TALLY_STAGE", "dev"))


_traced: list[Callable[..., Any] | None] = []


def sqs_middleware(event: Any, get_response: Callable[..., Any]) -> Any:
    """Chalice middleware for the SQS function: Lambda context on every log line, metrics
    flushed once per batch (with the cold-start metric on the first), X-Ray when switched on."""
    from chalice.app import ConvertToMiddleware

    flush = ConvertToMiddleware(metrics.log_metrics(capture_cold_start_metric=True))
    context = ConvertToMiddleware(logger.inject_lambda_context())
    handler = _traced_handler(get_response)
    return context(event, lambda inner: flush(inner, handler))


def scheduled_middleware(event: Any, get_response: Callable[..., Any]) -> Any:
    """Chalice middleware for the rollup: Lambda context on its log lines, its metrics flushed,
    X-Ray when on."""
    from chalice.app import ConvertToMiddleware

    flush = ConvertToMiddleware(metrics.log_metrics())
    context = ConvertToMiddleware(logger.inject_lambda_context())
    handler = _traced_handler(get_response)
    return context(event, lambda inner: flush(inner, handler))


def _traced_handler(get_response: Callable[..., Any]) -> Callable[..., Any]:
    from tally_contract import tracing

    if not _traced:
        _traced.append(tracing.middleware(SERVICE))
    trace = _traced[0]
    if trace is None:
        return get_response
    return lambda inner: trace(inner, get_response)


def record_rollup(report: dict[str, Any]) -> None:
    """The scheduled run: the backlog as a metric (the RollupBacklog alarm watches it)."""
    metrics.add_metric(name="RollupOldestUnsealed", unit=MetricUnit.Seconds, value=report["oldest_unsealed"])
    metrics.add_metric(name="RollupPlanned", unit=MetricUnit.Count, value=report["planned"])
    logger.info("rollup finished", extra=report)


def record_rollup_work(report: dict[str, Any]) -> None:
    metrics.add_metric(name="RollupSealed", unit=MetricUnit.Count, value=report["sealed"])
    logger.info("rollup work done", extra=report)


def record_batch(size: int, failed: int, dead: int, started: float) -> None:
    duration_ms = round((time.perf_counter() - started) * 1000, 1)
    # Disabled metrics would pile up and be printed anyway (ingest_lambda/observability.py).
    if os.environ.get("POWERTOOLS_METRICS_DISABLED", "").strip().lower() not in ("true", "1"):
        metrics.add_metric(name="BatchSize", unit=MetricUnit.Count, value=size)
        metrics.add_metric(name="RecordsProcessed", unit=MetricUnit.Count, value=size - failed)
        metrics.add_metric(name="RecordsFailed", unit=MetricUnit.Count, value=failed - dead)
        metrics.add_metric(name="RecordsDeadLettered", unit=MetricUnit.Count, value=dead)
        metrics.add_metric(name="BatchDuration", unit=MetricUnit.Milliseconds, value=duration_ms)
    if failed:
        logger.warning("batch settled with failures", extra={"size": size, "failed": failed, "dead": dead})
    else:
        logger.info("batch processed", extra={"size": size, "ms": duration_ms})
