"""A durable local queue in one SQLite file (``sqlite://<path>``): Sidekiq's queues and its
retry, schedule and dead sets as two tables, every job's bytes kept exactly as pushed.

- ``jobs``: one row per queued job: ``queue``, ``body`` (the Sidekiq job JSON, as pushed),
  ``enqueued_at``, ``visible_at`` (0 when ready; while a consumer holds it, when its lease
  ends), ``owner`` and ``receives`` (bumped by every take: the lease's fencing token).
- ``sets``: Sidekiq's sorted sets by ``name`` (``retry``, ``schedule``, ``dead``): a member
  (the job as rewritten for it) and its score (epoch seconds).

Nothing taken is lost: ``take`` leases jobs (one transaction sets owner, lease end and
``receives``) instead of removing them. ``settle`` removes a job only if the lease is still
the one taken (``id`` and ``receives`` match) and, in the same transaction, writes where it
goes (nowhere when done, the retry or dead set, or back to ready). A consumer that dies holds
its jobs until the lease ends (or until ``release`` gives them back at once); the next take
gets them again, and its token makes the dead consumer's late settle a no-op. So a job is
either ready, leased, or in a set, never none of them: at-least-once, as SQS and Sidekiq's
reliable fetch (the pipeline is idempotent).

A push is one transaction with ``synchronous=FULL``: when it returns (and ingest answers 2xx),
the jobs are on disk.
"""

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import QueueUnavailable
from ..sqlite_db import Database
from .base import PushFailure

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
  id INTEGER PRIMARY KEY AUTOINCREMENT, queue TEXT NOT NULL, body BLOB NOT NULL, enqueued_at REAL NOT NULL,
  visible_at REAL NOT NULL DEFAULT 0, owner TEXT, receives INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS jobs_ready ON jobs (queue, visible_at, id);
CREATE TABLE IF NOT EXISTS sets (
  id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, member BLOB NOT NULL, score REAL NOT NULL);
