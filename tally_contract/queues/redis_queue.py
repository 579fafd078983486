"""Redis backend, written exactly as Sidekiq's client writes: one pipeline of
``SADD queues <name>`` and a variadic ``LPUSH queue:<name>``, in slices of 1,000.

Durability is Redis's: run it with ``appendonly yes`` (docs/operations.md) if a 2xx must
survive a Redis crash. redis-py errors are translated here.
"""

from collections.abc import Sequence
from typing import Any

import redis
from redis.exceptions import RedisError

from .. import sidekiq_redis
from ..errors import QueueUnavailable
from .base import PushFailure

SLICE = 1000  # Sidekiq's push_bulk slice


class RedisQueue:
    def __init__(self, client: Any) -> None:
        self.client = client

    @classmethod
    def from_url(cls, url: str, *, client: Any = None, **_: Any) -> "RedisQueue":
        if client is None:
            client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5, health_check_interval=30)
        return cls(client)

    def push(self, queue: str, payloads: Sequence[str]) -> list[PushFailure]:
        for start in range(0, len(payloads), SLICE):
            chunk = list(payloads[start : start + SLICE])
            try:
                pipe = self.client.pipeline(transaction=False)
                sidekiq_redis.push(pipe, queue, chunk)
                pipe.execute()
            except RedisError as exc:
                # Slices already pushed stay pushed; report the rest so the caller can say so.
                if start == 0:
                    raise QueueUnavailable(f"Redis refused the push: {type(exc).__name__}") from exc
                return [PushFailure(i, f"Redis: {type(exc).__name__}") for i in range(start, len(payloads))]
        return []

    def ping(self) -> None:
        try:
            self.client.ping()
        except RedisError as exc:
            raise QueueUnavailable(f"Redis unreachable: {type(exc).__name__}") from exc
