"""Reliable fetch from Sidekiq's Redis queues: nothing a worker takes is lost if it dies.

Keys (Sidekiq's own, then Tally's additions):

- ``queue:<name>``: Sidekiq's queue. Producers LPUSH, we take from the tail (RPOP side), so
  jobs run in push order, as with Sidekiq's BRPOP.
- ``queue:<name>:processing:<identity>``: the jobs a worker holds, same orientation (oldest at
  the tail). ``identity`` is ``hostname:pid:12 hex`` like Sidekiq's process identity.
- ``tally:worker:<identity>``: the worker's liveness, a string SET with a TTL (30 s) and
  refreshed every few seconds. Its absence is what marks the worker dead.
- ``tally:processing``: SET of ``<identity>|<queue>`` naming every processing list that may
  hold jobs, so recovery never scans the keyspace. Every fetch script call (re)adds the members
  of the lists it fills, atomically with the move, and so does every heartbeat.

Lua scripts (each one atomic, one round trip):

- FETCH: for each queue in priority order, ``RPOP queue n`` then ``LPUSH processing`` the
  same jobs, until ``n`` are taken. When every queue is empty the worker blocks instead in
  ``BLMOVE queue processing RIGHT LEFT`` (atomic too) for about a second.
- SETTLE: per job, ``LREM processing 1 <exact bytes>``; only if that removed it, write the
  outcome: nothing (done), ``ZADD retry``, ``ZADD dead`` (then Sidekiq's trim), or ``RPUSH``
  back to the queue. So a job is never both still held and retried, and a job that recovery
  already gave back is not also retried. Counts Sidekiq's ``stat:*`` for the settled jobs.
- RECOVER: if the owner's heartbeat is gone (or the owner itself is stopping), ``RPUSH`` every
  job of the processing list back onto the tail of its queue (oldest last, so it is next),
  then DEL the list and SREM its member.
- ENQUEUE_DUE: per job of the retry/schedule set, ``ZREM`` it, and only if that returned 1,
  ``SADD queues`` and ``LPUSH`` the rewritten job (with ``enqueued_at``) to its queue. Two
  pollers can race on a job; one wins.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from . import sidekiq_retry

QUEUES = "queues"
REGISTRY = "tally:processing"
STATS_TTL = 5 * 365 * 24 * 60 * 60  # Sidekiq's Launcher::STATS_TTL, 5 years

FETCH = """
local limit = tonumber(ARGV[1])
local out = {}
for j = 1, (#KEYS - 1) / 2 do
  local jobs = false
  redis.call('SADD', KEYS[1], ARGV[1 + j])
  if limit > 0 then jobs = redis.call('RPOP', KEYS[2 * j], limit) end
  if jobs then
    redis.call('LPUSH', KEYS[2 * j + 1], unpack(jobs))
    limit = limit - #jobs
    out[j] = jobs
  else
    out[j] = {}
  end
end
return out
"""

SETTLE = """
local now, cutoff, keep, ttl = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local processed, failed, dead = 0, 0, 0
for i = 5, #ARGV, 4 do
  if redis.call('LREM', KEYS[1], 1, ARGV[i]) == 1 then
    local kind = ARGV[i + 1]
    if kind == 'requeue' then
      redis.call('RPUSH', KEYS[2], ARGV[i])
    else
      processed = processed + 1
      if kind == 'retry' then
        redis.call('ZADD', KEYS[3], ARGV[i + 3], ARGV[i + 2])
        failed = failed + 1
      elseif kind == 'dead' then
        redis.call('ZADD', KEYS[4], ARGV[i + 3], ARGV[i + 2])
        failed = failed + 1
        dead = dead + 1
      end
    end
  end
end
if dead > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', cutoff)
  redis.call('ZREMRANGEBYRANK', KEYS[4], 0, -tonumber(keep))
end
if processed > 0 then
  redis.call('INCRBY', KEYS[5], processed)
  redis.call('INCRBY', KEYS[6], processed)
  redis.call('EXPIRE', KEYS[6], ttl)
end
if failed > 0 then
  redis.call('INCRBY', KEYS[7], failed)
  redis.call('INCRBY', KEYS[8], failed)
  redis.call('EXPIRE', KEYS[8], ttl)
end
return {processed, failed}
"""

RECOVER = """
if ARGV[3] ~= '1' and redis.call('EXISTS', KEYS[2]) == 1 then return -1 end
local jobs = redis.call('LRANGE', KEYS[3], 0, -1)
for i = 1, #jobs, 1000 do
  redis.call('RPUSH', KEYS[4], unpack(jobs, i, math.min(i + 999, #jobs)))
end
if #jobs > 0 then redis.call('SADD', KEYS[5], ARGV[2]) end
redis.call('DEL', KEYS[3])
redis.call('SREM', KEYS[1], ARGV[1])
return #jobs
"""

ENQUEUE_DUE = """
local moved = 0
for j = 1, #ARGV / 3 do
  if redis.call('ZREM', KEYS[1], ARGV[3 * j - 2]) == 1 then
    redis.call('SADD', KEYS[2], ARGV[3 * j - 1])
    redis.call('LPUSH', KEYS[2 + j], ARGV[3 * j])
    moved = moved + 1
  end
end
return moved
"""


def queue_key(name: str) -> str:
    return f"queue:{name}"


def processing_key(name: str, identity: str) -> str:
    return f"queue:{name}:processing:{identity}"


def heartbeat_key(identity: str) -> str:
    return f"tally:worker:{identity}"


def registry_member(identity: str, name: str) -> str:
    return f"{identity}|{name}"


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
        self._fetch = client.register_script(FETCH)
        self._settle = client.register_script(SETTLE)
        self._recover = client.register_script(RECOVER)
        self._enqueue_due = client.register_script(ENQUEUE_DUE)
        self._turn = 0

    # -- liveness -------------------------------------------------------------------------
    def beat(self) -> None:
        """Refresh this worker's heartbeat and re-register its processing lists."""
        pipe = self.client.pipeline(transaction=False)
        pipe.set(heartbeat_key(self.identity), str(time.time()), px=max(1, int(self.heartbeat_ttl * 1000)))
        pipe.sadd(REGISTRY, *(registry_member(self.identity, q) for q in self.queues))
        pipe.execute()

    def forget(self) -> None:
        """Drop the heartbeat; used on a clean stop, after the processing lists are empty."""
        self.client.delete(heartbeat_key(self.identity))

    # -- fetch ----------------------------------------------------------------------------
    def fetch(self, limit: int, block: float = 0.0) -> list[Fetched]:
        """Take up to ``limit`` jobs, oldest first, from the queues in priority order. When all
        are empty, wait up to ``block`` seconds for one (BLMOVE on one queue per call, in turn)."""
        jobs = self._fetch_now(limit)
        if jobs or block <= 0:
            return jobs
        name = self.queues[self._turn % len(self.queues)]
        self._turn += 1
        first = self.client.blmove(
            queue_key(name), processing_key(name, self.identity), block, src="RIGHT", dest="LEFT"
        )
        if first is None:
            return []
        # Registers the processing list too, which the BLMOVE alone did not.
        return [Fetched(name, _raw(first)), *self._fetch_now(limit - 1)]

    def _fetch_now(self, limit: int) -> list[Fetched]:
        keys = [REGISTRY]
        for name in self.queues:
            keys += [queue_key(name), processing_key(name, self.identity)]
        args = [limit, *(registry_member(self.identity, q) for q in self.queues)]
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
        pipe = self.client.pipeline(transaction=False)
        for name, group in by_queue.items():
            keys = [
                processing_key(name, self.identity),
                queue_key(name),
                sidekiq_retry.RETRY,
                sidekiq_retry.DEAD,
                "stat:processed",
                f"stat:processed:{day}",
                "stat:failed",
                f"stat:failed:{day}",
            ]
            args: list[Any] = [
                repr(now),
                repr(now - sidekiq_retry.DEAD_TIMEOUT),
                sidekiq_retry.DEAD_MAX_JOBS,
                STATS_TTL,
            ]
            for o in group:
                args += [o.job.body, o.kind, o.member, repr(o.score)]
            self._settle(keys=keys, args=args, client=pipe)
        totals = pipe.execute() if by_queue else []
        return sum(int(t[0]) for t in totals), sum(int(t[1]) for t in totals)

    # -- recovery -------------------------------------------------------------------------
    def recover(self, *, own: bool = False) -> int:
        """Give back the jobs of every processing list whose worker's heartbeat has expired
        (``own=True``: this worker's lists, whatever its heartbeat). Returns the jobs requeued."""
        members = [_text(m) for m in self.client.smembers(REGISTRY)]
        if own:
            members = [m for m in members if m.split("|", 1)[0] == self.identity]
            members += [
                registry_member(self.identity, q)
                for q in self.queues
                if registry_member(self.identity, q) not in members
            ]
        else:
            owners = [m.split("|", 1)[0] for m in members]
            pipe = self.client.pipeline(transaction=False)
            for owner in owners:
                pipe.exists(heartbeat_key(owner))
            alive = pipe.execute() if owners else []
            members = [m for m, live in zip(members, alive, strict=True) if not live]
        requeued = 0
        for member in members:
            owner, _, name = member.partition("|")
            keys = [REGISTRY, heartbeat_key(owner), processing_key(name, owner), queue_key(name), QUEUES]
            requeued += max(0, int(self._recover(keys=keys, args=[member, name, "1" if own else "0"])))
        return requeued

    # -- retry and schedule sets ------------------------------------------------------------
    def enqueue_due(
        self, sets: Sequence[str] = (sidekiq_retry.RETRY, sidekiq_retry.SCHEDULE), *, limit: int = 100
    ) -> int:
        """Move every job whose time has come from the retry and schedule sets to its queue."""
        moved = 0
        for zset in sets:
            while True:
                now = time.time()
                due = self.client.zrangebyscore(zset, "-inf", repr(now), start=0, num=limit)
                if not due:
                    break
                keys: list[str] = [zset, QUEUES]
                args: list[Any] = []
                for member in due:
                    name, payload = sidekiq_retry.due_job(member, now)
                    keys.append(queue_key(name))
                    args += [member, name, payload]
                moved += int(self._enqueue_due(keys=keys, args=args))
                if len(due) < limit:
                    break
        return moved
