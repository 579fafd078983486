"""The tracking event: the one argument of every ProcessRequestJob.

``build`` turns what a client sent into the event Tally queues. The four fields a Rails
producer already sends keep their names (``ip``, ``user_agent``, ``time``, ``url``); the rest
are Tally's. Field order is fixed so equal events encode to equal bytes.
"""

import uuid
from dataclasses import dataclass
from typing import Any

from . import fields
from .errors import FieldError
from .timeutil import format_iso, parse_time

MAX_EVENT_BYTES = 32 * 1024
DEFAULT_NAME = "pageview"
CLIENT_FIELDS = frozenset(
    {"event_id", "name", "url", "referrer", "time", "sent_at", "properties", "user_id", "anonymous_id"}
)
# Queued only when set, after the others: an event without them encodes as it always did.
IDENTITY_FIELDS = ("user_id", "anonymous_id")
SERVER_FIELDS = frozenset({"ip", "user_agent"})
# How far ahead of its receipt an event may be dated: clocks drift, and a client's may be a
# little fast without ``sent_at`` to correct it. Within this it is clamped to the receipt.
FUTURE_SKEW_SECONDS = 300.0


@dataclass(frozen=True)
class Origin:
    """What the server knows about the request an event came in."""

    site: str
    received_at: float
    ip: str | None
    user_agent: str | None
    server_sender: bool = False  # authenticated with the site's secret key
    # How far before its receipt an event may be dated (ingest: the site's window for this
    # sender, docs/event-contract.md); None: any time.
    max_age_seconds: float | None = None


def build(raw: Any, origin: Origin) -> dict[str, Any]:
    """Validate ``raw`` and return the event to queue. Raises FieldError for the first bad field."""
    if not isinstance(raw, dict):
        raise FieldError("event", f"must be a JSON object, not {fields.json_type(raw)}")
    _check_keys(raw, origin.server_sender)
    name = fields.name(raw["name"]) if raw.get("name") is not None else DEFAULT_NAME
    url = fields.optional_url("url", raw.get("url"))
    if url is None and name == DEFAULT_NAME:
        raise FieldError("url", "is required for a pageview")
    client_time = _optional_time("time", raw.get("time"))
    sent_at = _optional_time("sent_at", raw.get("sent_at"))
    event = {
        "event_id": fields.event_id(raw["event_id"]) if raw.get("event_id") else str(uuid.uuid4()),
        "site": origin.site,
        "name": name,
        "url": url,
        "referrer": fields.optional_url("referrer", raw.get("referrer")),
        "time": format_iso(client_time) if client_time is not None else None,
        "sent_at": format_iso(sent_at) if sent_at is not None else None,
        "received_at": format_iso(origin.received_at),
        "event_time": format_iso(_event_time(client_time, sent_at, origin)),
        "ip": fields.ip(raw["ip"]) if raw.get("ip") is not None else origin.ip,
        "user_agent": _user_agent(raw, origin),
        "properties": fields.properties(raw.get("properties")),
    }
    for field in IDENTITY_FIELDS:
        if raw.get(field) is not None:
            event[field] = fields.identifier(field, raw[field])
    return event


def _event_time(client_time: float | None, sent_at: float | None, origin: Origin) -> float:
    """``received_at - (sent_at - time)``: the client's clock error cancels out. Refused when
    it falls outside what the sender may report; an event cannot have happened after it was
    received, so a time within the skew allowance is clamped to the receipt."""
    if client_time is None:
        return origin.received_at
    unclamped = origin.received_at - (sent_at - client_time) if sent_at is not None else client_time
    if unclamped > origin.received_at + FUTURE_SKEW_SECONDS:
        raise FieldError("time", f"is more than {FUTURE_SKEW_SECONDS:.0f} s after the event was received")
    limit = origin.max_age_seconds
    if limit is not None and unclamped < origin.received_at - limit:
        oldest = format_iso(origin.received_at - limit)
        raise FieldError("time", f"is before {oldest}: this sender may date events at most {limit / 3600:g} hours back")
    return min(unclamped, origin.received_at)


def _check_keys(raw: dict[str, Any], server_sender: bool) -> None:
    for key in raw:
        if key in CLIENT_FIELDS:
            continue
        if key in SERVER_FIELDS:
            if not server_sender and raw[key] is not None:
                raise FieldError(key, "may only be set by a server sender (Authorization: Bearer <secret key>)")
            continue
        raise FieldError(str(key)[:64], "is not a known field")


def _optional_time(field: str, value: Any) -> float | None:
    return None if value is None else parse_time(field, value)


def _user_agent(raw: dict[str, Any], origin: Origin) -> str | None:
    if raw.get("user_agent") is not None:
        return fields.user_agent(raw["user_agent"])
    if origin.user_agent is None:
        return None
    # A browser's header is not the client's to choose a size for; cut it rather than refuse.
    return fields.user_agent(origin.user_agent[: fields.MAX_USER_AGENT])
