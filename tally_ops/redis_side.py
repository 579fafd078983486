"""The Redis side of the operator tools: the only module here that imports redis.

Drain keys (Tally's, next to Sidekiq's):

- ``tally:drain:queue:<name>``: jobs taken from ``queue:<name>`` and not yet confirmed sent.
  TAKE moves a chunk there from the queue's tail atomically; ACK removes exactly the sent
  bytes (LREM), GIVE_BACK returns unsent ones to the queue's tail (they run next).
- ``tally:drain:<set>:<name>`` (``schedule``, ``retry``): timed jobs of queue ``<name>`` in
  flight, with their score.

A crash leaves jobs in these keys, never nowhere; the next drain sends them first.
"""

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

import redis
from redis.exceptions import RedisError

from .errors import OpsError

T = TypeVar("T")

TAKE = """
local jobs = redis.call('RPOP', KEYS[1], tonumber(ARGV[1]))
if jobs then redis.call('LPUSH', KEYS[2], unpack(jobs)) return jobs end
return {}
"""

ACK = """
local n = 0
for i = 1, #ARGV do n = n + redis.call('LREM', KEYS[1], 1, ARGV[i]) end
return n
"""

# ARGV oldest first; pushed newest first so the oldest ends at the tail, next to run.
GIVE_BACK = """
local n = 0
for i = #ARGV, 1, -1 do
  if redis.call('LREM', KEYS[1], 1, ARGV[i]) == 1 then redis.call('RPUSH', KEYS[2], ARGV[i]) n = n + 1 end
end
return n
"""

# Move members between sorted sets keeping the score; only members the source still held (the
# Redis worker's poller may have taken one meanwhile). Returns the members moved.
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

# Dead set redrive: ZREM, and only if that removed it, SADD queues + LPUSH the same bytes.
REDRIVE = """
local n = 0
for i = 1, #ARGV, 2 do
  if redis.call('ZREM', KEYS[1], ARGV[i]) == 1 then
    redis.call('SADD', KEYS[2], ARGV[i + 1])
    redis.call('LPUSH', 'queue:' .. ARGV[i + 1], ARGV[i])
    n = n + 1
  end
end
return n
"""


def queue_key(name: str) -> str:
    return f"queue:{name}"


def hold_key(name: str) -> str:
    return f"tally:drain:queue:{name}"


def timed_hold_key(zset: str, queue: str) -> str:
    return f"tally:drain:{zset}:{queue}"


@contextmanager
def _translated(what: str) -> Iterator[None]:
    try:
        yield
    except RedisError as exc:
        raise OpsError(f"Redis {what}: {type(exc).__name__}: {exc}") from exc


class RedisSide:
    """Redis operations of drain and dlq. ``client`` is a redis-py client (bytes replies)."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self._scripts = {name: client.register_script(src) for name, src in _SCRIPTS.items()}

    @classmethod
    def from_url(cls, url: str) -> "RedisSide":
        try:
            client = redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=10)
        except ValueError as exc:
            raise OpsError(f"Redis URL {url!r}: {exc}") from exc
        return cls(client)

    def _run(self, what: str, call: Callable[[], T]) -> T:
        with _translated(what):
            return call()

    def _script(self, name: str, keys: Sequence[str], args: Sequence[Any]) -> Any:
        return self._run(name, lambda: self._scripts[name](keys=list(keys), args=list(args)))

    # -- queues ---------------------------------------------------------------------------
    def length(self, key: str) -> int:
        return int(self._run("LLEN", lambda: self.client.llen(key)))

    def held(self, queue: str) -> list[bytes]:
        """Jobs a crashed drain left in flight, oldest first."""
        return list(reversed(self._run("LRANGE", lambda: self.client.lrange(hold_key(queue), 0, -1))))

    def take(self, queue: str, limit: int) -> list[bytes]:
        return list(self._script("TAKE", [queue_key(queue), hold_key(queue)], [limit]))

    def ack(self, queue: str, jobs: Sequence[bytes]) -> int:
        return int(self._script("ACK", [hold_key(queue)], jobs)) if jobs else 0

    def give_back(self, queue: str, jobs: Sequence[bytes]) -> int:
        return int(self._script("GIVE_BACK", [hold_key(queue), queue_key(queue)], jobs)) if jobs else 0

    def push(self, queue: str, bodies: Sequence[str]) -> None:
        """Append jobs as Sidekiq's client does: SADD queues, LPUSH queue:<name>."""

        def write() -> None:
            pipe = self.client.pipeline(transaction=True)
            pipe.sadd("queues", queue)
            pipe.lpush(queue_key(queue), *bodies)
            pipe.execute()

        if bodies:
            self._run("LPUSH", write)

    # -- sorted sets (schedule, retry, dead) --------------------------------------------------
    def zcount(self, key: str, low: float | str = "-inf", high: float | str = "+inf") -> int:
        return int(self._run("ZCOUNT", lambda: self.client.zcount(key, low, high)))

    def zrange(self, key: str, high: float | str = "+inf", limit: int = -1) -> list[tuple[bytes, float]]:
        """Members with scores up to ``high``, lowest first."""
        return list(
            self._run(
                "ZRANGEBYSCORE",
                lambda: self.client.zrangebyscore(key, "-inf", high, start=0, num=limit, withscores=True),
            )
        )

    def hold_timed(self, zset: str, queue: str, members: Sequence[bytes]) -> list[bytes]:
        """Move ``members`` into the queue's hold; returns those that were still there."""
        if not members:
            return []
        return list(self._script("MOVE_TIMED", [zset, timed_hold_key(zset, queue)], members))

    def release_timed(self, zset: str, queue: str, members: Sequence[bytes], *, back: bool) -> int:
        """Drop sent timed jobs from the hold (``back=False``) or return them to ``zset``."""
        if not members:
            return 0
        hold = timed_hold_key(zset, queue)
        if back:
            return len(self._script("MOVE_TIMED", [hold, zset], members))
        return int(self._run("ZREM", lambda: self.client.zrem(hold, *members)))

    def redrive(self, pairs: Sequence[tuple[bytes, str]]) -> int:
        """Move dead-set members (exact bytes) to the named queues."""
        args = [value for member, queue in pairs for value in (member, queue)]
        return int(self._script("REDRIVE", ["dead", "queues"], args)) if pairs else 0

    def zremove(self, key: str, members: Sequence[bytes]) -> int:
        return int(self._run("ZREM", lambda: self.client.zrem(key, *members))) if members else 0


_SCRIPTS = {"TAKE": TAKE, "ACK": ACK, "GIVE_BACK": GIVE_BACK, "MOVE_TIMED": MOVE_TIMED, "REDRIVE": REDRIVE}
