"""Raw event items: packs of events, compressed together.

DynamoDB bills a write unit per started KB of item. One item per event (~600 bytes) cost one
unit per event, $0.625 a million: half of the pipeline's cost per million events. So the events
of one batch that share a partition (site, hour, shard) and a minute go into one item, their
JSON zlib-compressed together: similar events compress about 7x (473 to 64 bytes an event for
realistic traffic, see LEVEL; docs/benchmarks.md has the measured units per event). Reads pay
by bytes too, so the rollup's re-reads shrink as much.

Keys (keys.py): ``pk = site#hour#shard`` as before; ``sk = <newest event's time#id>#<digest
of the pack's event ids>``.
- Sort keys start with the newest event's time and a pack never spans a minute, so a Query
  with ``sk BETWEEN start AND end`` over minute-aligned ranges finds exactly the packs of
  that range, and newest-first reads can tell which events are complete (dashboard/stats.py).
- The digest makes a different set of events a different item. A redelivered event packed
  with other events lands in a new pack instead of overwriting a pack that holds events the
  new one lacks (which would lose them); the same events packed again overwrite the same
  item. An event can therefore sit in two packs after a redelivery: every reader drops
  repeated event ids (``unique_events``), as the rollup always did.

Inside a pack each event is a compact JSON object with short names; ``n`` (event name) and
``p`` (page path) travel inside it too.
"""

import hashlib
import json
import zlib
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from . import keys

Item = dict[str, Any]
# short name in a packed event -> event field
_FIELDS = {
    "id": "event_id", "s": "site", "u": "url", "r": "referrer", "rh": "referrer_host",
    "t": "event_time", "ct": "time", "ra": "received_at", "ip": "ip", "ua": "user_agent",
    "b": "browser", "bv": "browser_version", "os": "os", "d": "device", "bot": "bot",
    "v": "visitor_id", "us": "utm_source", "um": "utm_medium", "uc": "utm_campaign",
    "ut": "utm_term", "ux": "utm_content", "gc": "gclid", "fc": "fbclid", "mc": "msclkid",
    "h": "host", "pr": "properties", "ci": "correlation_id", "n": "name", "p": "path",
    "uid": "user_id", "aid": "anonymous_id",
}  # fmt: skip
_SHORT = {field: short for short, field in _FIELDS.items()}
_LIMITS = {"u": 2048, "r": 2048, "ua": 2048, "h": 2048, "rh": 2048, "s": 2048, "n": 200, "p": 512}
_ENCODE = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
_DECODE = json.JSONDecoder().decode
DAY = 86400
# Uncompressed JSON per pack: well under DynamoDB's 400 KB item limit even if nothing compresses
# (one event is at most 32 KB), and big enough that a busy minute takes few items.
MAX_PACK_BYTES = 256 * 1024
# zlib level 6 (the default), measured on 1,000 realistic events in 8 packs (473 bytes of JSON
# an event): 64 bytes an event in 3.8 µs; level 1: 77 bytes in 1.7 µs; level 9: 61 bytes in 8.3 µs.
LEVEL = 6


def pack(events: Iterable[tuple[dict[str, Any], int]], now: float) -> list[tuple[Item, list[str]]]:
    """Items for (event, retention days) pairs, each with the ids of the events it holds."""
    groups: dict[tuple[str, str], dict[str, tuple[str, str, int]]] = defaultdict(dict)
    for event, retention_days in events:
        pk = keys.event_pk(event["site"], event["event_time"], event["event_id"])
        sk = keys.event_sk(event["event_time"], event["event_id"])
        # A redelivered job can sit in the same batch as its first copy: one copy per pack.
        groups[(pk, event["event_time"][:16])][event["event_id"]] = (sk, _encode(event), retention_days)
    packed = []
    for (pk, _), members in groups.items():
        ordered = sorted(members.items(), key=lambda member: member[1][0])
        for chunk in _chunks(ordered):
            packed.append((_item(pk, chunk, now), [event_id for event_id, _ in chunk]))
    return packed


def events_of(item: Item) -> list[dict[str, Any]]:
    """The events of one pack, as the processor stored them."""
    records: list[dict[str, Any]] = _DECODE(zlib.decompress(item["z"]["B"]).decode())
    return [_expand(record) for record in records]


def unique_events(items: Iterable[Item]) -> Iterator[dict[str, Any]]:
    """Every event of the packs once, though a redelivery may have stored it in two."""
    seen: set[str] = set()
    for item in items:
        for event in events_of(item):
            if event["event_id"] not in seen:
                seen.add(event["event_id"])
                yield event


def redundant(packs: Iterable[Item]) -> list[Item]:
    """The packs of one partition whose every event a pack earlier in a fixed order holds: more
    events first, then by sort key. The order uses only what a pack never changes (its count
    and key), so whatever packs a reader saw, the earliest pack ever holding an event is never
    among these: deleting them loses nothing, however many deleters run at once."""
    seen: set[str] = set()
    found = []
    unique = {pack["sk"]["S"]: pack for pack in packs}  # a pack is never redundant to itself
    for pack in sorted(unique.values(), key=lambda p: (-int(p["c"]["N"]), p["sk"]["S"])):
        ids = {event["event_id"] for event in events_of(pack)}
        if ids <= seen:
            found.append(pack)
        seen |= ids
    return found


def _encode(event: dict[str, Any]) -> str:
    record = {short: event[field] for field, short in _SHORT.items() if event.get(field)}
    record.setdefault("n", "pageview")
    for short, limit in _LIMITS.items():  # only these can be long; the rest are bounded upstream
        if short in record and len(record[short]) > limit:
            record[short] = record[short][:limit]
    return _ENCODE(record)


def _chunks(ordered: Sequence[tuple[str, tuple[str, str, int]]]) -> Iterator[list[tuple[str, tuple[str, str, int]]]]:
    chunk: list[tuple[str, tuple[str, str, int]]] = []
    size = 0
    for member in ordered:
        if chunk and size + len(member[1][1]) > MAX_PACK_BYTES:
            yield chunk
            chunk, size = [], 0
        chunk.append(member)
        size += len(member[1][1]) + 1
    if chunk:
        yield chunk


def _item(pk: str, chunk: list[tuple[str, tuple[str, str, int]]], now: float) -> Item:
    ids = "\n".join(sorted(event_id for event_id, _ in chunk))
    digest = hashlib.blake2b(ids.encode(), digest_size=8).hexdigest()
    body = "[" + ",".join(encoded for _, (_, encoded, _) in chunk) + "]"
    retention = max(days for _, (_, _, days) in chunk)
    return {
        "pk": {"S": pk},
        "sk": {"S": f"{chunk[-1][1][0]}#{digest}"},
        "z": {"B": zlib.compress(body.encode(), LEVEL)},
        "c": {"N": str(len(chunk))},
        "ttl": {"N": str(int(now) + retention * DAY)},
    }


def _expand(record: dict[str, Any]) -> dict[str, Any]:
    event: dict[str, Any] = {field: record.get(short) for short, field in _FIELDS.items()}
    event["name"] = record.get("n") or "pageview"
    event["bot"] = bool(record.get("bot"))
    event["properties"] = record.get("pr") or {}
    return event
