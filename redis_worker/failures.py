"""What a failed job becomes in Sidekiq's retry or dead set, written the way Sidekiq 6.4.1 does.

Pure functions (no Redis): the worker decides here, then writes it atomically with the job's
acknowledgement (``fetch.ReliableFetch.settle``). Read from ``lib/sidekiq/job_retry.rb`` and
``api.rb`` (``DeadSet#kill``) of Sidekiq 6.4.1; the delay formula and the sets' names are in
``tally_contract/sidekiq_redis.py``:

- a failed job gets ``queue`` (``retry_queue`` if set), ``error_message`` (at most 10,000
  characters), ``error_class``, then on its first failure ``failed_at`` and ``retry_count = 0``,
  on later ones ``retried_at`` and ``retry_count + 1``; ``error_backtrace`` (base64 of
  zlib-deflated JSON, Ruby's 60-character lines) only when the job asks with ``backtrace``.
  Existing keys keep their place, new ones are appended in that order, as Ruby's Hash does.
- with ``count`` the new ``retry_count``, the job is retried while ``count < max attempts``
  (``retry: true`` or missing: 25; an integer: that many), ``count**4 + 15 + rand(10) *
  (count + 1)`` seconds from now; otherwise it goes to the dead set, score now.
- Where Sidekiq 6.4 *discards* a job (``retry: false``, ``dead: false``, a job that failed
  before its worker class existed), Tally keeps it in the dead set: nothing accepted may be
  lost. A non-retryable ``JobFailed`` goes there at once, with the same error fields.

Timestamps follow the job: float seconds (Sidekiq 6/7), or integer milliseconds when the job's
``created_at`` is an integer (Sidekiq 8's format). Sorted-set scores are always float seconds.
"""

import base64
import random
import traceback
import zlib
from dataclasses import dataclass
from typing import Any

from processor_lambda.results import JobFailed
from tally_contract import wire
from tally_contract.sidekiq_redis import DEAD, DEFAULT_MAX_RETRIES, RETRY, retry_delay, stamp

MAX_ERROR_MESSAGE = 10_000  # job_retry.rb exception_message
_BASE64_LINE = 60  # Ruby's Base64.encode64 (pack "m") breaks lines every 60 characters


@dataclass(frozen=True)
class Failed:
    """Where one failed job goes: ``target`` is RETRY or DEAD, ``member`` the job to store."""

    target: str
    member: str | bytes
    score: float
    retry_count: int | None = None


def max_attempts(retry: Any, default: int = DEFAULT_MAX_RETRIES) -> int:
    """``retry_attempts_from``: an Integer is the limit, anything else means the default."""
    if isinstance(retry, int) and not isinstance(retry, bool):
        return retry
    return default


def plan_failure(
    body: str | bytes,
    error: JobFailed,
    queue: str,
    *,
    now: float,
    rng: random.Random,
    max_retries: int = DEFAULT_MAX_RETRIES,
) -> Failed:
    """What a job that failed with ``error`` becomes. ``queue`` is the queue it was fetched
    from. A body that is not a JSON object goes to the dead set unchanged, bytes for bytes."""
    try:
        msg = wire.loads(body)
    except (ValueError, RecursionError):
        msg = None
    if not isinstance(msg, dict):
        return Failed(DEAD, body, now)
    if msg.get("retry") is None:
        # job_retry.rb#local: a missing retry option takes the worker's default, true.
        msg["retry"] = True
    count = _record_failure(msg, error, queue, now)
    retryable = error.retryable and msg["retry"] is not False
    if retryable and count < max_attempts(msg["retry"], max_retries):
        return Failed(RETRY, wire.dumps(msg), now + retry_delay(count, rng), count)
    return Failed(DEAD, wire.dumps(msg), now, count)


def _record_failure(msg: dict[str, Any], error: JobFailed, queue: str, now: float) -> int:
    """Set the error fields in job_retry.rb#attempt_retry's order; return the new retry_count."""
    retry_queue = msg.get("retry_queue")
    msg["queue"] = retry_queue if isinstance(retry_queue, str) and retry_queue else queue
    error_class, message, exc = describe(error)
    msg["error_message"] = message[:MAX_ERROR_MESSAGE]
    msg["error_class"] = error_class
    at = stamp(msg, now)
    previous = msg.get("retry_count")
    if previous is None or previous is False:
        msg["failed_at"] = at
        count = 0
    else:
        msg["retried_at"] = at
        count = (previous if isinstance(previous, int) and not isinstance(previous, bool) else 0) + 1
    msg["retry_count"] = count
    wanted = msg.get("backtrace")
    if wanted is not None and wanted is not False:
        lines = ruby_backtrace(exc)
        if wanted is not True:
            lines = lines[: _to_i(wanted)]
        msg["error_backtrace"] = compress_backtrace(lines)
    return count


def describe(error: JobFailed) -> tuple[str, str, BaseException]:
    """(error_class, error_message, exception) as Sidekiq would report them. The pipeline wraps
    a handler's exception in a plain JobFailed whose ``__cause__`` is the original: report that."""
    exc: BaseException = error
    if type(error) is JobFailed and isinstance(error.__cause__, BaseException):
        exc = error.__cause__
    kind = type(exc)
    name = kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"
    # Ruby scrubs invalid UTF-8; in Python the hazard is a lone surrogate, which cannot be encoded.
    message = str(exc).encode("utf-8", "replace").decode("utf-8")
    return name, message, exc


def ruby_backtrace(exc: BaseException) -> list[str]:
    """The traceback as Ruby writes a backtrace: innermost frame first, ``file:line:in `name'``."""
    frames = traceback.extract_tb(exc.__traceback__)
    return [f"{frame.filename}:{frame.lineno}:in `{frame.name}'" for frame in reversed(frames)]


def compress_backtrace(lines: list[str]) -> str:
    """``Base64.encode64(Zlib::Deflate.deflate(dump_json(lines)))``, newline every 60 characters."""
    encoded = base64.b64encode(zlib.compress(wire.dumps(lines).encode("utf-8"))).decode("ascii")
    return "".join(encoded[i : i + _BASE64_LINE] + "\n" for i in range(0, len(encoded), _BASE64_LINE))


def decompress_backtrace(value: str) -> list[str]:
    """The inverse, as Sidekiq's ``SortedEntry#error_backtrace`` reads it."""
    lines = wire.loads(zlib.decompress(base64.b64decode(value)))
    return [str(line) for line in lines]


def _to_i(value: Any) -> int:
    """Ruby's ``to_i`` for the ``backtrace`` option: a number or numeric string, else 0."""
    try:
        return int(float(value))
    except (TypeError, ValueError, OverflowError):
        return 0
