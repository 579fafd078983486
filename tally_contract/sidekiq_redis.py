"""Sidekiq 6.4.1's Redis layout, and Tally's keys beside it: the one place that spells them.

Ingest's Redis queue, the Redis worker (``redis_worker``), the operator tools (``tally_ops``)
and the dashboard all read and write these keys. No redis import: the scripts are plain text,
registered by whoever runs them (``client.register_script``), so ingest's cold start pays for
strings only.

Sidekiq's keys (``lib/sidekiq/{client,fetch,api,launcher,job_retry}.rb``):

- ``queues``: SET of queue names; Sidekiq's Web UI lists only the queues named here, so every
  push to a queue (and every move back to one) also adds its name.
- ``queue:<name>``: LIST of jobs. Producers LPUSH; the oldest job is at the tail (BRPOP side).
- ``retry``, ``schedule``, ``dead``: sorted sets of jobs scored by float epoch seconds (when to
  run again; when to run; when it died).
- ``processes``: SET of process identities (``hostname:pid:12 hex``); ``<identity>``: HASH
  of the process (``info``, ``busy``, ``beat``, ``quiet``...), ``<identity>:workers``: HASH of
  busy threads, ``<identity>-signals``: LIST the Web UI's Quiet/Stop buttons push to.
- ``stat:processed``, ``stat:failed`` and their ``:<UTC day>`` keys (kept 5 years).

Tally's keys:

- ``queue:<name>:processing:<identity>``: jobs a worker's fetcher thread holds (reliable
  fetch), oldest at the tail: ``<identity>`` for its first thread, ``<identity>/<n>`` for the
  others; ``tally:worker:<identity>``: its liveness (a string with a TTL);
  ``tally:processing``: SET of ``<identity>|<queue>``, every processing list that may hold jobs.
- ``tally:drain:queue:<name>``, ``tally:drain:<retry|schedule>:<name>``: jobs a drain to SQS
  took and has not yet confirmed sent.
"""

import random
from collections.abc import Sequence
from typing import Any

from . import envelope, wire

QUEUES = "queues"
RETRY = "retry"
SCHEDULE = "schedule"
DEAD = "dead"
PROCESSES = "processes"
STAT_PROCESSED = "stat:processed"
STAT_FAILED = "stat:failed"
REGISTRY = "tally:processing"

STATS_TTL = 5 * 365 * 24 * 60 * 60  # Launcher::STATS_TTL, 5 years
PROCESS_EXPIRY = 60  # seconds a process entry outlives its last beat, as Sidekiq's
BEAT_PAUSE = 5  # seconds between beats, Launcher::BEAT_PAUSE
DEFAULT_MAX_RETRIES = 25  # DEFAULT_MAX_RETRY_ATTEMPTS
DEAD_MAX_JOBS = 10_000  # Sidekiq.options[:dead_max_jobs]
DEAD_TIMEOUT = 180 * 24 * 60 * 60  # Sidekiq.options[:dead_timeout_in_seconds], 6 months


def queue_key(name: str) -> str:
    return f"queue:{name}"


def stat_day_key(stat: str, day: str) -> str:
    """``stat:processed:2026-11-26``: one of the two stats for one UTC day."""
    return f"{stat}:{day}"


def workers_key(identity: str) -> str:
    return f"{identity}:workers"


def signals_key(identity: str) -> str:
    return f"{identity}-signals"


def fetcher_identity(identity: str, slot: int) -> str:
    """Whose processing lists fetcher thread ``slot`` of worker ``identity`` fills: each thread
    has its own (and its own liveness key), so a batch is the only one in its list."""
    return identity if slot == 0 else f"{identity}/{slot}"


def processing_key(name: str, identity: str) -> str:
    return f"queue:{name}:processing:{identity}"


def heartbeat_key(identity: str) -> str:
    return f"tally:worker:{identity}"


def registry_member(identity: str, name: str) -> str:
    return f"{identity}|{name}"


def hold_key(name: str) -> str:
    return f"tally:drain:queue:{name}"


def timed_hold_key(zset: str, name: str) -> str:
    return f"tally:drain:{zset}:{name}"


def push(pipe: Any, name: str, bodies: Sequence[str | bytes]) -> None:
    """Queue jobs as ``Sidekiq::Client#atomic_push`` does, on a redis-py pipeline the caller
    executes: ``SADD queues <name>`` and one variadic ``LPUSH queue:<name>``."""
    pipe.sadd(QUEUES, name)
    pipe.lpush(queue_key(name), *bodies)


def retry_delay(count: int, rng: random.Random) -> int:
    """Seconds before retry number ``count + 1``: ``JobRetry#delay_for`` without a
    ``sidekiq_retry_in`` block, ``count**4 + 15 + rand(10) * (count + 1)`` (``rand(10)``: 0..9)."""
    return count**4 + 15 + rng.randrange(10) * (count + 1)


def due_job(member: str | bytes, now: float) -> tuple[str, str | bytes]:
    """(queue name, payload) for a job leaving the retry or schedule set, as
    ``Sidekiq::Client.push`` would write it: ``{"retry" => true, "queue" => "default"}`` merged
    with the job (so those two keys lead), ``jid``/``created_at`` filled if missing, and
    ``enqueued_at`` set to now. A member that is not a job goes unchanged to the default queue,
    where the pipeline dead-letters it with a reason instead of losing it."""
    try:
        msg = wire.loads(member)
    except (ValueError, RecursionError):
        msg = None
    if not isinstance(msg, dict):
        return envelope.DEFAULT_QUEUE, member
    item: dict[str, Any] = {"retry": True, "queue": envelope.DEFAULT_QUEUE} | msg
    if not isinstance(item["queue"], str) or not item["queue"]:
        item["queue"] = envelope.DEFAULT_QUEUE  # Sidekiq raises here and the job is gone
    if not item.get("jid"):
        item["jid"] = envelope.new_jid()
    if not item.get("created_at"):
        item["created_at"] = stamp(msg, now)
    item["enqueued_at"] = stamp(msg, now)
    return str(item["queue"]), wire.dumps(item)


