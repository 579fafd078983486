"""Local pipeline throughput and latency: `tally up` as a subprocess, driven by `tally send`'s
Sender, against the raw capacity of the same emulator.

    python -m bench.local [--events 2000] [--rate R] [--seconds 20] [--quick]

1. Baseline: one thread doing SendMessage + PutItem pairs straight against `tally up`'s moto
   server (a scratch queue and table), before any traffic: what one event's two writes cost
   the emulator at best.
2. Full speed: one Sender posting 20-event batches back to back; then the same at a fixed rate
   (default: half the sustained rate just measured, so the queue should not build up).
3. Accepted to counted: every event of a run carries the page ``/bench/<run>/<slot>``, one
   slot per 0.25 s of sending. A watcher queries the hour bucket's page counters every 0.2 s
   and notes when each slot's pageviews first reach the number of its events the API
   accepted. An event's latency is that moment minus the moment its request got its 202: an
   upper bound, at most the slot width plus the poll interval late (the events of one slot
   counted last decide the slot). Sustained events/s = events / (last slot counted - start).
"""

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from tests.support.servers import free_port

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
SLOT, POLL, BATCH = 0.25, 0.2, 20
BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"


class Watcher(threading.Thread):
    """Polls the page counters (events, ``ev``) of one run's slots; keeps when each changed."""

    def __init__(self, store: Any, prefix: str) -> None:
        super().__init__(name="watcher", daemon=True)
        self.since = time.time()
        self.store, self.prefix = store, prefix
        self.seen: dict[str, list[tuple[float, int]]] = defaultdict(list)  # slot -> (time, pv)
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.wait(POLL):
            now, counts = time.time(), self.counts()
            for slot, pv in counts.items():
                history = self.seen[slot]
                if not history or history[-1][1] != pv:
                    history.append((now, pv))

    def counts(self) -> dict[str, int]:
        from tally_store.base import Bucket

        # One read a poll (two across an hour boundary): the watcher's load on the emulator stays small.
        hours = {time.strftime("%Y-%m-%dT%H", time.gmtime(at)) for at in (self.since, time.time())}
        counts: dict[str, int] = defaultdict(int)
        for hour in hours:
            for page, row in self.store.dimension(Bucket("local", "h", hour), "page").items():
                if page.startswith(self.prefix):
                    counts[page.rsplit("/", 1)[1]] += row.live.get("ev", 0)
        return counts

    def counted_at(self, slot: str, accepted: int) -> float | None:
        return next((at for at, pv in self.seen.get(slot, []) if pv >= accepted), None)


def start_up(workdir: Path) -> tuple["subprocess.Popen[bytes]", dict[str, Any]]:
    api_port, aws_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT_URL")}
    env.update(PYTHONPATH=str(ROOT), TALLY_STATE_DIR=str(workdir / "state"), TALLY_CONFIG=str(workdir / "none.toml"))
    (workdir / "none.toml").write_text("")
    log = (workdir / "up.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "tally_cli", "up", "--port", str(api_port),
                             "--aws-port", str(aws_port)], env=env, cwd=workdir, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
    state_file = workdir / "state" / "local.json"
    deadline = time.monotonic() + 120
    while not state_file.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"tally up did not start: {(workdir / 'up.log').read_text()[-2000:]}")
        time.sleep(0.1)
    time.sleep(0.2)  # the file is written whole before the threads settle
    return proc, json.loads(state_file.read_text())


def aws(state: dict[str, Any], service: str) -> Any:
    import boto3

    return boto3.client(service, endpoint_url=state["endpoint_url"], region_name=state["region"],
                        aws_access_key_id="local", aws_secret_access_key="local")  # fmt: skip


def baseline(state: dict[str, Any], seconds: float) -> dict[str, Any]:
    """SendMessage + PutItem pairs, one thread, for ``seconds``: the emulator's raw rate."""
    sqs, dynamodb = aws(state, "sqs"), aws(state, "dynamodb")
    queue = sqs.create_queue(QueueName="bench-baseline")["QueueUrl"]
    dynamodb.create_table(TableName="bench-baseline", BillingMode="PAY_PER_REQUEST",
                          AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                          KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])  # fmt: skip
    body = json.dumps(
        {"url": "https://shop.example.com/pricing", "referrer": "https://www.google.com/"} | {"x": "y" * 400}
    )
    done, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        sqs.send_message(QueueUrl=queue, MessageBody=body)
        dynamodb.put_item(TableName="bench-baseline", Item={"pk": {"S": str(done)}, "body": {"S": body}})
        done += 1
    elapsed = time.perf_counter() - started
    sqs.delete_queue(QueueUrl=queue)
    dynamodb.delete_table(TableName="bench-baseline")
    return {"pairs": done, "seconds": elapsed, "events_per_s": done / elapsed}


