"""The SQLite file forgets what DynamoDB's TTL would: raw events after the site's retention,
a bucket with its counters, seal and blobs after the bucket's life, salts after two days."""

from pathlib import Path

from tally_store import sqlite_expiry
from tally_store.base import TOTAL, Bucket, CounterUpdate
from tally_store.buckets import KEEP_SECONDS
from tally_store.sqlite import SQLiteStore

T0 = 1_780_000_000.0
DAY = 86400


def _event(n: int, site: str = "s") -> dict[str, object]:
    return {"event_id": f"e{n}", "site": site, "name": "pageview", "path": "/",
            "event_time": f"2026-05-28T20:{n % 60:02d}:00.000Z"}  # fmt: skip


def _filled(path: Path) -> SQLiteStore:
    store = SQLiteStore(path)
    store.write_events([(_event(n), 1) for n in range(10)] + [(_event(n, "kept"), 30) for n in range(10)], T0)
    minute, hour = Bucket("s", "m", "2026-05-28T20:00"), Bucket("s", "h", "2026-05-28T20")
    store.add_counters([CounterUpdate(b, TOTAL, {"pv": 3}, mark=True) for b in (minute, hour)], T0)
    store.seal(minute, {TOTAL: {"pv": 3}}, T0, 1)
    store.put_blob(minute, "summary", b"x", 1)
    store.daily_salt("2026-05-28", b"salt", T0 + 2 * DAY)
    return store


def test_nothing_goes_before_its_time(tmp_path: Path) -> None:
    store = _filled(tmp_path / "tally.db")
    assert sqlite_expiry.expire(store.db, T0 + DAY - 1) == sqlite_expiry.Expired(0, 0, 0)
    assert len(store.every_event()) == 20


def test_events_salts_and_buckets_go_at_their_expiry(tmp_path: Path) -> None:
    store = _filled(tmp_path / "tally.db")
    done = sqlite_expiry.expire(store.db, T0 + 2 * DAY)
    assert (done.events, done.salts, done.buckets) == (10, 1, 0)
    assert {e["site"] for e in store.every_event()} == {"kept"}
    assert store.daily_salt("2026-05-28", b"new", T0 + 4 * DAY) == b"new"  # the old salt is gone

    minute, hour = Bucket("s", "m", "2026-05-28T20:00"), Bucket("s", "h", "2026-05-28T20")
    done = sqlite_expiry.expire(store.db, T0 + KEEP_SECONDS["m"])
    assert done.buckets == 1
    assert store.blobs([minute], "summary") == {} and store.sealed([minute]) == {}
    assert store.counts([(minute, TOTAL)]).get((minute, TOTAL)) is None
    assert store.counts([(hour, TOTAL)])[(hour, TOTAL)].live == {"pv": 3}


def test_a_run_deletes_a_bounded_number_of_slices(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "tally.db")
    many = sqlite_expiry.SLICE * 2 + 5
    store.write_events([({**_event(n), "event_id": f"x{n}"}, 1) for n in range(many)], T0)
    assert sqlite_expiry.expire(store.db, T0 + 2 * DAY, slices=1).events == sqlite_expiry.SLICE
    assert sqlite_expiry.expire(store.db, T0 + 2 * DAY).events == many - sqlite_expiry.SLICE
    assert store.every_event() == []
