"""The stored form of an event, the same in every store: what the processor's enriched event
keeps (less what is only in transit, such as ``sent_at``), falsy values left out, free text
cut to bounded lengths; read back with every field present."""

from collections.abc import Iterable
from typing import Any

from .base import Event

FIELDS = (
    "event_id", "site", "name", "url", "path", "host", "referrer", "referrer_host", "event_time", "time",
    "received_at", "ip", "user_agent", "browser", "browser_version", "os", "os_version", "device", "bot",
    "visitor_id", "country",
    "utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content", "gclid", "fbclid", "msclkid",
    "properties", "correlation_id", "user_id", "anonymous_id",
)  # fmt: skip
_LIMITS = {"url": 2048, "referrer": 2048, "user_agent": 2048, "host": 2048, "referrer_host": 2048, "site": 2048,
           "name": 200, "path": 512}  # fmt: skip
_EMPTY: dict[str, Any] = dict.fromkeys(FIELDS)


def to_record(event: Event) -> dict[str, Any]:
    record = {name: event[name] for name in FIELDS if event.get(name)}
    for name, limit in _LIMITS.items():
        value = record.get(name)
        if isinstance(value, str) and len(value) > limit:
            record[name] = value[:limit]
    return record


def earliest(events: Iterable[Event]) -> list[Event]:
    """One copy per event id, the one with the earliest event time: a redelivery stores the same
    copy again, a client's resend a copy with a later time (the rollup counts the earliest)."""
    chosen: dict[str, Event] = {}
    for event in events:
        held = chosen.get(event["event_id"])
        if held is None or event["event_time"] < held["event_time"]:
            chosen[event["event_id"]] = event
    return list(chosen.values())


def from_record(record: dict[str, Any]) -> Event:
    event = {**_EMPTY, **record}
    event["name"] = event["name"] or "pageview"
    event["bot"] = bool(event["bot"])
    event["properties"] = event["properties"] or {}
    return event
