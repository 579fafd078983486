"""Powertools Logger and Metrics for the ingest function, wired into Chalice as middleware.

One namespace (``Tally``), dimensions for stage and service. A request emits one EMF line
with what it accepted and refused (refusals also by reason) and how long the queue took.
"""

import os
from collections import Counter
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from chalice.app import ConvertToMiddleware

from tally_contract import tracing

from .errors import IngestError

NAMESPACE = "Tally"
SERVICE = "ingest"
logger = Logger(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)
metrics.set_default_dimensions(stage=os.environ.get("TALLY_STAGE", "dev"))


def middlewares() -> list[Callable[..., Any]]:
    """HTTP middleware, outermost first: correlation id on every log line, metrics flushed
    once per request (with the cold-start metric on the first), X-Ray when switched on."""
    traced = tracing.middleware(SERVICE)
    return [
        ConvertToMiddleware(logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)),
        # Powertools prints the cold-start metric even with metrics disabled (local mode's text).
        ConvertToMiddleware(metrics.log_metrics(capture_cold_start_metric=_metrics_enabled())),
        *([traced] if traced else []),
        _accept_header,
    ]


def _metrics_enabled() -> bool:
    """Powertools skips only the final flush when metrics are disabled: what was added piles up
    and is printed anyway once 100 values gather (and single_metric prints at once). So
    disabled metrics (local mode's text output) are not added at all."""
    return os.environ.get("POWERTOOLS_METRICS_DISABLED", "").strip().lower() not in ("true", "1")


def record_outcome(outcome: Any) -> None:
    if not _metrics_enabled():
        return
    if outcome.dropped:
        # Not refused and not accepted: the visitor asked not to be tracked and the site
        # respects it. One metric with no dimension beyond stage and service.
        metrics.add_metric(name="EventsDroppedDoNotTrack", unit=MetricUnit.Count, value=outcome.dropped)
    if outcome.enqueued:
        metrics.add_metric(
            name="EnqueueLatency", unit=MetricUnit.Milliseconds, value=round(outcome.enqueue_seconds * 1000, 3)
        )
    if outcome.accepted:
        metrics.add_metric(name="EventsAccepted", unit=MetricUnit.Count, value=len(outcome.accepted))
    if outcome.rejected:
        reasons = Counter(error.CODE for _, error in outcome.rejected)
        first = outcome.rejected[0][1]
        logger.info(
            "events refused",
            extra={"accepted": len(outcome.accepted), "reasons": dict(reasons), "first": first.body()},
        )
        for reason, count in reasons.items():
            record_refusal_code(reason, count)


def record_refusal(error: IngestError, count: int) -> None:
    logger.info("request refused", extra={"status": error.STATUS_CODE, "reason": error.CODE, "detail": error.message})
    record_refusal_code(error.CODE, count)


def record_refusal_code(reason: str, count: int) -> None:
    if not _metrics_enabled():
        return
    metrics.add_metric(name="EventsRejected", unit=MetricUnit.Count, value=count)
    # Dimensions apply to every metric of a flush, so the per-reason count is its own EMF
    # line; only refused requests pay for it.
    with single_metric(
        name="EventsRejectedByReason",
        unit=MetricUnit.Count,
        value=count,
        namespace=NAMESPACE,
        default_dimensions={**metrics.default_dimensions, "service": SERVICE},
    ) as metric:
        metric.add_dimension(name="reason", value=reason)


def _accept_header(request: Any, get_response: Callable[..., Any]) -> Any:
    # The app declares every type binary (so gzip bodies reach us intact), and Chalice then
    # answers 400 to a request with no Accept header. RFC 9110 12.5.1: no Accept means any.
    if "accept" not in request.headers:
        from chalice.app import CaseInsensitiveMapping

        request.headers = CaseInsensitiveMapping({**request.headers, "accept": "*/*"})
    return get_response(request)
