"""Redis worker throughput: Tally's worker against real Sidekiq 6.4.1, draining the same jobs,
and the worker's full pipeline against the SQS handler's (bench/worker_pipeline.py).

    python -m bench.worker [--jobs 100000] [--rounds 3] [--full-batch 10000] [--full-batches 5] [--quick]

Both sides drain the same N plain Sidekiq jobs (a Rails producer's four-field
ProcessRequestJob) from one redis-server, each pinned to the same core with Redis on the other:
- Sidekiq: ``sidekiq -c 10`` running bench/ruby/process_request_job.rb (reads the four fields);
- Tally: the Redis worker, reliable fetch on, running a registered job doing the same reads.
Rates over the middle 80% of the queue (bench/redis_drain.py).
"""

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import redis

from bench import worker_pipeline
from bench.redis_drain import ROOT, drain, fill
from tests.support.servers import redis_server

TARGET_RATIO = 3.0
AGENT = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36"


def make_jobs(count: int) -> list[str]:
    from tally_contract import envelope

    base = time.time() - 120
    return [
        envelope.encode(envelope.build([{
            "ip": f"198.51.{i % 8}.{i % 250}", "user_agent": AGENT,
            "url": f"https://bench.example.com/docs/page-{i % 50}",
            "time": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(base + i * 0.001)),
        }]))
        for i in range(count)
    ]  # fmt: skip


def measure(jobs: int, rounds: int, full_batch: int, full_batches: int) -> dict[str, Any]:
    cores = sorted(os.sched_getaffinity(0))
    work_core, other = cores[0], set(cores[1:]) or {cores[0]}
    sidekiq = shutil.which("sidekiq")
    if sidekiq is None:
        raise RuntimeError("sidekiq is not installed: run `make test-deps` (Debian's ruby-sidekiq)")
    payload = make_jobs(jobs)
    python = [sys.executable, str(ROOT / "bench/drivers/tally_worker.py")]
    ruby_command = [sidekiq, "-r", str(ROOT / "bench/ruby/process_request_job.rb"), "-c", "10"]
    with redis_server() as url:
        client = redis.Redis.from_url(url)
        os.sched_setaffinity(int(client.info("server")["process_id"]), other)
        env = {**os.environ, "REDIS_URL": url, "PYTHONPATH": str(ROOT)}
        pairs = []
        # Interleaved rounds: these shared machines drift, so each ratio compares neighbours.
        for _ in range(rounds):
            client.flushdb()
            fill(client, payload)
            ruby = drain(client, ruby_command, env, jobs, work_core)
            client.flushdb()
            fill(client, payload)
            light = drain(client, [*python, url, "light", "1", "100"], env, jobs, work_core)
            pairs.append((ruby, light))
        full = worker_pipeline.measure(client, url, work_core, other, full_batch, full_batches, rounds)
    ratios = sorted(light["jobs_per_s"] / ruby["jobs_per_s"] for ruby, light in pairs)
    ratio = ratios[len(ratios) // 2]
    return {"sidekiq": _median([r for r, _ in pairs]), "tally_light": _median([t for _, t in pairs]),
            "tally_full": full, "ratios": [round(r, 2) for r in ratios], "ratio": round(ratio, 2),
            "ratio_target": TARGET_RATIO, "ratio_ok": ratio >= TARGET_RATIO,
            "load_after": os.getloadavg()[0]}  # fmt: skip


def _median(runs: list[dict[str, Any]]) -> dict[str, Any]:
    ordered = sorted(runs, key=lambda run: run["jobs_per_s"])
    return {**ordered[len(ordered) // 2], "runs_jobs_per_s": [run["jobs_per_s"] for run in runs]}


def report(result: dict[str, Any]) -> None:
    ruby, light = result["sidekiq"], result["tally_light"]
    print(f"worker bench: {ruby['jobs']:,} jobs, worker on one core, redis-server on the other; "
          f"median of {len(result['ratios'])} interleaved rounds (ratios {result['ratios']})")  # fmt: skip
    verdict = "PASS" if result["ratio_ok"] else "MISS"
    rows = [
        ("Sidekiq 6.4.1 -c 10, four-field job", f"{ruby['jobs_per_s']:,} jobs/s", "baseline", ""),
        ("Tally worker, same job, reliable fetch", f"{light['jobs_per_s']:,} jobs/s", "", ""),
        ("ratio Tally / Sidekiq", f"{result['ratio']}x", f">= {TARGET_RATIO:.0f}x", verdict),
    ]
    for name, value, target, ok in rows:
        print(f"  {name:<58} {value:>16}  {target:<10} {ok}")
    worker_pipeline.report(result["tally_full"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--full-batch", type=int, default=10_000, help="full pipeline: jobs a batch, both sides")
    parser.add_argument("--full-batches", type=int, default=5, help="full pipeline: batches a side a round")
    parser.add_argument("--quick", action="store_true", help="10,000 jobs, one round, batches of 1,000 (CI)")
    args = parser.parse_args(argv)
    if args.quick:
        result = measure(10_000, 1, 1000, 10)
    else:
        result = measure(args.jobs, args.rounds, args.full_batch, args.full_batches)
    report(result)
    out = Path(__file__).resolve().parent / "results"
    out.mkdir(exist_ok=True)
    (out / "worker.json").write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
