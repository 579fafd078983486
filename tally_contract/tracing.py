"""X-Ray tracing through Powertools' Tracer, as Chalice middleware, only when switched on.

Building a Powertools ``Tracer`` imports ``aws_xray_sdk`` even when tracing is disabled
(200-230 ms measured here on top of ``import app``, as much as the rest of an ingest cold
start), so neither is imported unless ``POWERTOOLS_TRACE_DISABLED`` is explicitly ``false``.
Tracing also needs X-Ray active on the function (``"xray": true`` in .chalice/config.json) and
``aws-xray-sdk`` in the package (docs/operations.md, "Logs, metrics, tracing"); where the SDK
is missing the function runs untraced.
"""

import logging
import os
from collections.abc import Callable
from typing import Any

logger = logging.getLogger(__name__)


def enabled() -> bool:
    return os.environ.get("POWERTOOLS_TRACE_DISABLED", "true").strip().lower() in ("false", "0")


def middleware(service: str) -> Callable[..., Any] | None:
    """A Chalice middleware tracing each invocation, or None when tracing is off."""
    if not enabled():
        return None
    try:
        from aws_lambda_powertools import Tracer
        from chalice.app import ConvertToMiddleware

        tracer = Tracer(service=service)
    except ImportError as exc:
        logger.warning("tracing requested but unavailable: %s", exc)
        return None
    return ConvertToMiddleware(tracer.capture_lambda_handler(capture_response=False))
