"""Raw events in DynamoDB: packs of events, compressed together.

DynamoDB bills a write unit per started KB of item. One item per event (~600 bytes) cost one
unit per event, $0.625 a million: half of the pipeline's cost per million events. So the events
of one write that share a partition (site, hour, shard) and a minute go into one item, their
JSON zlib-compressed together: similar events compress about 7x (docs/benchmarks.md has the
measured units per event). Reads pay by bytes too, so the rollup's reads shrink as much.

Keys: ``pk = site#YYYY-MM-DDTHH#shard`` (shard = CRC-32 of the event id mod SHARDS: an event
always lands in the same partition, and a busy site spreads over SHARDS partitions an hour);
``sk = <newest event's time#id>#<digest of the pack's event ids>``.
- A pack never spans a minute and its sort key starts with its newest event's time, so a Query
  with ``sk BETWEEN start AND end`` over minute-aligned ranges finds exactly that range's packs.
- The digest makes a different set of events a different item. A redelivered event packed
  with other events lands in a new pack instead of overwriting a pack that holds events the
  new one lacks (which would lose them); the same events packed again overwrite the same
  item. An event can therefore sit in two packs: readers keep one copy per event id.
"""

import hashlib
import json
import zlib
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from . import records
from .base import Event

Item = dict[str, Any]
SHARDS = 4
DAY = 86400
# Uncompressed JSON per pack: well under DynamoDB's 400 KB item limit even if nothing compresses
# (one event is at most 32 KB), and big enough that a busy minute takes few items.
MAX_PACK_BYTES = 256 * 1024
# zlib level 6 (the default), measured on 1,000 realistic events in 8 packs: 64 bytes an event
# in 3.8 µs; level 1: 77 bytes in 1.7 µs; level 9: 61 bytes in 8.3 µs.
LEVEL = 6
_ENCODE = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
_DECODE = json.JSONDecoder().decode
Member = tuple[str, tuple[str, str, int]]  # event id -> (sort key, encoded event, retention days)


def shard(event_id: str) -> int:
    # CRC-32: evenly spread, stable across processes (unlike hash()), and cheap per event.
    return zlib.crc32(event_id.encode()) % SHARDS


def partition(site: str, hour: str, shard_number: int) -> str:
    return f"{site}#{hour}#{shard_number:02d}"


def event_sk(event_time: str, event_id: str) -> str:
    return f"{event_time}#{event_id}"


def pack(events: Iterable[tuple[Event, int]], now: float) -> list[tuple[Item, list[str]]]:
    """Items for (event, retention days) pairs, each with the ids of the events it holds."""
    groups: dict[tuple[str, str], dict[str, tuple[str, str, int]]] = defaultdict(dict)
    for event, retention_days in events:
        event_id, event_time = event["event_id"], event["event_time"]
        pk = partition(event["site"], event_time[:13], shard(event_id))
        # A redelivered job can sit in the same batch as its first copy: one copy per pack, the
        # earliest (a client's resend in the same minute has a later time; readers keep the earliest).
        held = groups[(pk, event_time[:16])].get(event_id)
        if held is None or event_sk(event_time, event_id) < held[0]:
            groups[(pk, event_time[:16])][event_id] = (event_sk(event_time, event_id), _encode(event), retention_days)
    packed = []
    for (pk, _), members in groups.items():
        ordered = sorted(members.items(), key=lambda member: member[1][0])
        for chunk in _chunks(ordered):
            packed.append((_item(pk, chunk, now), [event_id for event_id, _ in chunk]))
    return packed


def events_of(item: Item) -> list[Event]:
    """The events of one pack, as the processor stored them."""
    return [records.from_record(record) for record in _DECODE(zlib.decompress(item["z"]["B"]).decode())]


def unique_events(items: Iterable[Item]) -> Iterator[Event]:
    """Every event of the packs once, though a redelivery may have stored it in two."""
    seen: set[str] = set()
    for item in items:
        for event in events_of(item):
            if event["event_id"] not in seen:
                seen.add(event["event_id"])
                yield event


def count(item: Item) -> int:
    return int(item["c"]["N"])


def redundant(packs: Iterable[Item]) -> list[Item]:
    """The packs of one partition whose every event a pack earlier in a fixed order holds: more
    events first, then by sort key. The order uses only what a pack never changes (its count
    and key), so whatever packs a reader saw, the earliest pack ever holding an event is never
    among these: deleting them loses nothing, however many deleters run at once."""
    seen: set[str] = set()
    found = []
    unique = {pack["sk"]["S"]: pack for pack in packs}  # a pack is never redundant to itself
    for pack in sorted(unique.values(), key=lambda p: (-count(p), p["sk"]["S"])):
        ids = {event["event_id"] for event in events_of(pack)}
        if ids <= seen:
            found.append(pack)
        seen |= ids
    return found


def _encode(event: Event) -> str:
    return _ENCODE(records.to_record(event))


def _chunks(ordered: Sequence[Member]) -> Iterator[list[Member]]:
    chunk: list[Member] = []
    size = 0
    for member in ordered:
        if chunk and size + len(member[1][1]) > MAX_PACK_BYTES:
            yield chunk
            chunk, size = [], 0
        chunk.append(member)
        size += len(member[1][1]) + 1
    if chunk:
        yield chunk


def _item(pk: str, chunk: list[Member], now: float) -> Item:
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
