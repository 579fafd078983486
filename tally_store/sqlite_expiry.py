"""What DynamoDB's TTL does for the DynamoDB store, done for the SQLite file: rows past their
``expires`` go. Raw events after the site's retention, a bucket's counters, seals and blobs
after the bucket's life (buckets.KEEP_SECONDS), and the daily salts two days on, after which
nobody can recompute that day's visitor ids from an IP (salts.py).

The expired keys are found by a read (WAL: writers go on meanwhile) and deleted a slice at a
time, each slice its own short write transaction, so the processor never waits long for the
write lock. There is no index on ``expires``: the scan runs once an hour and an index would be
paid on every event written."""

from collections.abc import Iterable
from dataclasses import dataclass

from tally_contract.sqlite_db import Database

SLICE = 2000
# Each table's key columns, the rows of an expired bucket go with it (counters carry no expiry).
_EVENTS = "SELECT site, event_time, event_id FROM events WHERE expires <= ? LIMIT ?"
_BUCKETS = "SELECT site, granularity, bucket FROM buckets WHERE expires <= ? LIMIT ?"
_BUCKET_TABLES = ("counters", "sealed", "blobs", "buckets")


@dataclass
class Expired:
    events: int = 0
    buckets: int = 0
    salts: int = 0


def expire(db: Database, now: float, slices: int = 50) -> Expired:
    """At most ``slices`` x SLICE events and as many buckets a run (the rest next run)."""
    done = Expired()
    with db.write() as conn:
        done.salts = conn.execute("DELETE FROM salts WHERE expires <= ?", (now,)).rowcount
    for _ in range(slices):
        keys = db.rows(_EVENTS, (int(now), SLICE))
        done.events += _delete(db, ["DELETE FROM events WHERE site = ? AND event_time = ? AND event_id = ?"], keys)
        if len(keys) < SLICE:
            break
    for _ in range(slices):
        keys = db.rows(_BUCKETS, (int(now), SLICE))
        statements = [f"DELETE FROM {table} WHERE site = ? AND granularity = ? AND bucket = ?"  # noqa: S608 - fixed names
                      for table in _BUCKET_TABLES]  # fmt: skip
        _delete(db, statements, keys)
        done.buckets += len(keys)
        if len(keys) < SLICE:
            break
    return done


def _delete(db: Database, statements: Iterable[str], keys: list[tuple[str, str, str]]) -> int:
    if not keys:
        return 0
    with db.write() as conn:
        for statement in statements:
            conn.executemany(statement, keys)
    return len(keys)
