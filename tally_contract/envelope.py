"""The Sidekiq job envelope: build, encode and decode the JSON every queued message is.

A job is kept as the dict decoded from the wire, in wire order, so decode-then-encode gives
the same bytes as the original (the golden captures are tested that way). Keys Tally does not
know (``bid``, ``tags``, ``backtrace``...) pass through untouched.
"""

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from . import activejob, wire
from .errors import EnvelopeError

DEFAULT_QUEUE = "default"
DEFAULT_CLASS = "ProcessRequestJob"
ACTIVEJOB_WRAPPERS = frozenset({"ActiveJob::QueueAdapters::SidekiqAdapter::JobWrapper", "Sidekiq::ActiveJob::Wrapper"})
_RAILS_WRAPPER = "ActiveJob::QueueAdapters::SidekiqAdapter::JobWrapper"


@dataclass(frozen=True)
class JobOptions:
    """How new jobs are written: plain or ActiveJob-wrapped, float seconds or Sidekiq 8 ms."""

    job_class: str = DEFAULT_CLASS
    queue: str = DEFAULT_QUEUE
    activejob: bool = False
    millis: bool = False


def new_jid() -> str:
    """24 lowercase hex characters, as ``SecureRandom.hex(12)`` gives."""
    return os.urandom(12).hex()


def build(
    args: list[Any],
    options: JobOptions = JobOptions(),
    *,
    extra: Mapping[str, Any] | None = None,
    clock: Callable[[], float] = time.time,
) -> dict[str, Any]:
    """A job hash with Sidekiq's key order for ``push`` (retry, queue, class, [wrapped,] args...)."""
    now = clock()
    stamp: float | int = int(now * 1000) if options.millis else now
    job: dict[str, Any] = {"retry": True, "queue": options.queue}
    if options.activejob:
        job["class"] = _RAILS_WRAPPER
        job["wrapped"] = options.job_class
        job["args"] = [activejob.wrap_payload(options.job_class, options.queue, args, now)]
    else:
        job["class"] = options.job_class
        job["args"] = args
    job["jid"] = new_jid()
    job["created_at"] = stamp
    job["enqueued_at"] = stamp
    if extra:
        job.update(extra)
    return job


def encode(job: Mapping[str, Any]) -> str:
    return wire.dumps(job)


@dataclass(frozen=True)
class Job:
    """A decoded job. ``payload`` is the job hash exactly as it was on the wire."""

    payload: dict[str, Any]

    @property
    def jid(self) -> str:
        return str(self.payload.get("jid", ""))

    @property
    def queue(self) -> str:
        return str(self.payload.get("queue", DEFAULT_QUEUE))

    @property
    def is_activejob(self) -> bool:
        return self.payload["class"] in ACTIVEJOB_WRAPPERS

    @property
    def job_class(self) -> str:
        """The class that does the work: ``wrapped`` for ActiveJob, else ``class``."""
        if self.is_activejob:
            return str(self.payload.get("wrapped") or self.payload["args"][0].get("job_class"))
        return str(self.payload["class"])

    @property
    def arguments(self) -> list[Any]:
        """The arguments ``perform`` receives, with ActiveJob's markers stripped."""
        if self.is_activejob:
            return activejob.unwrap_arguments(self.payload["args"][0])
        return list(self.payload["args"])

    def encode(self) -> str:
        return encode(self.payload)


def decode(body: str | bytes) -> Job:
    """Parse and check a job. Raises EnvelopeError naming what is wrong."""
    try:
        payload = wire.loads(body)
    except (ValueError, RecursionError) as exc:
        raise EnvelopeError(f"job is not JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise EnvelopeError("job is not a JSON object")
    if not isinstance(payload.get("class"), str) or not payload["class"]:
        raise EnvelopeError("job has no class")
    if not isinstance(payload.get("args"), list):
        raise EnvelopeError("job args is not a list")
    if payload["class"] in ACTIVEJOB_WRAPPERS:
        activejob.check_payload(payload["args"])
    return Job(payload)
