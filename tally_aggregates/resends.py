"""Client resends count once. A client that resends an event after a timeout gives it the same
``event_id`` but a later time, so the copy can land in another minute, hour or day. The rule,
the same in the rollup and the oracle: a copy counts only if no other copy of its event id
arrived earlier in its own hour or in the 24 hours before its hour.

The same minute: the store keeps the earliest copy of an id (tally_store.records.earliest).
The same hour: its derivation sees every minute's ids. Earlier hours: each derived hour keeps
its ids (blob ``ids``), and an hour's derivation reads those of the 24 hours before it. A
later copy found this way is excluded from its minute (blob ``excluded``, read when the minute
is sealed), and the minute is sealed again. When an hour's ids change after the fact (a late
event), the derived hours of the next 24 re-derive, so the rule also holds backwards.
"""

import zlib
from collections.abc import Iterable, Sequence

from tally_store.base import Bucket

LOOKBACK_HOURS = 24
IDS, EXCLUDED = "ids", "excluded"


def encode(ids: Iterable[str]) -> bytes:
    return zlib.compress("\n".join(sorted(set(ids))).encode(), 6)


def decode(blob: bytes | None) -> set[str]:
    if not blob:
        return set()
    text = zlib.decompress(blob).decode()
    return set(text.split("\n")) if text else set()


def later_copies(minutes: Sequence[tuple[Bucket, Sequence[str]]], earlier: set[str]) -> dict[Bucket, set[str]]:
    """Per minute of an hour (in time order), its ids already seen: in ``earlier`` (the ids of
    the 24 hours before) or in an earlier minute of the hour."""
    seen = set(earlier)
    found: dict[Bucket, set[str]] = {}
    for bucket, ids in sorted(minutes):
        found[bucket] = {event_id for event_id in ids if event_id in seen}
        seen.update(ids)
    return found
