"""Simulated hours of traffic through Tally's processor and rollup, for bench/rollup.py, in its
own process and tree: the current code, or an earlier commit's (the rollup before the store
seam: processor_lambda.rollup), whichever the tree holds.

    python bench/drivers/rollup_sim.py SITES RATE MINUTES WORKERS SEED

DynamoDB is the endpoint in ``AWS_ENDPOINT_URL`` (bench/fake_dynamodb.py, storing). Each
simulated minute: that minute's events through the processor (not measured), then one rollup
run with the clock at the minute's end plus the grace (measured: wall time, the CPU of every
thread of this process, raw events read, buckets each worker took). At the end the clock
jumps two days, so every bucket closes, and runs go on until nothing is left to seal. Prints
one JSON object.
"""

import json
import queue
import random
import sys
import threading
import time
from collections import Counter
from typing import Any

GRACE = 60.0
START = 1_795_392_000.0  # 2026-11-23T00:00:00Z: the simulated day starts at midnight
PAGES = [f"/docs/{i}" for i in range(40)]
AGENTS = [f"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.0.0 "
          "Safari/537.36" for v in range(110, 130)]  # fmt: skip


def jobs(rng: random.Random, sites: int, rate: float, minute: int) -> list[str]:
    from tally_contract import envelope
    from tally_contract.timeutil import format_iso

    bodies = []
    for site in range(sites):
        for i in range(int(rate * 60)):
            at = format_iso(START + minute * 60 + rng.uniform(0, 60))
            visitor = rng.randrange(int(rate * 60))  # visitors come back within the hour
            name = rng.choice(["pageview"] * 9 + ["signup"])
            event: dict[str, Any] = {
                "event_id": f"{site}-{minute}-{i}", "site": f"site{site}", "name": name,
                "url": f"https://s{site}.example.com{rng.choice(PAGES)}",
                "referrer": rng.choice([None, "https://news.example.net/a"]), "time": None, "sent_at": None,
                "received_at": at, "event_time": at, "ip": f"198.51.{visitor % 250}.{visitor // 250 % 250}",
                "user_agent": AGENTS[visitor % len(AGENTS)], "properties": {},
            }  # fmt: skip
            bodies.append(envelope.encode(envelope.build([event])))
    return bodies


class Current:
    """The code of this tree after the store seam (tally_store, tally_aggregates)."""

    def __init__(self, workers: int) -> None:
        from processor_lambda.pipeline import PROCESS_REQUEST_JOB, Pipeline
        from processor_lambda.registry import Registry
        from processor_lambda.request_job import RequestProcessor, SiteSettings
        from tally_store.dynamodb import DynamoDBStore

        self.store = DynamoDBStore("tally-bench-events", "tally-bench-aggregates")
        registry = Registry()
        registry.register_batch(PROCESS_REQUEST_JOB, RequestProcessor(self.store, SiteSettings(lambda _: None)))
        self.pipeline = Pipeline(registry)
        self.workers = workers
        self.export: Any = None
        try:  # TALLY_EXPORT_DIR set: each sealed hour also written as its export file
            from tally_export.base import from_environment

            self.export = from_environment()
        except ImportError:
            pass  # a tree from before the export

    def rollup(self, now: float) -> dict[str, Any]:
        from tally_aggregates.rollup import Rollup, RollupReport

        rollup = Rollup(self.store, clock=lambda: now, export=self.export) if self.export else Rollup(
            self.store, clock=lambda: now)  # fmt: skip
        work: queue.Queue[Any] = queue.Queue()
        for bucket in rollup.plan(now):  # the schedule's half; the workers take from the queue
            work.put(bucket)
        reports = [RollupReport() for _ in range(self.workers)]

        def worker(report: RollupReport) -> None:
            while True:
                try:
                    bucket = work.get_nowait()
                except queue.Empty:
                    return
                rollup.roll(bucket, now, report)

        threads = [threading.Thread(target=worker, args=(report,)) for report in reports]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        took = [r.sealed + r.still_dirty for r in reports]
        return {"sealed": sum(took), "events_read": sum(r.events_read for r in reports), "took": took}


class Before:
    """The rollup before the store seam (processor_lambda.rollup, one sequential run)."""

    def __init__(self, workers: int) -> None:
        import importlib

        from processor_lambda.pipeline import PROCESS_REQUEST_JOB, Pipeline
        from processor_lambda.registry import Registry

        # Modules of the earlier tree: imported by name, their API is not this tree's.
        job: Any = importlib.import_module("processor_lambda.request_job")
        self.store = importlib.import_module("processor_lambda.dynamo").DynamoStore()
        self.tables = job.Tables("tally-bench-events", "tally-bench-aggregates")
        registry = Registry()
        processor = job.RequestProcessor(self.store, self.tables, job.SiteSettings(lambda _: None))
        registry.register_batch(PROCESS_REQUEST_JOB, processor)
        self.pipeline = Pipeline(registry)

    def rollup(self, now: float) -> dict[str, Any]:
        import importlib

        rollup: Any = importlib.import_module("processor_lambda.rollup")
        report = rollup.Rollup(self.store, self.tables, clock=lambda: now).run()
        done = report.sealed + report.refreshed + report.still_dirty
        return {"sealed": done, "events_read": report.events_read, "took": [done]}


def simulate(sites: int, rate: float, minutes: int, workers: int, seed: int) -> dict[str, Any]:
    try:
        import tally_store  # noqa: F401

        system: Any = Current(workers)
        code = "current"
    except ImportError:
        system, code = Before(workers), "before the store seam"
    rng = random.Random(seed)
    totals: Counter[str] = Counter()
    took: Counter[int] = Counter()
    for minute in range(minutes):
        results = system.pipeline.process(jobs(rng, sites, rate, minute))
        assert all(r.ok for r in results), [r.error for r in results if not r.ok][:3]
        totals["events"] += len(results)
        _measured(system, START + (minute + 1) * 60 + GRACE, totals, took, steady=True)
    for _ in range(4):  # every bucket closes: the last minutes, hours and the day
        _measured(system, START + 2 * 86400, totals, took, steady=False)
    return {"code": code, "sites": sites, "rate": rate, "minutes": minutes, "workers": workers, **totals,
            "took": [took[i] for i in range(workers)]}  # fmt: skip


def _measured(system: Any, now: float, totals: Counter[str], took: Counter[int], *, steady: bool) -> None:
    wall, cpu = time.perf_counter(), time.process_time()
    done = system.rollup(now)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    prefix = "" if steady else "final_"
    totals[f"{prefix}wall_s"] += wall  # type: ignore[assignment]
    totals[f"{prefix}cpu_s"] += cpu  # type: ignore[assignment]
    totals[f"{prefix}events_read"] += done["events_read"]
    totals[f"{prefix}buckets"] += done["sealed"]
    for index, count in enumerate(done["took"]):
        took[index] += count


if __name__ == "__main__":
    sites, rate, minutes, workers, seed = sys.argv[1:6]
    print(json.dumps(simulate(int(sites), float(rate), int(minutes), int(workers), int(seed))))