CREATE INDEX IF NOT EXISTS sets_due ON sets (name, score)
"""
DEAD = "dead"


@dataclass(frozen=True, order=True)
class Taken:
    """A leased job: ``id`` and ``receives`` identify this lease; ``body`` is as pushed."""

    id: int
    receives: int
    queue: str
    body: bytes


@dataclass(frozen=True)
class Settled:
    """How to settle one taken job: ``kind`` is ack, retry, dead or requeue; retry and dead
    store ``member`` with ``score`` in that set."""

    job: Taken
    kind: str
    member: str | bytes = b""
    score: float = 0.0


class SqliteQueue:
    def __init__(self, path: str | Path) -> None:
        self.db = Database(path, schema=SCHEMA, error=QueueUnavailable)

    @classmethod
    def from_url(cls, url: str, **_: Any) -> "SqliteQueue":
        """``sqlite:///abs/queue.db`` or ``sqlite://.tally/queue.db``."""
        return cls(url.removeprefix("sqlite://"))

    # -- the Queue protocol -----------------------------------------------------------------
    def push(self, queue: str, payloads: Sequence[str]) -> list[PushFailure]:
        now = time.time()
        with self.db.write() as conn:
            conn.executemany(
                "INSERT INTO jobs (queue, body, enqueued_at) VALUES (?, ?, ?)",
                [(queue, payload.encode("utf-8"), now) for payload in payloads],
            )
        return []

    def ping(self) -> None:
        self.db.rows("SELECT 1 FROM jobs LIMIT 1")

    # -- consuming ----------------------------------------------------------------------------
    def take(self, queues: Sequence[str], limit: int, owner: str, lease: float) -> list[Taken]:
        """Lease up to ``limit`` ready jobs, the queues in priority order, oldest first."""
        now, taken = time.time(), list[Taken]()
        with self.db.write() as conn:
            for name in queues:
                if len(taken) >= limit:
                    break
                found = conn.execute(
                    "UPDATE jobs SET owner = ?, visible_at = ?, receives = receives + 1 WHERE id IN"
                    " (SELECT id FROM jobs WHERE queue = ? AND visible_at <= ? ORDER BY visible_at, id LIMIT ?)"
                    " RETURNING id, receives, body",
                    (owner, now + lease, name, now, limit - len(taken)),
                )
                taken += sorted(Taken(i, receives, name, bytes(body)) for i, receives, body in found)
        return taken

    def extend(self, jobs: Sequence[Taken], lease: float) -> int:
        """Push the lease of jobs still held further out; how many were still held."""
        until = time.time() + lease
        with self.db.write() as conn:
            return sum(
                conn.execute(
                    "UPDATE jobs SET visible_at = ? WHERE id = ? AND receives = ?", (until, job.id, job.receives)
                ).rowcount
                for job in jobs
            )

    def settle(self, outcomes: Sequence[Settled], *, dead_cutoff: float, dead_keep: int) -> int:
        """Apply outcomes to the jobs still held under their lease; how many were."""
        settled, dead = 0, False
        with self.db.write() as conn:
            for outcome in outcomes:
                key = (outcome.job.id, outcome.job.receives)
                if outcome.kind == "requeue":
                    moved = conn.execute(
                        "UPDATE jobs SET owner = NULL, visible_at = 0 WHERE id = ? AND receives = ?", key
                    )
                    settled += moved.rowcount
                    continue
                if conn.execute("DELETE FROM jobs WHERE id = ? AND receives = ?", key).rowcount != 1:
                    continue  # the lease ended and someone else holds it now
                settled += 1
                if outcome.kind in ("retry", DEAD):
                    member = _bytes(outcome.member)
                    conn.execute("INSERT INTO sets (name, member, score) VALUES (?, ?, ?)",
                                 (outcome.kind, member, outcome.score))  # fmt: skip
                    dead = dead or outcome.kind == DEAD
            if dead:  # Sidekiq's trim of the dead set: by age, then by size
                conn.execute("DELETE FROM sets WHERE name = 'dead' AND score < ?", (dead_cutoff,))
                conn.execute(
                    "DELETE FROM sets WHERE name = 'dead' AND id NOT IN"
                    " (SELECT id FROM sets WHERE name = 'dead' ORDER BY score DESC, id DESC LIMIT ?)",
                    (dead_keep,),
                )
        return settled

    def owners(self) -> list[str]:
        """Who holds leased jobs now."""
        return [owner for (owner,) in self.db.rows("SELECT DISTINCT owner FROM jobs WHERE owner IS NOT NULL"
                                                     " AND visible_at > ?", (time.time(),))]  # fmt: skip

    def release(self, owner: str) -> int:
        """Give back every job ``owner`` holds (its process is gone); how many."""
        with self.db.write() as conn:
            return conn.execute(
                "UPDATE jobs SET owner = NULL, visible_at = 0 WHERE owner = ? AND visible_at > ?", (owner, time.time())
            ).rowcount

    # -- the retry and schedule sets --------------------------------------------------------
    def due(self, names: Sequence[str], now: float, limit: int = 100) -> list[tuple[int, bytes]]:
        """Members of the sets whose score has come: (id, member)."""
        marks = ", ".join("?" * len(names))
        found = self.db.rows(
            f"SELECT id, member FROM sets WHERE name IN ({marks}) AND score <= ? ORDER BY score, id LIMIT ?",  # noqa: S608
            (*names, now, limit),
        )
        return [(i, bytes(member)) for i, member in found]

    def enqueue_due(self, moves: Sequence[tuple[int, str, str | bytes]]) -> int:
        """(set id, queue, payload): each goes to its queue only if this call removed it from
        its set, so two pollers never both enqueue it."""
        now, moved = time.time(), 0
        with self.db.write() as conn:
            for set_id, queue, payload in moves:
                if conn.execute("DELETE FROM sets WHERE id = ?", (set_id,)).rowcount == 1:
                    conn.execute("INSERT INTO jobs (queue, body, enqueued_at) VALUES (?, ?, ?)",
                                 (queue, _bytes(payload), now))  # fmt: skip
                    moved += 1
        return moved

    # -- operating: the dashboard's pipeline panel, tally queue status ------------------------
    def sizes(self, queue: str) -> dict[str, Any]:
        now = time.time()
        ((ready, held, oldest),) = self.db.rows(
            "SELECT count(*) FILTER (WHERE visible_at <= ?), count(*) FILTER (WHERE visible_at > ?), min(enqueued_at)"
            " FROM jobs WHERE queue = ?",
            (now, now, queue),
        )
        sets = dict(self.db.rows("SELECT name, count(*) FROM sets GROUP BY name"))
        return {"queued": ready, "in_flight": held, "oldest_enqueued_at": oldest, "retry": sets.get("retry", 0),
                "scheduled": sets.get("schedule", 0), "dead": sets.get(DEAD, 0)}  # fmt: skip

    def dead(self, limit: int) -> list[tuple[int, bytes, float]]:
        """The newest dead jobs: (id, member, score)."""
        found = self.db.rows("SELECT id, member, score FROM sets WHERE name = 'dead' ORDER BY score DESC, id DESC"
                             " LIMIT ?", (limit,))  # fmt: skip
        return [(i, bytes(member), score) for i, member, score in found]

    def redrive(self, limit: int, default_queue: str = "default") -> int:
        """The oldest dead jobs back on their own queue, byte for byte, each moved atomically."""
        found = self.db.rows("SELECT id, member FROM sets WHERE name = 'dead' ORDER BY score, id LIMIT ?", (limit,))
        return self.enqueue_due([(i, _queue_of(bytes(member), default_queue), bytes(member)) for i, member in found])


def _bytes(value: str | bytes) -> bytes:
    return value.encode("utf-8") if isinstance(value, str) else value


def _queue_of(member: bytes, default: str) -> str:
    try:
        queue = json.loads(member).get("queue")
    except (ValueError, AttributeError):
        return default
    return queue if isinstance(queue, str) and queue else default
