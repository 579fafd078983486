"""Reliable fetch from Sidekiq's Redis queues: nothing a worker takes is lost if it dies.

A worker moves the jobs it takes, atomically, from ``queue:<name>`` onto its own processing list
(``FETCH``); each job leaves that list only when it is settled (``SETTLE``: acknowledged, in
``retry`` or ``dead``, or requeued). Its liveness key, refreshed every few seconds, is what
marks it alive: another worker gives back the processing lists of a worker whose liveness key
expired (``RECOVER``). The poller moves due retries and scheduled jobs back to their queues
(``TO_QUEUE``). Keys and scripts: ``tally_contract/sidekiq_redis.py``.

The only module of the worker that talks to Redis for jobs; redis-py's errors leave it as
``QueueUnavailable`` (``tally_contract/redis_errors.py``).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tally_contract import sidekiq_redis as sk
from tally_contract.redis_errors import translated


def _text(value: str | bytes) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def _raw(value: str | bytes) -> bytes:
    return value.encode("utf-8") if isinstance(value, str) else value


@dataclass(frozen=True)
class Fetched:
    """One job in hand: the queue it came from and its exact bytes (what LREM must match)."""

    queue: str
    body: bytes


@dataclass(frozen=True)
class Outcome:
    """How to settle one fetched job: kind is "ack", "retry", "dead" or "requeue"."""

    job: Fetched
    kind: str
    member: str | bytes = b""
    score: float = 0.0


class ReliableFetch:
    """The Redis side of one worker. ``client`` is a redis-py client (bytes or str replies)."""

    def __init__(self, client: Any, identity: str, queues: Sequence[str], *, heartbeat_ttl: float = 30) -> None:
        if not queues:
            raise ValueError("at least one queue is needed")
        if "|" in identity:
            raise ValueError("a worker identity cannot contain '|' (it separates registry members)")
        self.client = client
        self.identity = identity
        self.queues = list(dict.fromkeys(queues))
        self.heartbeat_ttl = heartbeat_ttl
        self._fetch = client.register_script(sk.FETCH)
        self._settle = client.register_script(sk.SETTLE)
        self._recover = client.register_script(sk.RECOVER)
        self._to_queue = client.register_script(sk.TO_QUEUE)
        self._turn = 0

    # -- liveness -------------------------------------------------------------------------
    def beat(self) -> None:
        """Refresh this worker's heartbeat and re-register its processing lists."""
        with translated("heartbeat"):
            pipe = self.client.pipeline(transaction=False)
            pipe.set(sk.heartbeat_key(self.identity), str(time.time()), px=max(1, int(self.heartbeat_ttl * 1000)))
            pipe.sadd(sk.REGISTRY, *(sk.registry_member(self.identity, q) for q in self.queues))
            pipe.execute()

    def forget(self) -> None:
        """Drop the heartbeat; used on a clean stop, after the processing lists are empty."""
        with translated("DEL heartbeat"):
            self.client.delete(sk.heartbeat_key(self.identity))

    # -- fetch ----------------------------------------------------------------------------
    def fetch(self, limit: int, block: float = 0.0) -> list[Fetched]:
        """Take up to ``limit`` jobs, oldest first, from the queues in priority order. When all
        are empty, wait up to ``block`` seconds for one (BLMOVE on one queue per call, in turn)."""
        with translated("fetch"):
            jobs = self._fetch_now(limit)
            if jobs or block <= 0:
                return jobs
            name = self.queues[self._turn % len(self.queues)]
            self._turn += 1
            first = self.client.blmove(
                sk.queue_key(name), sk.processing_key(name, self.identity), block, src="RIGHT", dest="LEFT"
            )
            if first is None:
                return []
            # Registers the processing list too, which the BLMOVE alone did not.
            return [Fetched(name, _raw(first)), *self._fetch_now(limit - 1)]

    def _fetch_now(self, limit: int) -> list[Fetched]:
        keys = [sk.REGISTRY]
        for name in self.queues:
            keys += [sk.queue_key(name), sk.processing_key(name, self.identity)]
        args = [limit, *(sk.registry_member(self.identity, q) for q in self.queues)]
        groups = self._fetch(keys=keys, args=args)
        return [Fetched(name, _raw(body)) for name, group in zip(self.queues, groups, strict=True) for body in group]

    # -- settle ---------------------------------------------------------------------------
    def settle(self, outcomes: Sequence[Outcome], *, now: float | None = None) -> tuple[int, int]:
        """Acknowledge, retry, dead-letter or requeue jobs in hand; one script per queue, all
        in one pipelined round trip. Returns (processed, failed) as counted in ``stat:*``."""
        now = time.time() if now is None else now
        day = time.strftime("%Y-%m-%d", time.gmtime(now))
        by_queue: dict[str, list[Outcome]] = {}
        for outcome in outcomes:
            by_queue.setdefault(outcome.job.queue, []).append(outcome)
        with translated("settle"):
            pipe = self.client.pipeline(transaction=False)
            for name, group in by_queue.items():
                keys = [
                    sk.processing_key(name, self.identity),
                    sk.queue_key(name),
                    sk.RETRY,
                    sk.DEAD,
                    sk.STAT_PROCESSED,
                    sk.stat_day_key(sk.STAT_PROCESSED, day),
                    sk.STAT_FAILED,
                    sk.stat_day_key(sk.STAT_FAILED, day),
                ]
                args: list[Any] = [repr(now), repr(now - sk.DEAD_TIMEOUT), sk.DEAD_MAX_JOBS, sk.STATS_TTL]
                for o in group:
                    args += [o.job.body, o.kind, o.member, repr(o.score)]
                self._settle(keys=keys, args=args, client=pipe)
            totals = pipe.execute() if by_queue else []
        return sum(int(t[0]) for t in totals), sum(int(t[1]) for t in totals)

    # -- recovery -------------------------------------------------------------------------
    def recover(self, *, own: bool = False) -> int:
        """Give back the jobs of every processing list whose worker's heartbeat has expired
        (``own=True``: this worker's lists, whatever its heartbeat). Returns the jobs requeued."""
        with translated("recover"):
            members = self._orphans(own)
            requeued = 0
            for member in members:
                owner, _, name = member.partition("|")
                keys = [sk.REGISTRY, sk.heartbeat_key(owner), sk.processing_key(name, owner), sk.queue_key(name),
                        sk.QUEUES]  # fmt: skip
                requeued += max(0, int(self._recover(keys=keys, args=[member, name, "1" if own else "0"])))
        return requeued

    def _orphans(self, own: bool) -> list[str]:
        """Registry members to give back: this worker's (``own``), or those whose owner is gone."""
        members = [_text(m) for m in self.client.smembers(sk.REGISTRY)]
        if own:
            mine = [m for m in members if m.split("|", 1)[0] == self.identity]
            return mine + [m for m in (sk.registry_member(self.identity, q) for q in self.queues) if m not in mine]
        owners = [m.split("|", 1)[0] for m in members]
        pipe = self.client.pipeline(transaction=False)
        for owner in owners:
            pipe.exists(sk.heartbeat_key(owner))
        alive = pipe.execute() if owners else []
        return [m for m, live in zip(members, alive, strict=True) if not live]

    # -- retry and schedule sets ------------------------------------------------------------
    def enqueue_due(self, sets: Sequence[str] = (sk.RETRY, sk.SCHEDULE), *, limit: int = 100) -> int:
        """Move every job whose time has come from the retry and schedule sets to its queue."""
        moved = 0
        with translated("enqueue due"):
            for zset in sets:
                while True:
                    now = time.time()
                    due = self.client.zrangebyscore(zset, "-inf", repr(now), start=0, num=limit)
                    if not due:
                        break
                    moves = [(member, *sk.due_job(member, now)) for member in due]
                    keys, args = sk.to_queue_call(zset, moves)
                    moved += int(self._to_queue(keys=keys, args=args))
                    if len(due) < limit:
                        break
        return moved
