"""Redis worker throughput: Tally's worker against real Sidekiq 6.4.1, draining the same jobs.

    python -m bench.worker [--jobs 100000] [--full-jobs 20000] [--quick]

Both sides drain the same N plain Sidekiq jobs (a Rails producer's four-field
ProcessRequestJob) from one redis-server, each pinned to the same core with Redis on the other:
- Sidekiq: ``sidekiq -c 10`` running bench/ruby/process_request_job.rb (reads the four fields);
- Tally: the Redis worker, reliable fetch on, running a registered job doing the same reads.
The rate is taken over the middle 80% of the queue (from 90% to 10% of the jobs left), so
neither side's boot or last batch counts; every job must then show in ``stat:processed`` with
no failure. Also reported: Tally's worker running the full pipeline (enrichment, DynamoDB
writes and counters) against the fake DynamoDB that answers after 5 ms.
"""

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import redis

from bench.fake_dynamodb import serve_in_child
from tests.support.servers import redis_server

ROOT = Path(__file__).resolve().parent.parent
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


def fill(client: Any, jobs: list[str]) -> None:
    client.flushdb()
    client.sadd("queues", "default")
    for start in range(0, len(jobs), 2000):
        client.lpush("queue:default", *jobs[start : start + 2000])


def drain(client: Any, command: list[str], env: dict[str, str], count: int, core: int) -> dict[str, Any]:
    """Start ``command``, time the queue's middle 80%, stop it, check every job ran."""
    log = tempfile.TemporaryFile()  # a file, not a pipe nobody reads: a full pipe would stall the worker
    process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=log, stderr=log,
                               preexec_fn=lambda: os.sched_setaffinity(0, {core}))  # fmt: skip
    marks: dict[float, float] = {}
    deadline = time.monotonic() + 600
    try:
        while len(marks) < 2:
            left = client.llen("queue:default")
            for share in (0.9, 0.1):
                if share not in marks and left <= share * count:
                    marks[share] = time.perf_counter()
            if process.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                raise RuntimeError(f"{command[0]} stopped early: {log.read().decode(errors='replace')[-2000:]}")
            time.sleep(0.005)
        while client.llen("queue:default") and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)  # let the last jobs in hand finish before the stop
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
    processed, failed = int(client.get("stat:processed") or 0), int(client.get("stat:failed") or 0)
    if processed != count or failed:
        raise RuntimeError(f"{command[0]}: processed {processed} of {count}, failed {failed}")
    seconds = marks[0.1] - marks[0.9]
    return {"jobs": count, "timed_jobs": round(0.8 * count), "seconds": round(seconds, 3),
            "jobs_per_s": round(0.8 * count / seconds)}  # fmt: skip


def measure(jobs: int, full_jobs: int, rounds: int) -> dict[str, Any]:
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
            fill(client, payload)
            ruby = drain(client, ruby_command, env, jobs, work_core)
            fill(client, payload)
            light = drain(client, [*python, url, "light", "1", "100"], env, jobs, work_core)
            pairs.append((ruby, light))
        full = _full_pipeline(client, [*python, url, "full", "4", "500"], env, payload[:full_jobs], work_core, other)
    ratios = sorted(light["jobs_per_s"] / ruby["jobs_per_s"] for ruby, light in pairs)
    ratio = ratios[len(ratios) // 2]
    return {"sidekiq": _median([r for r, _ in pairs]), "tally_light": _median([t for _, t in pairs]),
            "tally_full": full, "ratios": [round(r, 2) for r in ratios], "ratio": round(ratio, 2),
            "ratio_target": TARGET_RATIO, "ratio_ok": ratio >= TARGET_RATIO,
            "load_after": os.getloadavg()[0]}  # fmt: skip


def _full_pipeline(
    client: Any, command: list[str], env: dict[str, str], payload: list[str], core: int, other: set[int]
) -> dict[str, Any]:
    dynamo_url, server = serve_in_child(0.005, other)
    try:
        full_env = {**env, "AWS_ENDPOINT_URL": dynamo_url, "AWS_ACCESS_KEY_ID": "bench",
                    "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1",
                    "TALLY_EVENTS_TABLE": "tally-bench-events", "TALLY_AGGREGATES_TABLE": "tally-bench-aggregates",
                    "TALLY_SITES_TABLE": "tally-bench-sites", "TALLY_DEFAULT_SITE": "bench"}  # fmt: skip
        fill(client, payload)
        return drain(client, command, full_env, len(payload), core)
    finally:
        server.terminate()


def _median(runs: list[dict[str, Any]]) -> dict[str, Any]:
    ordered = sorted(runs, key=lambda run: run["jobs_per_s"])
    return {**ordered[len(ordered) // 2], "runs_jobs_per_s": [run["jobs_per_s"] for run in runs]}


def report(result: dict[str, Any]) -> None:
    ruby, light, full = result["sidekiq"], result["tally_light"], result["tally_full"]
    print(f"worker bench: {ruby['jobs']:,} jobs, worker on one core, redis-server on the other; "
          f"median of {len(result['ratios'])} interleaved rounds (ratios {result['ratios']})")  # fmt: skip
    verdict = "PASS" if result["ratio_ok"] else "MISS"
    rows = [
        ("Sidekiq 6.4.1 -c 10, four-field job", f"{ruby['jobs_per_s']:,} jobs/s", "baseline", ""),
        ("Tally worker, same job, reliable fetch", f"{light['jobs_per_s']:,} jobs/s", "", ""),
        ("ratio Tally / Sidekiq", f"{result['ratio']}x", f">= {TARGET_RATIO:.0f}x", verdict),
        (f"Tally worker, full pipeline ({full['jobs']:,} jobs, 5 ms DB)", f"{full['jobs_per_s']:,} jobs/s", "", ""),
    ]
    for name, value, target, ok in rows:
        print(f"  {name:<58} {value:>16}  {target:<10} {ok}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--full-jobs", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="10,000 jobs, one round (CI)")
    args = parser.parse_args(argv)
    jobs = 10_000 if args.quick else args.jobs
    result = measure(jobs, min(args.full_jobs, jobs), 1 if args.quick else args.rounds)
    report(result)
    out = Path(__file__).resolve().parent / "results"
    out.mkdir(exist_ok=True)
    (out / "worker.json").write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
