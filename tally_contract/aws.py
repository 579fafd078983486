"""The AWS edge: botocore clients built lazily from one shared session, the one function
that calls them (``call``: botocore's errors become the project's own), one table of error
codes, and one jittered, capped backoff (``retrying``).

botocore directly rather than boto3: the ingest cold start pays for every import, and one
session shares its loaded endpoint and partition data between the SQS and DynamoDB clients.
Endpoints follow the standard ``AWS_ENDPOINT_URL[_SERVICE]`` variables (moto in tests).
"""

import gc
import random
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from .errors import ConditionFailed, ServiceError

T = TypeVar("T")
# Throttling: the same request passes once the caller slows down. A 5xx and a connection
# failure are retryable too (``call``); any other 4xx is the caller's fault and is not.
THROTTLED = frozenset({
    "ProvisionedThroughputExceededException", "ThrottlingException", "Throttling", "RequestLimitExceeded",
    "TransactionConflictException", "RequestThrottled", "RequestThrottledException", "TooManyRequestsException",
    "AWS.SimpleQueueService.RequestThrottled", "ThrottledException",
})  # fmt: skip
CONDITION_FAILED = "ConditionalCheckFailedException"

_lock = threading.Lock()
_session: Any = None
_clients: dict[str, Any] = {}


def client(service: str, *, validate: bool = True) -> Any:
    """A cached client with short timeouts: a request must fail fast, not hang the Lambda.

    ``validate=False`` skips botocore's client-side parameter validation, which costs more CPU
    than the request itself for a 25-item BatchWriteItem; for callers whose requests are built
    by code (the service still validates everything).
    """
    key = f"{service}:{validate}"
    with _lock:
        if key not in _clients:
            _clients[key] = _without_gc(_new_client, service, validate)
        return _clients[key]


def _without_gc(build: Callable[..., Any], *args: Any) -> Any:
    """Build a client with the cyclic GC paused, then freeze what exists.

    Creating a client allocates tens of thousands of long-lived objects (the service model,
    the event hooks). Measured on a cold start, a full collection landing in the middle of
    that cost 40 ms of a 250 ms first request. The objects live as long as the process, so
    they are moved out of the collector's sight (gc.freeze) rather than scanned again and again.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        return build(*args)
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


def _new_client(service: str, validate: bool) -> Any:
    global _session
    import botocore.config
    import botocore.session

    if _session is None:
        _session = botocore.session.get_session()
    config = botocore.config.Config(
        connect_timeout=2,
        read_timeout=5,
        retries={"mode": "standard", "max_attempts": 3},
        max_pool_connections=20,
        parameter_validation=validate,
    )
    return _session.create_client(service, config=config)


def reset() -> None:
    """Forget cached clients (tests switch endpoints and credentials between cases)."""
    global _session
    with _lock:
        _clients.clear()
        _session = None


def call(client: Any, operation: str, *, error: type[ServiceError] = ServiceError, **params: Any) -> Any:
    """``client.<operation>(**params)``; botocore's errors become ``error`` (or ConditionFailed
    for a failed condition), carrying the provider's code and whether a retry may pass."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return getattr(client, operation)(**params)
    except ClientError as exc:
        details = exc.response.get("Error", {})
        code = str(details.get("Code", "")) or "error"
        if code == CONDITION_FAILED:
            raise ConditionFailed(f"{operation}: {code}", code=code) from exc
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        retryable = code in THROTTLED or status >= 500
        message = f"{_service(client)} {operation}: {code} {details.get('Message') or ''}".strip()
        raise error(message, code=code, retryable=retryable) from exc
    except BotoCoreError as exc:  # no answer: a timeout, a dropped connection, no credentials
        code = type(exc).__name__
        raise error(
            f"{_service(client)} {operation}: {code}", code=code, retryable=code != "NoCredentialsError"
        ) from exc


def retrying(
    operation: Callable[[], T],
    *,
    attempts: int = 8,
    base: float = 0.02,
    cap: float = 2.0,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Run ``operation`` until it returns, raises an error that is not retryable, or has run
    ``attempts`` times (then its last error is raised)."""
    for attempt in range(attempts):
        if attempt:
            sleep(backoff(attempt, base, cap))
        try:
            return operation()
        except ServiceError as exc:
            if not exc.retryable or attempt == attempts - 1:
                raise
    raise AssertionError("attempts must be at least 1")


def backoff(attempt: int, base: float, cap: float) -> float:
    """Full jitter (AWS Architecture Blog, "Exponential Backoff and Jitter"): many clients
    retrying at once spread out instead of colliding again."""
    return random.uniform(0, min(cap, base * 2**attempt))


def _service(client: Any) -> str:
    meta = getattr(client, "meta", None)
    model = getattr(meta, "service_model", None)
    return str(getattr(model, "service_name", "aws"))
