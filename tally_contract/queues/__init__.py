"""Queue backends behind one small protocol, chosen by one URL.

``sqs://<queue name or URL>``, ``redis://host:port/db``, ``sqlite://<path>`` (local mode's
durable queue) and ``memory://`` (unit tests). Each
backend module is imported only when its scheme is asked for.
"""

import importlib
from typing import Any

from ..errors import QueueConfigError
from .base import PushFailure, Queue

__all__ = ["PushFailure", "Queue", "from_url"]

BACKENDS = {
    "sqs": "tally_contract.queues.sqs_queue:SqsQueue",
    "redis": "tally_contract.queues.redis_queue:RedisQueue",
    "rediss": "tally_contract.queues.redis_queue:RedisQueue",
    "sqlite": "tally_contract.queues.sqlite_queue:SqliteQueue",
    "memory": "tally_contract.queues.memory_queue:MemoryQueue",
}


def from_url(url: str, **options: Any) -> Queue:
    scheme, sep, _ = url.partition("://")
    if not sep or scheme not in BACKENDS:
        known = ", ".join(f"{name}://" for name in BACKENDS)
        raise QueueConfigError(f"queue URL {url!r} must start with one of {known}")
    module_name, _, class_name = BACKENDS[scheme].partition(":")
    backend = getattr(importlib.import_module(module_name), class_name)
    queue: Queue = backend.from_url(url, **options)
    return queue
