"""A token bucket per site, per ingest instance.

API Gateway's stage throttling caps the whole endpoint; this one stops a single site (or a
leaked write key) from taking all of it. Each warm Lambda holds its own buckets, so the
effective limit is the site's rate times the number of warm instances.
"""

import threading
import time
from collections.abc import Callable


class RateLimiter:
    def __init__(self, clock: Callable[[], float] = time.monotonic, max_sites: int = 4096) -> None:
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # site -> (tokens, updated_at)
        self._lock = threading.Lock()
        self._max_sites = max_sites

    def allow(self, site: str, rate: int, cost: int = 1) -> bool:
        """Take ``cost`` tokens from the site's bucket (capacity: two seconds of ``rate``)."""
        if rate <= 0:
            return True
        capacity = float(rate * 2)
        now = self._clock()
        with self._lock:
            tokens, updated = self._buckets.get(site, (capacity, now))
            tokens = min(capacity, tokens + (now - updated) * rate)
            allowed = tokens >= cost
            if allowed:
                tokens -= cost
            if len(self._buckets) >= self._max_sites and site not in self._buckets:
                self._buckets.clear()
            self._buckets[site] = (tokens, now)
        return allowed