def drive(state: dict[str, Any], run: str, events: int, rate: float) -> dict[str, Any]:
    """Send ``events`` (at ``rate`` events/s, 0 = full speed) tagged by slot; time each 202."""
    from tally_cli.traffic import SITE, Sender, Summary, Traffic, pace

    sender = Sender(state["api_url"], state["write_key"], state["secret_key"])
    traffic, summary = Traffic(random.Random(run)), Summary()
    watcher = Watcher(_store(aws(state, "dynamodb"), state), f"/bench/{run}/")
    watcher.start()
    accepted: dict[str, int] = defaultdict(int)
    requests: Requests = []
    started, paced = time.time(), time.monotonic()
    sent = 0
    while sent < events:
        pace(rate, paced, sent)
        slot = f"{int((time.time() - started) / SLOT):05d}"
        tag = {"url": f"{SITE}/bench/{run}/{slot}", "user_agent": BROWSER}  # bots count in no page counter
        batch = [traffic.event() | tag for _ in range(min(BATCH, events - sent))]
        before = summary.accepted
        sender.send(batch, summary, traffic.is_bot)
        requests.append((time.time(), slot, summary.accepted - before))
        accepted[slot] += summary.accepted - before
        sent += len(batch)
    sending = time.time() - started
    deadline = time.time() + 300  # the backlog must be gone before the next run starts
    while time.time() < deadline and any(watcher.counted_at(s, n) is None for s, n in accepted.items()):
        time.sleep(POLL)
    watcher.stopping.set()
    watcher.join(5)
    return summarise(run, rate, summary, sending, started, requests, accepted, watcher)


Requests = list[tuple[float, str, int]]  # (202 time, slot, events accepted)


def summarise(run: str, rate: float, summary: Any, sending: float, started: float,
              requests: Requests, accepted: dict[str, int], watcher: Watcher) -> dict[str, Any]:  # fmt: skip
    counted = {slot: watcher.counted_at(slot, n) for slot, n in accepted.items()}
    latencies = sorted(lat for at, slot, n in requests if (c := counted[slot]) is not None
                       for lat in [c - at] * n)  # fmt: skip
    done = [at for at in counted.values() if at is not None]
    last = max(done) if done else started
    return {
        "run": run, "rate": rate, "sent": summary.sent, "accepted": summary.accepted,
        "rejected": summary.rejected_total, "requests": summary.requests, "sending_s": sending,
        "accepted_per_s": summary.accepted / sending if sending else 0.0,
        "counted": sum(n for slot, n in accepted.items() if counted[slot] is not None),
        "sustained_per_s": summary.accepted / (last - started) if last > started else 0.0,
        "p50_s": _quantile(latencies, 0.5), "p99_s": _quantile(latencies, 0.99),
        "max_s": latencies[-1] if latencies else None, "slots": len(accepted),
    }  # fmt: skip


def _quantile(values: list[float], q: float) -> float | None:
    return values[min(len(values) - 1, int(q * len(values)))] if values else None


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.local", description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=2000, help="events of the full-speed run")
    parser.add_argument(
        "--rate",
        type=float,
        default=0.0,
        help="events/s of the fixed-rate run (default: half the full-speed sustained rate)",
    )
    parser.add_argument("--seconds", type=float, default=20.0, help="length of the fixed-rate run")
    parser.add_argument("--quick", action="store_true", help="400 events; 10 s at the fixed rate")
    args = parser.parse_args(argv)
    events, seconds = (400, 10.0) if args.quick else (args.events, args.seconds)
    results: dict[str, Any] = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                               "load_before": round(os.getloadavg()[0], 2)}  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="tally-bench-local-") as tmp:
        proc, state = start_up(Path(tmp))
        try:
            results["baseline"] = baseline(state, 3.0 if args.quick else 8.0)
            results["full_speed"] = drive(state, "full", events, 0)
            rate = args.rate or max(1.0, round(results["full_speed"]["sustained_per_s"] / 2))
            results["fixed_rate"] = drive(state, "fixed", int(rate * seconds), rate)
        finally:
            proc.terminate()
            proc.wait(60)
    results["load_after"] = round(os.getloadavg()[0], 2)
    results["ratio_full_speed_to_baseline"] = (
        results["full_speed"]["sustained_per_s"] / results["baseline"]["events_per_s"]
    )
    report(results)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "local.json").write_text(json.dumps(results, indent=2) + "\n")
    lost = [r for r in ("full_speed", "fixed_rate") if results[r]["counted"] != results[r]["accepted"]]
    return 1 if lost else 0


def report(results: dict[str, Any]) -> None:
    base = results["baseline"]
    load = f"load {results['load_before']} -> {results['load_after']}"
    print(f"local pipeline (tally up: batches of up to 100, 1 s window), {load}")
    print(f"  baseline: SendMessage + PutItem pairs on the same emulator: {base['events_per_s']:.0f} /s")
    for name in ("full_speed", "fixed_rate"):
        r = results[name]
        label = "full speed" if not r["rate"] else f"{r['rate']:g} events/s"
        print(f"  {label:>14}: {r['accepted']:,} accepted ({r['accepted_per_s']:.0f}/s), {r['counted']:,} counted, "
              f"sustained {r['sustained_per_s']:.0f} events/s; accepted->counted p50 {_s(r['p50_s'])} "
              f"p99 {_s(r['p99_s'])}")  # fmt: skip
    print(f"  full speed / baseline: {results['ratio_full_speed_to_baseline']:.2f}x")


def _s(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f} s"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))


def _store(client: Any, state: dict[str, Any]) -> Any:
    from tally_store.dynamodb import DynamoDBStore
    from tally_store.dynamodb_calls import Calls

    return DynamoDBStore(state["events_table"], state["aggregates_table"], Calls(client))
