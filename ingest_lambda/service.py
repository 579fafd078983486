"""Accept events: authenticate the site, validate each event, queue the valid ones.

Knows nothing of Chalice: it takes the parsed body and what the request said about itself,
and returns an Outcome the HTTP layer turns into a response.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tally_contract import envelope, event, wire
from tally_contract.errors import FieldError, QueueUnavailable, StoreUnavailable
from tally_contract.queues import PushFailure
from tally_contract.sites import Site

from . import privacy
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
    tracking_refused: bool = False  # DNT: 1 or Sec-GPC: 1
    country: str | None = None  # the edge's CloudFront-Viewer-Country: where the request came from


@dataclass
class Outcome:
    is_batch: bool
    accepted: list[str] = field(default_factory=list)
    rejected: list[tuple[int, IngestError]] = field(default_factory=list)
    enqueued: int = 0
    enqueue_seconds: float = 0.0
    dropped: int = 0  # not queued on purpose: the site respects Do Not Track and the sender asked

    @property
    def status(self) -> int:
        if self.dropped:
            return 204
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


def authenticate(rt: Runtime, sender: Sender, *, key_field: str = "key") -> tuple[Site, bool]:
    """The sender's site, and whether it proved it holds the secret key. ``key_field`` is
    where the client's wire format carries the key, for the 401's ``field``."""
    if not sender.write_key:
        raise Unauthorized('missing write key: send X-Tally-Key, ?key= or "key" in the body', field=key_field)
    site = _lookup(lambda: rt.sites.by_write_key(sender.write_key[:128] if sender.write_key else ""))
    if site is None:
        raise Unauthorized("unknown write key", field=key_field)
    return site, check_sender(site, sender)


def authenticate_domain(rt: Runtime, domain: str, sender: Sender) -> tuple[Site, bool]:
    """The site a domain names (Plausible's Events API carries no key)."""
    site = _lookup(lambda: rt.sites.by_domain(domain))
    if site is None:
        raise Unauthorized(f"no site has the domain {domain[:100]!r}", field="domain")
    return site, check_sender(site, sender)


def check_sender(site: Site, sender: Sender) -> bool:
    """Whether the sender proved it holds the site's secret key; a browser's origin must be allowed."""
    if sender.secret is not None and not site.secret_matches(sender.secret):
        raise Unauthorized("secret key does not match this site", field="Authorization")
    server_sender = sender.secret is not None
    if sender.origin and not server_sender and not site.allows_origin(sender.origin):
        raise OriginNotAllowed(f"origin {sender.origin[:200]!r} is not allowed for this site", field="Origin")
    return server_sender


def _lookup(find: Callable[[], Site | None]) -> Site | None:
    try:
        return find()
    except StoreUnavailable:
        raise QueueRefused("site settings are unavailable; retry later") from None


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
    batch = Batch(raw_events, is_batch, batch_sent_at)
    return accept_events(rt, site, server_sender, sender, batch)


@dataclass(frozen=True)
class Batch:
    """What one request carries: raw events in a client's format, and how to read them.
    ``mapper`` turns one into a Tally event dict (event.build's input); its FieldError rejects
    that event alone. The size limit applies to each raw event, as the client sent it."""

    raw_events: list[Any]
    is_batch: bool
    sent_at: Any = None
    mapper: Callable[[Any], Any] | None = None


def accept_events(rt: Runtime, site: Site, server_sender: bool, sender: Sender, batch: Batch) -> Outcome:
    """Queue a request's events for an authenticated site; the Outcome says what happened to each."""
    outcome = Outcome(batch.is_batch)
    if sender.tracking_refused and site.respect_dnt:
        outcome.dropped = len(batch.raw_events)
        return outcome
    if not rt.limiter.allow(site.site_id, site.rate_limit, cost=len(batch.raw_events)):
        raise RateLimited(f"site {site.site_id} is over its rate limit of {site.rate_limit} events/s")
    now = rt.clock()
    origin = event.Origin(site.site_id, now, sender.ip, sender.user_agent, server_sender,
                          max_age_seconds=site.max_event_age_seconds(server_sender))  # fmt: skip
    jobs: list[tuple[int, str, str]] = []  # (index, event_id, encoded job)
    for index, raw in enumerate(batch.raw_events):
        try:
            built = _build(raw, origin, batch)
        except IngestError as exc:
            outcome.rejected.append((index, exc))
            continue
        # The edge's country is the sender's: it describes the event only if the event's IP is
        # the sender's own (a server relaying its visitors' events sends their IPs).
        edge_country = sender.country if built.get("ip") == sender.ip else None
        built = privacy.reduce(built, site, rt.salts, now, edge_country)
        job = envelope.build([built], rt.settings.job, extra=_extra(sender), clock=rt.clock)
        jobs.append((index, built["event_id"], envelope.encode(job)))
    _enqueue(rt, jobs, outcome)
    return outcome


def _build(raw: Any, origin: event.Origin, batch: Batch) -> dict[str, Any]:
    try:
        size = len(wire.dumps(raw).encode("utf-8", "surrogatepass"))
    except RecursionError:
        raise InvalidEvent("event is nested too deeply", field="event") from None
    except ValueError:  # JSON reads 1e999 as infinity, which no job may carry
        raise InvalidEvent("a number is out of range", field=_unencodable_field(raw)) from None
    if size > MAX_EVENT_BYTES:
        raise TooLarge(f"event is {size} bytes; the limit is {MAX_EVENT_BYTES}", field="event")
    try:
        mapped = batch.mapper(raw) if batch.mapper is not None else raw
        if isinstance(mapped, dict) and batch.sent_at is not None and "sent_at" not in mapped:
            mapped = {**mapped, "sent_at": batch.sent_at}
        return event.build(mapped, origin)
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
