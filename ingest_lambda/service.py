"""Accept events: authenticate the site, validate each event, queue the valid ones.

Knows nothing of Chalice: it takes the parsed body and what the request said about itself,
and returns an Outcome the HTTP layer turns into a response.
"""

import time
from dataclasses import dataclass, field
from typing import Any

from tally_contract import envelope, event, wire
from tally_contract.errors import FieldError, QueueUnavailable, StoreUnavailable
from tally_contract.queues import PushFailure
from tally_contract.sites import Site

from .errors import (
    IngestError,
    InvalidEvent,
    OriginNotAllowed,
    QueueRefused,
    RateLimited,
    TooLarge,
    Unauthorized,
)
from .runtime import Runtime

MAX_BATCH = 100
MAX_EVENT_BYTES = event.MAX_EVENT_BYTES


@dataclass(frozen=True)
class Sender:
    """What the request says about who sent it."""

    write_key: str | None
    secret: str | None = None
    origin: str | None = None
    ip: str | None = None
    user_agent: str | None = None
    request_id: str | None = None


@dataclass
class Outcome:
    is_batch: bool
    accepted: list[str] = field(default_factory=list)
    rejected: list[tuple[int, IngestError]] = field(default_factory=list)
    enqueued: int = 0
    enqueue_seconds: float = 0.0

    @property
    def status(self) -> int:
        if not self.rejected:
            return 202
        if self.accepted:
            return 207
        statuses = {error.STATUS_CODE for _, error in self.rejected}
        return 503 if 503 in statuses else (422 if 422 in statuses else max(statuses))

    @property
    def retry_after(self) -> int | None:
        """Seconds to wait before resending the events the queue did not take."""
        delays = [error.RETRY_AFTER for _, error in self.rejected if error.RETRY_AFTER]
        return max(delays) if delays else None

    def body(self) -> dict[str, Any]:
        if not self.is_batch and self.rejected:
            return self.rejected[0][1].body()
        body: dict[str, Any] = {"accepted": len(self.accepted)}
        if not self.is_batch:
            body["event_id"] = self.accepted[0]
            return body
        body["rejected"] = [{"index": i, **error.body()} for i, error in self.rejected]
        return body


def authenticate(rt: Runtime, sender: Sender) -> tuple[Site, bool]:
    """The sender's site, and whether it proved it holds the secret key."""
    if not sender.write_key:
        raise Unauthorized('missing write key: send X-Tally-Key, ?key= or "key" in the body', field="key")
    try:
        site = rt.sites.by_write_key(sender.write_key[:128])
    except StoreUnavailable:
        raise QueueRefused("site settings are unavailable; retry later") from None
    if site is None:
        raise Unauthorized("unknown write key", field="key")
    if sender.secret is not None and not site.secret_matches(sender.secret):
        raise Unauthorized("secret key does not match this site", field="Authorization")
    server_sender = sender.secret is not None
    if sender.origin and not server_sender and not site.allows_origin(sender.origin):
        raise OriginNotAllowed(f"origin {sender.origin[:200]!r} is not allowed for this site", field="Origin")
    return site, server_sender


def split(payload: Any) -> tuple[list[Any], bool, Any]:
    """(raw events, is_batch, batch-level sent_at) from a body without its ``key``."""
    if not isinstance(payload, dict):
        raise InvalidEvent('body must be an event object or {"batch": [...]}', field="body")
    if "batch" not in payload:
        return [payload], False, None
    batch = payload["batch"]
    if not isinstance(batch, list):
        raise InvalidEvent("batch must be an array of events", field="batch")
    if not batch:
        raise InvalidEvent("batch is empty", field="batch")
    if len(batch) > MAX_BATCH:
        raise TooLarge(f"batch has {len(batch)} events; the limit is {MAX_BATCH}", field="batch")
    unknown = set(payload) - {"batch", "sent_at"}
    if unknown:
        raise InvalidEvent("is not a known field of a batch", field=sorted(unknown)[0][:64])
    return batch, True, payload.get("sent_at")


def accept(rt: Runtime, payload: Any, sender: Sender) -> Outcome:
    if isinstance(payload, dict):
        payload.pop("key", None)
    site, server_sender = authenticate(rt, sender)
    raw_events, is_batch, batch_sent_at = split(payload)
    if not rt.limiter.allow(site.site_id, site.rate_limit, cost=len(raw_events)):
        raise RateLimited(f"site {site.site_id} is over its rate limit of {site.rate_limit} events/s")
    origin = event.Origin(site.site_id, rt.clock(), sender.ip, sender.user_agent, server_sender,
                          max_age_seconds=site.max_event_age_seconds(server_sender))  # fmt: skip
    outcome = Outcome(is_batch)
    jobs: list[tuple[int, str, str]] = []  # (index, event_id, encoded job)
    for index, raw in enumerate(raw_events):
        try:
            built = _build(raw, origin, batch_sent_at)
        except IngestError as exc:
            outcome.rejected.append((index, exc))
            continue
        job = envelope.build([built], rt.settings.job, extra=_extra(sender), clock=rt.clock)
        jobs.append((index, built["event_id"], envelope.encode(job)))
    _enqueue(rt, jobs, outcome)
    return outcome


def _build(raw: Any, origin: event.Origin, batch_sent_at: Any) -> dict[str, Any]:
    if isinstance(raw, dict) and batch_sent_at is not None and "sent_at" not in raw:
        raw = {**raw, "sent_at": batch_sent_at}
    try:
        size = len(wire.dumps(raw).encode("utf-8", "surrogatepass"))
    except RecursionError:
        raise InvalidEvent("event is nested too deeply", field="event") from None
    except ValueError:  # JSON reads 1e999 as infinity, which no job may carry
        raise InvalidEvent("a number is out of range", field=_unencodable_field(raw)) from None
    if size > MAX_EVENT_BYTES:
        raise TooLarge(f"event is {size} bytes; the limit is {MAX_EVENT_BYTES}", field="event")
    try:
        return event.build(raw, origin)
    except FieldError as exc:
        raise InvalidEvent(exc.reason, field=exc.field) from None


def _unencodable_field(raw: Any) -> str:
    for name, value in raw.items() if isinstance(raw, dict) else ():
        try:
            wire.dumps(value)
        except ValueError:
            return str(name)[:64]
    return "event"


def _extra(sender: Sender) -> dict[str, str] | None:
    # Sidekiq passes unknown top-level keys through, so the request id rides along to the
    # processor's logs without touching the event itself.
    return {"correlation_id": sender.request_id} if sender.request_id else None


def _enqueue(rt: Runtime, jobs: list[tuple[int, str, str]], outcome: Outcome) -> None:
    if not jobs:
        return
    started = time.perf_counter()
    outcome.enqueued = len(jobs)
    try:
        failures = rt.queue.push(rt.settings.job.queue, [payload for _, _, payload in jobs])
    except QueueUnavailable:
        failed: dict[int, IngestError] = dict.fromkeys(
            range(len(jobs)), QueueRefused("the queue is unavailable; retry later")
        )
    else:
        failed = {f.index: _refusal(f) for f in failures}
    outcome.enqueue_seconds = time.perf_counter() - started
    for position, (index, event_id, _) in enumerate(jobs):
        if position in failed:
            outcome.rejected.append((index, failed[position]))
        else:
            outcome.accepted.append(event_id)
    outcome.rejected.sort(key=lambda item: item[0])


def _refusal(failure: PushFailure) -> IngestError:
    if failure.retryable:
        return QueueRefused(f"the queue did not take this event ({failure.reason}); retry later")
    return InvalidEvent(f"the queue refused this event: {failure.reason}", field="event")
