"""The queue protocol: what ingest (and later the drain tool) needs from any backend."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class PushFailure:
    """A payload the queue did not take. ``retryable`` is False when resending cannot help."""

    index: int
    reason: str
    retryable: bool = True


@runtime_checkable
class Queue(Protocol):
    def push(self, queue: str, payloads: Sequence[str]) -> list[PushFailure]:
        """Durably enqueue encoded jobs on the named Sidekiq queue.

        Returns the payloads that were not taken (every other one was); raises
        QueueUnavailable when the backend cannot be reached at all.
        """
        ...

    def ping(self) -> None:
        """Raise QueueUnavailable unless the queue is reachable."""
        ...
