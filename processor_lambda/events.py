"""Turn a job's argument into the event the processor stores.

Tally's ingest sends complete events. A Rails producer's ``ProcessRequestJob`` carries only
``ip``, ``user_agent``, ``url`` and ``time``: the rest is derived here, deterministically from
the job, so a redelivered job becomes the same event (and the same stored item).
"""

import uuid
from typing import Any

from tally_contract import fields
from tally_contract.envelope import Job
from tally_contract.errors import FieldError
from tally_contract.timeutil import format_iso, parse_time

from .results import JobFailed

# Event ids derived from Sidekiq jids live in their own UUID namespace.
_JID_NAMESPACE = uuid.UUID("7c1f3a52-6a8e-4f0e-9d59-2f1a0e5b8c11")


def from_job(job: Job, default_site: str | None) -> dict[str, Any]:
    arguments = job.arguments
    if len(arguments) != 1 or not isinstance(arguments[0], dict):
        raise JobFailed("ProcessRequestJob takes one hash argument", retryable=False)
    try:
        event = _normalise(arguments[0], job, default_site)
    except FieldError as exc:
        raise JobFailed(f"invalid event: {exc}", retryable=False) from None
    # The API request that accepted the event rides on the job (not in the event): keep it
    # with the stored event so a log line of either end leads to the other.
    correlation_id = job.payload.get("correlation_id")
    if isinstance(correlation_id, str) and correlation_id:
        event = {**event, "correlation_id": correlation_id[:64]}  # a copy: the job stays as it came
    return event


def _normalise(raw: dict[str, Any], job: Job, default_site: str | None) -> dict[str, Any]:
    event_time = raw.get("event_time")
    if isinstance(event_time, str) and len(event_time) == 24 and _has_ingest_fields(raw):
        # Written by Tally's ingest, which validated every field: take it as it is.
        return raw
    return _from_producer(raw, job, default_site)


def _has_ingest_fields(raw: dict[str, Any]) -> bool:
    return isinstance(raw.get("event_id"), str) and isinstance(raw.get("site"), str) and "received_at" in raw


def _from_producer(raw: dict[str, Any], job: Job, default_site: str | None) -> dict[str, Any]:
    site = raw.get("site") or default_site
    if not site or not isinstance(site, str):
        raise FieldError("site", "is missing and TALLY_DEFAULT_SITE is not set")
    received = _received_at(raw, job)
    client_time = _time(raw.get("time"))
    event_time = raw.get("event_time") or format_iso(client_time if client_time is not None else received)
    return {
        "event_id": str(raw.get("event_id") or uuid.uuid5(_JID_NAMESPACE, job.jid or job.encode())),
        "site": site,
        "name": raw.get("name") or "pageview",
        "url": fields.optional_url("url", raw.get("url")),
        "referrer": fields.optional_url("referrer", raw.get("referrer")) if raw.get("referrer") else None,
        "time": format_iso(client_time) if client_time is not None else None,
        "sent_at": raw.get("sent_at"),
        "received_at": format_iso(received),
        "event_time": format_iso(parse_time("event_time", event_time)),
        "ip": raw.get("ip"),
        "user_agent": raw.get("user_agent"),
        "properties": raw.get("properties") if isinstance(raw.get("properties"), dict) else {},
    }


def _received_at(raw: dict[str, Any], job: Job) -> float:
    if raw.get("received_at"):
        return parse_time("received_at", raw["received_at"])
    stamp = job.payload.get("enqueued_at") or job.payload.get("created_at")
    if isinstance(stamp, int | float) and not isinstance(stamp, bool):
        return parse_time("enqueued_at", stamp)
    raise FieldError("received_at", "is missing and the job has no enqueued_at")


def _time(value: Any) -> float | None:
    return None if value is None else parse_time("time", value)
