"""The raw-event export's parts (tally_export/parts.py) over the in-memory and SQLite stores:
50,000 events exported with a small part size come back each exactly once, in order, split
inside busy hours; every part is a complete gzip member under its size; the builder's peak
memory (tracemalloc) stays at about one hour of events, not the range's."""

import gzip
import time
import tracemalloc
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tally_export import parts, records
from tally_store import buckets
from tally_store.base import TOTAL, CounterUpdate, Event, Store
from tally_store.memory import MemoryStore
from tally_store.sqlite import SQLiteStore

START = datetime(2026, 11, 20, tzinfo=UTC)
HOURS = 25
COUNT = 50_000
NOW = (START + timedelta(days=3)).timestamp()


def event(n: int) -> Event:
    at = START + timedelta(seconds=n * HOURS * 3600 / COUNT)
    return {"event_id": f"e{n:06d}", "site": "shop", "name": "pageview" if n % 3 else "signup",
            "event_time": buckets.iso(at), "received_at": buckets.iso(at), "path": f"/p/{n % 97}",
            "url": f"https://shop.example.com/p/{n % 97}", "host": "shop.example.com", "visitor_id": f"v{n % 501}",
            "browser": "Chrome", "os": "Linux", "device": "Desktop", "country": "DE", "ip": "203.0.113.9",
            "user_agent": "Mozilla/5.0", "bot": False, "properties": {"plan": "pro", "n": n}}  # fmt: skip


def filled(store: Store) -> Store:
    made = [event(n) for n in range(COUNT)]
    for i in range(0, COUNT, 5000):
        assert store.write_events([(e, 30) for e in made[i : i + 5000]], NOW).wait() == []
    assert store.add_counters(totals(made), NOW) == []
    return store


def totals(events: list[Event]) -> list[CounterUpdate]:
    """The hour and day total rows the processor would have added (where readers look first)."""
    found = Counter((g, buckets.bucket_id(g, e["event_time"])) for e in events for g in ("h", "d"))
    return [CounterUpdate(buckets.of("shop", g, bucket), TOTAL, {"ev": n}) for (g, bucket), n in found.items()]


@pytest.fixture(params=["memory", "sqlite"], scope="module")
def store(request: Any, tmp_path_factory: Any) -> Store:
    if request.param == "memory":
        return filled(MemoryStore())
    return filled(SQLiteStore(str(Path(tmp_path_factory.mktemp("export")) / "tally.db")))


def export(store: Store, window: tuple[datetime, datetime], part_bytes: int) -> list[parts.Part]:
    made, at = [], None
    while True:
        made.append(parts.part(store, "shop", window, at, part_bytes=part_bytes, clock=lambda: NOW))
        at = made[-1].next
        if at is None:
            return made
        at = parts.position_of(at.cursor(), *window)  # as a client sends it back


def test_every_event_once_in_order_whatever_the_part_size(store: Store) -> None:
    window = (START, START + timedelta(days=2))
    started = time.perf_counter()
    made = export(store, window, 64 * 1024)
    seconds = time.perf_counter() - started
    size = sum(len(p.body) for p in made)
    print(f"\n[export] {COUNT} events, {len(made)} parts, {size / 2**20:.1f} MB gzipped, "
          f"{size / 2**20 / seconds:.2f} MB/s gzipped, {COUNT / seconds:,.0f} events/s")  # fmt: skip
    assert all(len(p.body) <= 64 * 1024 for p in made)
    assert all(gzip.decompress(p.body) is not None for p in made)  # each a complete member
    lines = records.read(b"".join(p.body for p in made))
    assert [line["event_id"] for line in lines] == [f"e{n:06d}" for n in range(COUNT)]
    assert lines[7] == records.exported(event(7)) and "ip" not in lines[7]
    assert sum(p.events for p in made) == COUNT
    assert len(made) >= 10 and all(p.next.after for p in made[:-1] if p.next)  # parts split inside hours
    assert sum(p.hours_read for p in made) <= HOURS + len(made)  # an hour is read again only where it splits


def test_a_window_inside_hours_keeps_only_its_events(store: Store) -> None:
    window = (START + timedelta(minutes=90), START + timedelta(hours=3, minutes=7))
    lines = records.read(b"".join(p.body for p in export(store, window, parts.PART_BYTES)))
    low, high = buckets.iso(window[0]), buckets.iso(window[1])
    want = [e["event_id"] for e in map(event, range(COUNT)) if low <= e["event_time"] < high]
    assert [line["event_id"] for line in lines] == want and want


def peak_of(store: Store, part_bytes: int) -> tuple[parts.Part, int]:
    window = (START, START + timedelta(days=2))
    tracemalloc.start()
    try:
        made = parts.part(store, "shop", window, part_bytes=part_bytes, clock=lambda: NOW)
        return made, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_part_holds_about_one_hour_in_memory(store: Store) -> None:
    """A small part reads an hour or two: its peak is an hour's events, whatever the range holds;
    a full part (PART_HOURS hours) adds their event ids and its body."""
    peak_of(store, 64 * 1024)  # imports and caches warmed
    small, small_peak = peak_of(store, 256 * 1024)
    full, full_peak = peak_of(store, parts.PART_BYTES)
    whole = sum(len(records.line(event(n))) for n in range(COUNT))
    print(f"\n[export] peak {small_peak / 2**20:.1f} MB for a part of {small.events} events, {full_peak / 2**20:.1f} "
          f"MB for one of {full.events}; the range's NDJSON {whole / 2**20:.1f} MB")  # fmt: skip
    assert small.hours_read < 10 and full.hours_read == parts.PART_HOURS
    assert small_peak < 16 * 2**20 and small_peak < whole / 2
    assert full_peak < whole


def test_cursors_of_other_ranges_are_refused() -> None:
    window = (START, START + timedelta(hours=5))
    outside = parts.Position("2026-11-21T00").cursor()
    for cursor in ("!!", outside, parts.Position("2026-11-20T01", "2026-11-20T02:00:00.000Z#e1").cursor()):
        with pytest.raises(parts.BadCursor):
            parts.position_of(cursor, *window)
    assert parts.position_of(parts.Position("2026-11-20T04").cursor(), *window).hour == "2026-11-20T04"
