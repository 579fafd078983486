"""Daily salts for visitor ids. Each UTC day gets a random salt, created by whichever Lambda
needs it first (the store keeps the first writer's) and expired two days later, after which
nobody can recompute that day's visitor ids from an IP. Ingest computes the visitor id before
an event is queued (so no queue holds the raw IP); the processor, for jobs that carry one."""

import os
import threading
import time
from typing import Protocol

KEEP_SECONDS = 2 * 86400


class SaltSource(Protocol):
    """What keeps the salts: any Store (base.Store.daily_salt), or dynamodb_salts alone."""

    def daily_salt(self, day: str, candidate: bytes, expires: float) -> bytes: ...


class DailySalts:
    def __init__(self, store: SaltSource) -> None:
        self._store = store
        self._cache: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def for_day(self, day: str, now: float) -> bytes:
        with self._lock:
            if day not in self._cache:
                # A long-lived process forgets a salt when the store does, not at its restart.
                oldest = time.strftime("%Y-%m-%d", time.gmtime(now - KEEP_SECONDS))
                self._cache = {held: salt for held, salt in self._cache.items() if held >= oldest}
                self._cache[day] = self._store.daily_salt(day, os.urandom(32), now + KEEP_SECONDS)
            return self._cache[day]


class MemorySalts:
    """A salt source in a dict: tests, and an ingest without a table."""

    def __init__(self) -> None:
        self._salts: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def daily_salt(self, day: str, candidate: bytes, expires: float) -> bytes:
        with self._lock:
            return self._salts.setdefault(day, candidate)
