"""ProcessRequestJob: store a batch of tracking events and count them.

Order matters for exactness: raw events are written first, counters second. A record succeeds
only when both landed; a failed record is retried whole, which may store its raw event a second
time (readers keep one copy per event id) and re-add counters that had landed; the rollup then
recomputes those buckets from the raw events (docs/data-model.md).
"""

import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from tally_aggregates import counters

if TYPE_CHECKING:
    from tally_aggregates.declared import Declared
from tally_contract.envelope import Job
from tally_contract.errors import StorageError
from tally_contract.sites import Site
from tally_store.base import Heartbeat, PendingWrite, Refused, Store
from tally_store.salts import DailySalts

from . import events
from .enrich import enrich, salt_day
from .results import JobFailed, RecordResult

SLICE = 500
# A child of the Powertools logger "processor": JSON lines with the Lambda context, and debug
# lines only where POWERTOOLS_LOG_LEVEL or the debug sampling rate let them through.
logger = logging.getLogger("processor.events")
DEFAULT_SETTINGS = Site(site_id="", write_key="", secret_hash="")


class SiteSettings:
    """Site settings by id, cached for a few minutes; unknown sites get the defaults."""

    def __init__(self, lookup: Callable[[str], Site | None], ttl: float = 300.0) -> None:
        self._lookup = lookup
        self._ttl = ttl
        self._cache: dict[str, tuple[float, Site]] = {}

    def get(self, site_id: str, now: float) -> Site:
        hit = self._cache.get(site_id)
        if hit is None or hit[0] < now:
            site = self._lookup(site_id) or DEFAULT_SETTINGS
            self._cache[site_id] = hit = (now + self._ttl, site)
        return hit[1]


def declared(sites: SiteSettings, site_id: str) -> "Declared":
    """A site's goals and counted property keys, for the rollup (from the cached settings)."""
    from tally_aggregates.declared import Declared

    site = sites.get(site_id, time.time())
    return Declared(site.goals, site.props)


class RequestProcessor:
    def __init__(
        self,
        store: Store,
        sites: SiteSettings,
        *,
        default_site: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.sites = sites
        self.salts = DailySalts(store)
        self.default_site = default_site
        self.clock = clock

    def __call__(self, jobs: list[Job]) -> list[RecordResult]:
        now = self.clock()
        results: list[RecordResult | None] = [None] * len(jobs)
        prepared, refused = self._store_raw(jobs, results, now)
        failed = self._count(prepared, refused, now)
        for position, event in prepared:
            error = failed.get(event["event_id"])
            results[position] = RecordResult.failure(error) if error else RecordResult.success()
        _log(prepared, failed)
        self._heartbeat([event for _, event in prepared], now)
        return [result or RecordResult.failure(JobFailed("not processed")) for result in results]

    def _store_raw(
        self, jobs: list[Job], results: list[RecordResult | None], now: float
    ) -> tuple[list[tuple[int, dict[str, Any]]], dict[str, Refused]]:
        """Prepare the jobs and write their events. Returns (position, event) for the jobs that
        prepared (the others' results are set) and the events not written, by id."""
        prepared: list[tuple[int, dict[str, Any]]] = []
        written: set[tuple[str, str]] = set()  # (event id, event time): a client's resend is another copy
        writes: list[PendingWrite] = []
        for start in range(0, len(jobs), SLICE):
            slice_events = []
            for position in range(start, min(start + SLICE, len(jobs))):
                try:
                    event, site = self._prepare(jobs[position], now)
                except JobFailed as exc:
                    results[position] = RecordResult.failure(exc)
                    continue
                prepared.append((position, event))
                copy = (event["event_id"], event["event_time"])
                if copy not in written:  # a redelivered job beside its first copy
                    written.add(copy)
                    slice_events.append((event, site.retention_days))
            # This slice is written while the next one is prepared.
            writes.append(self.store.write_events(slice_events, now))
        return prepared, {refused.event_id: refused for write in writes for refused in write.wait()}

    def _prepare(self, job: Job, now: float) -> tuple[dict[str, Any], Site]:
        event = events.from_job(job, self.default_site)
        site = self.sites.get(event["site"], now)
        salt = self.salts.for_day(salt_day(event["event_time"]), now)
        return enrich(event, site.ip_handling, salt, site.query_params), site

    def _heartbeat(self, prepared: list[dict[str, Any]], now: float) -> None:
        """One PutItem per batch for the dashboard's pipeline panel: when the last batch ran,
        its size, and the lag from receipt of its oldest event. Best effort: a failed write
        must not fail events that were stored."""
        # Tally's ISO times sort as strings: parse only the oldest.
        stamps = (e["received_at"] for e in prepared if isinstance(e.get("received_at"), str))
        oldest = _epoch(min(stamps, default=None))
        lag = max(0.0, now - oldest) if oldest is not None else None
        try:
            self.store.put_heartbeat(Heartbeat(now, len(prepared), lag))
        except StorageError:
            pass

    def _count(
        self,
        prepared: list[tuple[int, dict[str, Any]]],
        refused: dict[str, Refused],
        now: float,
    ) -> dict[str, JobFailed]:
        """Counters for the events whose raw pack was written. Failures by event id."""
        failed = {i: JobFailed(r.reason, retryable=r.retryable) for i, r in refused.items()}
        # A redelivered job can sit in the same batch as its first copy: count it once.
        stored = {(e["event_id"], e["event_time"]): e for _, e in prepared if e["event_id"] not in failed}
        updates = counters.sum_batch(stored.values())
        not_landed = self.store.add_counters(updates, now)
        if not_landed:
            for event in stored.values():
                if counters.touched_by(event, not_landed):
                    failed[event["event_id"]] = JobFailed("aggregate counters were not all updated")
        return failed


def _log(prepared: list[tuple[int, dict[str, Any]]], failed: dict[str, JobFailed]) -> None:
    """Which API requests' events were stored (debug) or not (warning), by correlation id."""
    if failed:
        lost = [(e["event_id"], e.get("correlation_id")) for _, e in prepared if e["event_id"] in failed]
        logger.warning(
            "events not stored",
            extra={"events": [{"event_id": i, "correlation_id": c, "error": str(failed[i])} for i, c in lost[:20]]},
        )
    if logger.isEnabledFor(logging.DEBUG):
        stored = sorted({str(e.get("correlation_id")) for _, e in prepared if e["event_id"] not in failed})
        logger.debug("events stored", extra={"count": len(prepared) - len(failed), "correlation_ids": stored})


def _epoch(iso: Any) -> float | None:
    try:
        return datetime.fromisoformat(str(iso)).timestamp() if iso else None
    except ValueError:
        return None
