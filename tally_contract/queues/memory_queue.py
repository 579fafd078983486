"""An in-memory queue for unit tests. Like Sidekiq's testing mode it fakes only the last
step: every payload is decoded as a job first, so what could not travel fails here too."""

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from ..envelope import decode
from ..errors import QueueUnavailable
from .base import PushFailure


class MemoryQueue:
    def __init__(self) -> None:
        self.messages: dict[str, list[str]] = defaultdict(list)
        self.available = True

    @classmethod
    def from_url(cls, url: str, **_: Any) -> "MemoryQueue":
        return cls()

    def push(self, queue: str, payloads: Sequence[str]) -> list[PushFailure]:
        if not self.available:
            raise QueueUnavailable("memory queue is switched off")
        for payload in payloads:
            decode(payload.encode("utf-8"))
        self.messages[queue].extend(payloads)
        return []

    def ping(self) -> None:
        if not self.available:
            raise QueueUnavailable("memory queue is switched off")
