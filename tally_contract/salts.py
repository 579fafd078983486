"""Daily salts for visitor ids: one random salt per UTC day, shared by ingest (which computes
the visitor id before an event is queued, so the queue never needs the raw IP) and the
processor (which computes it for jobs that carry a raw IP: Rails producers, older jobs).

Whoever needs a day's salt first creates it (a conditional put: first writer wins); it expires
by TTL two days later, after which nobody can recompute that day's visitor ids from an IP.
The salts live in the aggregates table under ``pk = "salt"``.
"""

import os
import threading
from typing import Any, Protocol

SALT_PK = "salt"
KEEP_SECONDS = 2 * 86400


def salt_key(day: str) -> dict[str, Any]:
    return {"pk": {"S": SALT_PK}, "sk": {"S": day}}


def salt_item(day: str, salt: bytes, now: float) -> dict[str, Any]:
    return {**salt_key(day), "v": {"B": salt}, "ttl": {"N": str(int(now) + KEEP_SECONDS)}}


def new_salt() -> bytes:
    return os.urandom(32)


class SaltStore(Protocol):
    def for_day(self, day: str, now: float) -> bytes: ...


class MemorySalts:
    """Unit tests and anything without a table: a salt per day, for this process only."""

    def __init__(self) -> None:
        self._salts: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def for_day(self, day: str, now: float) -> bytes:
        with self._lock:
            return self._salts.setdefault(day, new_salt())
