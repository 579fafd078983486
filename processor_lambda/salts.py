"""Daily salts for visitor ids. Each UTC day gets a random salt, created by whichever
processor needs it first (the store keeps the first writer's) and expired two days later, after
which nobody can recompute that day's visitor ids from an IP."""

import os
import threading

from tally_store.base import Store

KEEP_SECONDS = 2 * 86400


class DailySalts:
    def __init__(self, store: Store) -> None:
        self._store = store
        self._cache: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def for_day(self, day: str, now: float) -> bytes:
        with self._lock:
            if day not in self._cache:
                if len(self._cache) > 8:
                    self._cache.clear()
                self._cache[day] = self._store.daily_salt(day, os.urandom(32), now + KEEP_SECONDS)
            return self._cache[day]
