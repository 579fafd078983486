"""What a request needs, built on first use and kept for the life of the Lambda instance.

Tests call ``configure`` to inject a queue, a site store, salts or a clock instead.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from tally_contract import queues
from tally_contract.sites import CachedSites, SiteStore
from tally_store.salts import DailySalts, MemorySalts

from .ratelimit import RateLimiter
from .settings import Settings


@dataclass
class Runtime:
    settings: Settings
    queue: queues.Queue
    sites: SiteStore
    salts: DailySalts
    clock: Callable[[], float] = time.time
    limiter: RateLimiter = field(default_factory=RateLimiter)


_current: Runtime | None = None


def get() -> Runtime:
    global _current
    if _current is None:
        _current = _from_settings(Settings.from_env())
    return _current


def configure(
    *,
    settings: Settings | None = None,
    queue: queues.Queue | None = None,
    sites: SiteStore | None = None,
    salts: DailySalts | None = None,
    clock: Callable[[], float] = time.time,
) -> Runtime:
    """Replace the runtime (tests, local mode). Anything not given is built from settings."""
    global _current
    settings = settings or Settings.from_env()
    built = _from_settings(settings, queue=queue, sites=sites)
    if salts is not None:
        built.salts = salts
    built.clock = clock
    _current = built
    return built


def reset() -> None:
    global _current
    _current = None


def _from_settings(settings: Settings, *, queue: queues.Queue | None = None, sites: SiteStore | None = None) -> Runtime:
    if sites is None:
        from tally_contract.sites import open_sites

        sites = open_sites(settings.store_url, settings.sites_table)
    return Runtime(
        settings=settings,
        queue=queue if queue is not None else queues.from_url(settings.queue_url),
        sites=CachedSites(sites, ttl=settings.site_cache_seconds),
        salts=_salts(settings),
    )


def _salts(settings: Settings) -> DailySalts:
    if settings.store_url.startswith("sqlite://"):
        # Local mode: the salts live in the store's file, shared with the processor and kept
        # across restarts (a visitor is the same visitor all day).
        from tally_store.sqlite import SQLiteStore

        return DailySalts(SQLiteStore.from_url(settings.store_url))
    if not settings.aggregates_table:
        return DailySalts(MemorySalts())
    # Only the salts' module of the store: ingest needs nothing else of it.
    from tally_store.dynamodb_salts import DynamoDBSalts

    return DailySalts(DynamoDBSalts(settings.aggregates_table))