def stamp(msg: dict[str, Any], now: float) -> float | int:
    """A timestamp in the job's own form: float seconds (Sidekiq 6/7), or integer milliseconds
    when its ``created_at`` is an integer (Sidekiq 8). Sorted-set scores stay float seconds."""
    created = msg.get("created_at")
    if isinstance(created, int) and not isinstance(created, bool):
        return int(now * 1000)
    return now


def to_queue_call(zset: str, moves: Sequence[tuple[str | bytes, str, str | bytes]]) -> tuple[list[str], list[Any]]:
    """KEYS and ARGV of TO_QUEUE for ``moves`` of (member of ``zset``, queue name, payload)."""
    keys = [zset, QUEUES, *(queue_key(name) for _, name, _ in moves)]
    return keys, [value for move in moves for value in move]


# -- Lua scripts: each atomic, one round trip ---------------------------------------------------
# Lua's unpack() stops at about 8,000 values, so variadic pushes go 1,000 at a time.

# Reliable fetch. KEYS: the registry, then per queue (priority order) queue:<name> and this
# worker's processing list; ARGV: how many to take, then per queue its registry member. RPOP
# from each queue in turn and LPUSH the same jobs onto the processing list (its oldest stay at
# the tail), registering the list first, until the limit is taken. Returns the jobs per queue.
FETCH = """
local limit = tonumber(ARGV[1])
local out = {}
for j = 1, (#KEYS - 1) / 2 do
  local jobs = false
  redis.call('SADD', KEYS[1], ARGV[1 + j])
  if limit > 0 then jobs = redis.call('RPOP', KEYS[2 * j], limit) end
  if jobs then
    for i = 1, #jobs, 1000 do
      redis.call('LPUSH', KEYS[2 * j + 1], unpack(jobs, i, math.min(i + 999, #jobs)))
    end
    limit = limit - #jobs
    out[j] = jobs
  else
    out[j] = {}
  end
end
return out
"""

# Settle jobs in hand. KEYS: processing list, queue:<name>, retry, dead, stat:processed, its
# day key, stat:failed, its day key; ARGV: now, the dead set's age cutoff, its size limit, the
# stats TTL, then per job its exact bytes, kind (ack, retry, dead, requeue), member and score.
# Only a job LREM still found is settled, so a job recovery already gave back is not also
# retried. LREM counts from the tail (-1), where the oldest jobs, settled first, sit: from the
# head every acknowledgement walked the whole batch, quadratic in its size (docs/benchmarks.md).
SETTLE = """
local now, cutoff, keep, ttl = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local processed, failed, dead = 0, 0, 0
for i = 5, #ARGV, 4 do
  if redis.call('LREM', KEYS[1], -1, ARGV[i]) == 1 then
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

# Give back a processing list. KEYS: registry, the owner's heartbeat, the processing list,
# queue:<name>, queues; ARGV: the registry member, the queue name, '1' to ignore the heartbeat
# (the owner itself is stopping). RPUSH onto the queue's tail, so the oldest runs next.
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

# From a sorted set to queues: the poller's due retries and scheduled jobs, and dead-set
# redrives (payload = member, bytes unchanged). KEYS and ARGV from ``to_queue_call``. Only what
# this call's ZREM removed is pushed, so two pollers or two redrives never run a job twice.
TO_QUEUE = """
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

# Drain to SQS, take a chunk. KEYS: queue:<name>, its drain hold; ARGV: how many.
TAKE = """
local jobs = redis.call('RPOP', KEYS[1], tonumber(ARGV[1]))
if not jobs then return {} end
for i = 1, #jobs, 1000 do
  redis.call('LPUSH', KEYS[2], unpack(jobs, i, math.min(i + 999, #jobs)))
end
return jobs
"""

# Drain: drop exactly the bytes SQS took from the hold. KEYS: the hold; ARGV: the jobs.
ACK = """
local n = 0
for i = 1, #ARGV do n = n + redis.call('LREM', KEYS[1], 1, ARGV[i]) end
return n
"""

# Drain: return unsent jobs to the queue's tail. KEYS: the hold, queue:<name>; ARGV: the jobs,
# oldest first, pushed newest first so the oldest ends at the tail, next to run.
GIVE_BACK = """
local n = 0
for i = #ARGV, 1, -1 do
  if redis.call('LREM', KEYS[1], 1, ARGV[i]) == 1 then redis.call('RPUSH', KEYS[2], ARGV[i]) n = n + 1 end
end
return n
"""

# Drain: move members between sorted sets keeping their score; only those the source still
# held (the worker's poller may have taken one meanwhile). KEYS: from, to. Returns the moved.
MOVE_TIMED = """
local moved = {}
for i = 1, #ARGV do
  local score = redis.call('ZSCORE', KEYS[1], ARGV[i])
  if score then
    redis.call('ZREM', KEYS[1], ARGV[i])
    redis.call('ZADD', KEYS[2], score, ARGV[i])
    moved[#moved + 1] = ARGV[i]
  end
end
return moved
"""
