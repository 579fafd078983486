"""Raw event items.

Only what a query filters on is its own attribute (``n`` event name, ``p`` page path, plus the
keys and ``ttl``); everything else travels in one compact JSON attribute ``e`` with short
names. Fewer attributes make BatchWriteItem cheaper to serialize (botocore walks every
attribute) and keep an item under 1 KB, one write unit.
"""

import json
from typing import Any

from . import keys

# short name in ``e`` -> event field
_FIELDS = {
    "id": "event_id", "s": "site", "u": "url", "r": "referrer", "rh": "referrer_host",
    "t": "event_time", "ct": "time", "ra": "received_at", "ip": "ip", "ua": "user_agent",
    "b": "browser", "bv": "browser_version", "os": "os", "d": "device", "bot": "bot",
    "v": "visitor_id", "us": "utm_source", "um": "utm_medium", "uc": "utm_campaign",
    "ut": "utm_term", "ux": "utm_content", "gc": "gclid", "fc": "fbclid", "mc": "msclkid",
    "h": "host", "pr": "properties", "ci": "correlation_id",
}  # fmt: skip
_SHORT = {field: short for short, field in _FIELDS.items()}
_LONG = ("u", "r", "ua", "h", "rh", "s")
_ENCODE = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
DAY = 86400
MAX_TEXT = 2048


def to_item(event: dict[str, Any], retention_days: int, now: float) -> dict[str, Any]:
    packed = {short: event[field] for field, short in _SHORT.items() if event.get(field)}
    for short in _LONG:  # only these can be long; the rest are bounded where they are made
        if short in packed and len(packed[short]) > MAX_TEXT:
            packed[short] = packed[short][:MAX_TEXT]
    item: dict[str, Any] = {
        "pk": {"S": keys.event_pk(event["site"], event["event_time"], event["event_id"])},
        "sk": {"S": keys.event_sk(event["event_time"], event["event_id"])},
        "n": {"S": str(event.get("name") or "pageview")[:200]},
        "e": {"S": _ENCODE(packed)},
        "ttl": {"N": str(int(now) + retention_days * DAY)},
    }
    if event.get("path"):
        item["p"] = {"S": str(event["path"])[:512]}
    return item


def from_item(item: dict[str, Any]) -> dict[str, Any]:
    packed = json.loads(item["e"]["S"])
    event: dict[str, Any] = {field: packed.get(short) for short, field in _FIELDS.items()}
    event["name"] = item["n"]["S"]
    event["path"] = item.get("p", {}).get("S")
    event["bot"] = bool(packed.get("bot"))
    event["properties"] = packed.get("pr") or {}
    return event
