"""The hourly export held against what the rollup sealed: read every exported file, then show
per hour that its events' counts equal the hour's sealed counts, and that the files hold
exactly the copies the oracle counts (tests/support/oracle.py), each once."""

import random
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping
from typing import Any

from tally_aggregates.rollup import Rollup
from tally_export import records
from tally_export.base import ExportError, Sink
from tally_store.base import Bucket
from tests.support import oracle
from tests.support.processor_harness import Processor
from tests.unit.test_exactness import SPAN, START, deliveries, resends, traffic


def hour_of_key(key: str) -> tuple[str, str]:
    """(site, hour id) from ``events/site=<s>/date=<d>/hour=<hh>/<s>-<d>T<hh>.ndjson.gz``."""
    prefix, site, date, hour, name = key.split("/")
    assert prefix == "events" and site.startswith("site=") and date.startswith("date=") and hour.startswith("hour=")
    site_id, hour_id = site[5:], f"{date[5:]}T{hour[5:]}"
    assert name == f"{site_id}-{hour_id}.ndjson.gz", key
    return site_id, hour_id


def exported_hours(files: Mapping[str, bytes]) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """Every file's lines by (site, hour); each line in its file's site and hour."""
    by_hour = {}
    for key, blob in files.items():
        site, hour = hour_of_key(key)
        lines = records.read(blob)
        assert all(line["site"] == site and line["event_time"][:13] == hour for line in lines), key
        assert all(set(line) == set(records.COLUMNS) for line in lines), key
        by_hour[(site, hour)] = lines
    return by_hour


def check(proc: Processor, files: Mapping[str, bytes]) -> dict[tuple[str, str], list[dict[str, Any]]]:
    by_hour = exported_hours(files)
    for (site, hour), lines in by_hour.items():
        assert counts_of(lines) == sealed_counts(proc, Bucket(site, "h", hour)), (site, hour)
    sealed = {b.id for b, _ in proc.everything()[1] if b.granularity == "h" and any(sealed_counts(proc, b).values())}
    assert sealed <= {hour for _, hour in by_hour}, "every hour that counts something has its file"
    # The files hold exactly the copies that count: an event once, or again only when its
    # client sent it again more than 24 hours later (it then counts again: docs/data-model.md).
    exported = Counter((line["event_id"], line["event_time"]) for lines in by_hour.values() for line in lines)
    counted = Counter((e["event_id"], e["event_time"]) for e in oracle.counted(proc.stored_copies()))
    assert exported == counted
    assert max(exported.values(), default=1) == 1
    return by_hour


def counts_of(lines: list[dict[str, Any]]) -> dict[str, int]:
    humans = [line for line in lines if not line["bot"]]
    return {
        "pv": sum(line["name"] == "pageview" for line in humans),
        "ev": len(humans),
        "uv": len({line["visitor_id"] for line in humans if line["visitor_id"]}),
        "bots": len(lines) - len(humans),
    }


def sealed_counts(proc: Processor, hour: Bucket) -> dict[str, int]:
    counts = proc.store.counts([(hour, ("total", ""))]).get((hour, ("total", "")))
    sealed = (counts.sealed or {}) if counts else {}
    return {name: int(sealed.get(name, 0)) for name in ("pv", "ev", "uv", "bots")}


def run_traffic(proc: Processor, sink: Sink, seed: int, *, late_share: float = 0.15) -> int:
    """Generated traffic (tests/unit/test_exactness.py: redelivered, reordered batches, resends)
    through the real processor, rollups with the export in between, some batches held back until
    every hour was sealed once (late events: their hours are sealed and exported again), then
    the rollup settled. Returns how many rollup runs an export failure stopped."""
    rng = random.Random(seed)
    jobs = traffic(rng, seed, rng.randint(60, 150))
    batches = deliveries(rng, jobs + resends(rng, jobs))
    late = {index for index in range(len(batches)) if rng.random() < late_share}
    moments = sorted(rng.uniform(START, START + SPAN + 3600) for _ in range(3))
    failed = 0
    for index, batch in enumerate(batches):
        if index not in late:
            proc.pipeline.process(batch)
        if moments and index % 7 == 6:
            failed += settle(proc, sink, moments.pop(0))
    failed += settle(proc, sink, START + 5 * 86400)
    for index in sorted(late):
        proc.pipeline.process(batches[index])
    return failed + settle(proc, sink, START + 6 * 86400)


def settle(proc: Processor, sink: Sink, at: float) -> int:
    """Settle the rollup at ``at``; a failed export stops a run, and the next run seals it."""
    failed = 0
    rollup = Rollup(proc.store, declared=proc.declared, clock=lambda: at, export=sink)
    for _ in range(20):
        try:
            rollup.settle()
            return failed
        except ExportError:
            failed += 1
    raise AssertionError("the rollup never settled")


class FailingFirst:
    """A sink whose first attempt at each chosen hour fails, after reading part of the file (a
    connection dropped mid-upload); records which hours failed and were dirty after."""

    def __init__(self, sink: Sink, chosen: Callable[[str], bool]) -> None:
        self.sink, self.chosen = sink, chosen
        self.failed: dict[str, int] = defaultdict(int)

    def put_hour(self, site: str, hour_id: str, pieces: Any) -> None:
        if self.chosen(hour_id) and not self.failed[hour_id]:
            self.failed[hour_id] += 1
            next(iter(pieces), None)
            raise ExportError(f"upload of {hour_id} dropped", code="RequestTimeout")
        self.sink.put_hour(site, hour_id, pieces)

    def delete_site(self, site: str) -> tuple[int, bool]:
        return self.sink.delete_site(site)
