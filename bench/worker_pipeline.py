"""The Redis worker's full pipeline against the SQS handler's, on the same jobs, in one run.

Both run the production code (enrichment, raw-event packs, counters) into the fake DynamoDB
that answers after 5 ms (bench/fake_dynamodb.py, on the other core with redis-server), in
batches of the same size (bench.processor's 10,000 by default), pinned to the same core:
- SQS handler: ``bench.processor.run_tally`` (a warm Lambda's SqsBatchHandler) on each batch;
- Redis worker: ``bench/drivers/tally_worker.py full <threads> <batch>``, draining the same
  bodies from ``queue:default`` (bench/redis_drain.py: the middle 80% of the queue), warmed up
  first, with one fetcher thread and with two (THREADS).
Each round runs every side once, alternating who goes first; a ratio is the median of the
rounds' worker / handler.
"""

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from bench import processor
from bench.fake_dynamodb import serve_in_child, stats
from bench.redis_drain import ROOT, STAGED, drain, fill

TARGET_RATIO = 0.8
THREADS = (1, 2)  # the worker's --concurrency: the last is the headline figure
WARM = 200
TABLES = {"TALLY_EVENTS_TABLE": "tally-bench-events", "TALLY_AGGREGATES_TABLE": "tally-bench-aggregates",
          "TALLY_SITES_TABLE": "tally-bench-sites", "TALLY_DEFAULT_SITE": "bench"}  # fmt: skip


@contextmanager
def pinned(core: int) -> Iterator[None]:
    """This thread (and the threads it starts meanwhile: the store's pool) on ``core`` only."""
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {core})
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


@contextmanager
def fake_dynamodb(cores: set[int]) -> Iterator[str]:
    """The fake DynamoDB on ``cores``, and this process's AWS clients pointed at it meanwhile."""
    from tally_contract import aws

    url, server = serve_in_child(0.005, cores)
    settings = {"AWS_ENDPOINT_URL": url, "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
                "AWS_DEFAULT_REGION": "us-east-1"}  # fmt: skip
    saved = {name: os.environ.get(name) for name in settings}
    os.environ.update(settings)
    aws.reset()  # clients cached by an earlier bench point at its endpoint
    try:
        yield url
    finally:
        server.terminate()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        aws.reset()


def measure(client: Any, url: str, core: int, other: set[int], batch: int, batches: int, rounds: int) -> dict[str, Any]:
    """``rounds`` of ``batches`` batches of ``batch`` jobs a side; the worker on Redis at ``url``,
    once per entry of THREADS (its ``--concurrency``). Rounds alternate who goes first."""
    done: list[dict[str, Any]] = []
    with fake_dynamodb(other) as dynamo_url:
        env = {**os.environ, **TABLES, "PYTHONPATH": str(ROOT)}
        with pinned(core):
            processor.run_tally(processor.make_records(WARM, seed=99))  # warm, as a warm Lambda
        for number in range(rounds):
            records = [r for seed in range(batches) for r in processor.make_records(batch, seed=100 * number + seed)]
            sides: list[int | None] = [None, *THREADS]  # None: the SQS handler
            runs = {side: _side(side, client, url, env, records, batch, dynamo_url, core)
                    for side in (sides if number % 2 == 0 else sides[::-1])}  # fmt: skip
            handler = runs.pop(None)
            ratios = {t: round(runs[t]["jobs_per_s"] / handler["events_per_s"], 3) for t in THREADS}
            done.append({"handler": handler, "workers": runs, "ratios": ratios})
    medians = {f"threads_{t}": _median(done, t) for t in THREADS}
    return {"batch": batch, "jobs": batch * batches, "rounds": done, **medians, **medians[f"threads_{THREADS[-1]}"]}


def _side(
    side: int | None, client: Any, url: str, env: dict[str, str], records: list[dict[str, Any]], batch: int,
    dynamo_url: str, core: int,
) -> dict[str, Any]:  # fmt: skip
    if side is None:
        return _handler(records, batch, dynamo_url, core)
    command = [sys.executable, str(ROOT / "bench/drivers/tally_worker.py"), url, "full", str(side), str(batch)]
    return _worker(client, command, env, records, dynamo_url, core)


def _median(done: list[dict[str, Any]], threads: int) -> dict[str, Any]:
    """Medians over the rounds for the worker with ``threads``: its rate, the handler's, and the
    per-round ratio; ``handler``/``worker`` are the runs of the round with the median ratio."""
    ratios = [r["ratios"][threads] for r in done]
    median = sorted(done, key=lambda r: r["ratios"][threads])[len(done) // 2]
    ratio = median["ratios"][threads]
    return {"threads": threads, "ratios": ratios, "ratio": ratio, "ratio_target": TARGET_RATIO,
            "ratio_ok": ratio >= TARGET_RATIO, "handler": median["handler"], "worker": median["workers"][threads],
            "handler_events_per_s": _middle([r["handler"]["events_per_s"] for r in done]),
            "worker_jobs_per_s": _middle([r["workers"][threads]["jobs_per_s"] for r in done])}  # fmt: skip


def _middle(values: list[int]) -> int:
    return sorted(values)[len(values) // 2]


def _handler(records: list[dict[str, Any]], batch: int, dynamo_url: str, core: int) -> dict[str, Any]:
    stats(dynamo_url, reset=True)
    with pinned(core):
        wall = sum(processor.run_tally(records[i : i + batch])[0] for i in range(0, len(records), batch))
    return {"events": len(records), "seconds": round(wall, 3), "events_per_s": round(len(records) / wall),
            **_requests(dynamo_url, len(records))}  # fmt: skip


def _worker(client: Any, command: list[str], env: dict[str, str], records: list[dict[str, Any]], dynamo_url: str,
            core: int) -> dict[str, Any]:  # fmt: skip
    client.flushdb()
    fill(client, [r["body"] for r in processor.make_records(WARM, seed=98)])
    fill(client, [r["body"] for r in records], key=STAGED)
    result = drain(client, command, env, len(records), core, warm=WARM, warmed=lambda: stats(dynamo_url, reset=True))
    return {**result, **_requests(dynamo_url, len(records))}


def _requests(dynamo_url: str, events: int) -> dict[str, Any]:
    requests: dict[str, int] = stats(dynamo_url)["requests"]
    return {"requests": requests, "requests_per_1000": round(sum(requests.values()) * 1000 / events, 1)}


def report(result: dict[str, Any]) -> None:
    batch = result["batch"]
    print(f"full pipeline, 5 ms DB: {result['jobs']:,} jobs a side a round in batches of {batch:,}, one core; "
          f"medians of {len(result['rounds'])} rounds, alternating who goes first")  # fmt: skip
    rows = [("SQS handler (bench.processor's), events/s", f"{result['handler_events_per_s']:,}", "baseline", "")]
    for threads in THREADS:
        run = result[f"threads_{threads}"]
        rows += [
            (f"Redis worker, --concurrency {threads}, jobs/s", f"{run['worker_jobs_per_s']:,}", "", ""),
            (f"  ratio to the SQS handler, per round {run['ratios']}", f"{run['ratio']}x", f">= {TARGET_RATIO}x",
             "PASS" if run["ratio_ok"] else "MISS"),
        ]  # fmt: skip
    requests = f"{result['handler']['requests_per_1000']} / {result['worker']['requests_per_1000']}"
    rows.append(("DynamoDB requests per 1,000 events, handler / worker", requests, "", ""))
    for name, value, target, ok in rows:
        print(f"  {name:<58} {value:>16}  {target:<10} {ok}")
