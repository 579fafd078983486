"""The Redis side of the operator tools: the only module here that imports redis.

Drain holds (``tally:drain:queue:<name>``, ``tally:drain:<set>:<name>``, next to Sidekiq's
keys; all spelled in ``tally_contract/sidekiq_redis.py``): TAKE moves a chunk there from the
queue's tail atomically; ACK removes exactly the sent bytes (LREM), GIVE_BACK returns unsent
ones to the queue's tail (they run next); MOVE_TIMED holds scheduled and retrying jobs in flight
with their score. A crash leaves jobs in these keys, never nowhere; the next drain sends them
first. Dead-set redrive is TO_QUEUE, the same script as the worker's poller and the dashboard's.
"""

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import redis

from tally_contract import sidekiq_redis as sk
from tally_contract.redis_errors import translated

from .errors import OpsError

T = TypeVar("T")


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
        with translated(what, OpsError):
            return call()

    def _script(self, name: str, keys: Sequence[str], args: Sequence[Any]) -> Any:
        return self._run(name, lambda: self._scripts[name](keys=list(keys), args=list(args)))

    # -- queues ---------------------------------------------------------------------------
    def length(self, key: str) -> int:
        return int(self._run("LLEN", lambda: self.client.llen(key)))

    def held(self, queue: str) -> list[bytes]:
        """Jobs a crashed drain left in flight, oldest first."""
        return list(reversed(self._run("LRANGE", lambda: self.client.lrange(sk.hold_key(queue), 0, -1))))

    def take(self, queue: str, limit: int) -> list[bytes]:
        return list(self._script("TAKE", [sk.queue_key(queue), sk.hold_key(queue)], [limit]))

    def ack(self, queue: str, jobs: Sequence[bytes]) -> int:
        return int(self._script("ACK", [sk.hold_key(queue)], jobs)) if jobs else 0

    def give_back(self, queue: str, jobs: Sequence[bytes]) -> int:
        return int(self._script("GIVE_BACK", [sk.hold_key(queue), sk.queue_key(queue)], jobs)) if jobs else 0

    def push(self, queue: str, bodies: Sequence[str]) -> None:
        """Append jobs as Sidekiq's client does: SADD queues, LPUSH queue:<name>."""

        def write() -> None:
            pipe = self.client.pipeline(transaction=True)
            sk.push(pipe, queue, bodies)
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
        return list(self._script("MOVE_TIMED", [zset, sk.timed_hold_key(zset, queue)], members))

    def release_timed(self, zset: str, queue: str, members: Sequence[bytes], *, back: bool) -> int:
        """Drop sent timed jobs from the hold (``back=False``) or return them to ``zset``."""
        if not members:
            return 0
        hold = sk.timed_hold_key(zset, queue)
        if back:
            return len(self._script("MOVE_TIMED", [hold, zset], members))
        return int(self._run("ZREM", lambda: self.client.zrem(hold, *members)))

    def redrive(self, pairs: Sequence[tuple[bytes, str]]) -> int:
        """Move dead-set members (exact bytes) to the named queues."""
        if not pairs:
            return 0
        keys, args = sk.to_queue_call(sk.DEAD, [(member, queue, member) for member, queue in pairs])
        return int(self._script("TO_QUEUE", keys, args))

    def zremove(self, key: str, members: Sequence[bytes]) -> int:
        return int(self._run("ZREM", lambda: self.client.zrem(key, *members))) if members else 0


_SCRIPTS = {name: getattr(sk, name) for name in ("TAKE", "ACK", "GIVE_BACK", "MOVE_TIMED", "TO_QUEUE")}
