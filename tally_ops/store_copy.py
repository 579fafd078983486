"""Copy a main store (raw events, sites) to another, over the store protocol: DynamoDB to SQLite
or back (docs/store-copy.md). The queue keeps collecting meanwhile; the processor resumes on the
target afterwards, and the target's rollup seals from the copied raw events.

Work goes in units of one site's hour: the source's hour buckets tell which hours hold data
(its day buckets, which ones to look at). Per unit: read the hour's raw events (each once,
however many copies a redelivery stored), write them to the target (writing an event again
is harmless), then add what they count (the processor's own sums) to the target's live
counters, which marks every bucket they touch dirty for the target's rollup. The unit is then
noted in a checkpoint file, written whole after every unit, so a crashed copy resumes after
the last unit it finished and a finished one does nothing when run again. A crash between a
unit's counters and its note adds that unit's live counters twice, as a redelivered batch does
in the processor: the sealed values, recounted from the raw events, stay exact.
"""

import json
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tally_aggregates import counters
from tally_contract.sites import ListedSites, Site
from tally_store import buckets
from tally_store.base import TOTAL, Bucket, Store

from .errors import OpsError

DAYS_BACK = 5 * 366  # day buckets are kept five years
Unit = tuple[str, str]  # (site, hour)


@dataclass
class Report:
    sites: int = 0
    units: int = 0  # site hours with data
    skipped: int = 0  # done by an earlier run (the checkpoint)
    events: int = 0
    seconds: float = 0.0


@dataclass
class Checkpoint:
    """The units done, in a file only this user may read; written whole after every unit."""

    path: Path
    source: str
    target: str
    done: set[str] = field(default_factory=set)

    @classmethod
    def open(cls, path: Path, source: str, target: str) -> "Checkpoint":
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls(path, source, target)
        except (OSError, ValueError) as exc:
            raise OpsError(f"cannot read the checkpoint {path}: {exc}") from None
        if (data.get("from"), data.get("to")) != (source, target):
            raise OpsError(f"{path} is the checkpoint of a copy from {data.get('from')} to {data.get('to')}")
        return cls(path, source, target, set(data.get("done", [])))

    def note(self, unit: Unit) -> None:
        self.done.add("|".join(unit))
        text = json.dumps({"from": self.source, "to": self.target, "done": sorted(self.done)})
        partial = self.path.with_name(self.path.name + ".partial")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, self.path)

    def has(self, unit: Unit) -> bool:
        return "|".join(unit) in self.done


def _nothing(_: Unit) -> None:
    return None


@dataclass
class StoreCopy:
    source: Store
    target: Store
    source_sites: ListedSites
    target_sites: ListedSites
    checkpoint: Checkpoint
    clock: Callable[[], float] = time.time
    days_back: int = DAYS_BACK

    def sites(self) -> list[Site]:
        found = [self.source_sites.by_id(site_id) for site_id in self.source_sites.site_ids()]
        return [site for site in found if site is not None]

    def plan(self, sites: Sequence[Site]) -> list[Unit]:
        """Every (site, hour) of the source that holds data, oldest first."""
        today = datetime.fromtimestamp(self.clock(), UTC)
        days = [(today - timedelta(days=back)).strftime("%Y-%m-%d") for back in range(self.days_back, -1, -1)]
        units = []
        for site in sites:
            for day in _with_data(self.source, site.site_id, "d", days):
                hours = [f"{day}T{hour:02d}" for hour in range(24)]
                units += [(site.site_id, hour) for hour in _with_data(self.source, site.site_id, "h", hours)]
        return units

    def run(self, sites: Sequence[Site], units: Sequence[Unit], progress: Callable[[Unit], None] = _nothing) -> Report:
        """Copy ``sites`` and the ``units`` of ``plan(sites)`` not done yet."""
        started, report = time.monotonic(), Report(sites=len(sites))
        for site in sites:  # sites first: the target's ingest and processor need them
            if self.target_sites.by_id(site.site_id) != site:
                self.target_sites.put(site)
        retention = {site.site_id: site.retention_days for site in sites}
        for unit in units:
            report.units += 1
            if self.checkpoint.has(unit):
                report.skipped += 1
            else:
                report.events += self.copy(unit, retention[unit[0]])
                self.checkpoint.note(unit)
            progress(unit)
        report.seconds = time.monotonic() - started
        return report

    def copy(self, unit: Unit, retention_days: int) -> int:
        site, hour = unit
        events = self.source.read_events(site, *buckets.time_range(Bucket(site, "h", hour))).events
        now = self.clock()
        refused = self.target.write_events([(event, retention_days) for event in events], now).wait()
        if refused:
            raise OpsError(f"{site} {hour}: the target refused {len(refused)} events ({refused[0].reason}); run again")
        if self.target.add_counters(counters.sum_batch(events), now):
            raise OpsError(f"{site} {hour}: the target did not take every counter; run again")
        return len(events)


def _with_data(store: Store, site: str, granularity: str, ids: Sequence[str]) -> Iterator[str]:
    """The bucket ids among ``ids`` whose total row exists (100 a read)."""
    for start in range(0, len(ids), 100):
        chunk = [Bucket(site, granularity, bucket_id) for bucket_id in ids[start : start + 100]]
        found = store.counts([(bucket, TOTAL) for bucket in chunk])
        yield from (bucket.id for bucket in chunk if (bucket, TOTAL) in found)
