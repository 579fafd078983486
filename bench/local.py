"""Local pipeline throughput and latency: `tally up` as a subprocess, driven by `tally send`'s
Sender in another process; the default (SQLite queue and store) and, in the same run, the
`--aws-emulator` pipeline (moto's SQS and DynamoDB) beside it.

    python -m bench.local [--events 20000] [--seconds 20] [--rate 1000] [--quick]

Per mode:
1. Full speed: a sender process posting batches of ``--batch`` events (100) back to back.
2. Fixed rate: the same at ``--rate`` events/s (1,000; the emulator: half its full-speed
   sustained rate, which is all it keeps up with) for ``--seconds``.
3. Accepted to counted: every event of a run carries the page ``/bench/<run>/<slot>``, one
   slot per 0.25 s of sending. A watcher in this process reads the hour bucket's page
   counters through the store protocol every 0.1 s (SQLite: the file; emulator: DynamoDB in
   moto) and notes when each slot's count first reaches the events the API accepted for it.
   An event's latency is that moment minus the moment its request got its 202: an upper
   bound, at most the slot width plus the poll interval late. Sustained events/s = events /
   (last slot counted - start).
Targets (docs/benchmarks.md): default full speed >= 2,000 events/s sustained; default p99
accepted-to-counted <= 2 s at 1,000 events/s.
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
SLOT, POLL, BATCH = 0.25, 0.1, 100
BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
TARGET_SUSTAINED, TARGET_P99, TARGET_RATE = 2000.0, 2.0, 1000.0
Requests = list[tuple[float, str, int]]  # (202 time, slot, events accepted)


class Watcher(threading.Thread):
    """Polls the page counters (events, ``ev``) of one run's slots; keeps when each changed."""

    def __init__(self, store: Any, prefix: str) -> None:
        super().__init__(name="watcher", daemon=True)
        self.since = time.time()
        self.store, self.prefix = store, prefix
        self.seen: dict[str, list[tuple[float, int]]] = defaultdict(list)  # slot -> (time, events)
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.wait(POLL):
            now, counts = time.time(), self.counts()
            for slot, events in counts.items():
                history = self.seen[slot]
                if not history or history[-1][1] != events:
                    history.append((now, events))

    def counts(self) -> dict[str, int]:
        from tally_store.base import Bucket

        hours = {time.strftime("%Y-%m-%dT%H", time.gmtime(at)) for at in (self.since, time.time())}
        counts: dict[str, int] = defaultdict(int)
        for hour in hours:
            for page, row in self.store.dimension(Bucket("local", "h", hour), "page").items():
                if page.startswith(self.prefix):
                    counts[page.rsplit("/", 1)[1]] += row.live.get("ev", 0)
        return counts

    def counted_at(self, slot: str, accepted: int) -> float | None:
        return next((at for at, events in self.seen.get(slot, []) if events >= accepted), None)


def start_up(workdir: Path, *, emulator: bool = False) -> tuple["subprocess.Popen[bytes]", dict[str, Any]]:
    name = "emulator" if emulator else "default"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT_URL")}
    env.update(PYTHONPATH=str(ROOT), TALLY_STATE_DIR=str(workdir / name), TALLY_CONFIG=str(workdir / "none.toml"))
    (workdir / "none.toml").write_text("")
    mode = ["--aws-emulator", "--aws-port", str(free_port())] if emulator else []
    args = [sys.executable, "-m", "tally_cli", "up", "--port", str(free_port()), "--data-dir", str(workdir / name),
            "--rollup-interval", "600", *mode]  # fmt: skip
    log = (workdir / f"up-{name}.log").open("wb")
    proc = subprocess.Popen(args, env=env, cwd=workdir, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    state_file = workdir / name / "local.json"
    deadline = time.monotonic() + 120
    while not state_file.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"tally up did not start: {(workdir / f'up-{name}.log').read_text()[-2000:]}")
        time.sleep(0.1)
    return proc, json.loads(state_file.read_text())


def store_of(state: dict[str, Any]) -> Any:
    """The store `tally up` writes, read from this process."""
    if state["store_url"]:
        import tally_store

        return tally_store.from_url(state["store_url"])
    import boto3

    from tally_store.dynamodb import DynamoDBStore
    from tally_store.dynamodb_calls import Calls

    client = boto3.client("dynamodb", endpoint_url=state["endpoint_url"], region_name=state["region"],
                          aws_access_key_id="local", aws_secret_access_key="local")  # fmt: skip
    return DynamoDBStore(f"tally-{state['stage']}-events", f"tally-{state['stage']}-aggregates", Calls(client))


def drive(state: dict[str, Any], run: str, events: int, rate: float, batch: int = BATCH) -> dict[str, Any]:
    """A sender process sends ``events`` (at ``rate`` events/s, 0 = full speed) tagged by slot."""
    watcher = Watcher(store_of(state), f"/bench/{run}/")
    watcher.start()
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        args = [sys.executable, "-m", "bench.local", "--sender", json.dumps(
            {"api_url": state["api_url"], "write_key": state["write_key"], "secret_key": state["secret_key"],
             "run": run, "events": events, "rate": rate, "batch": batch, "out": out.name})]  # fmt: skip
        subprocess.run(args, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, check=True, timeout=900)
        sent = json.loads(Path(out.name).read_text())
    accepted: dict[str, int] = defaultdict(int)
    for _, slot, n in sent["requests"]:
        accepted[slot] += n
    deadline = time.time() + 300  # the backlog must be gone before the next run starts
    while time.time() < deadline and any(watcher.counted_at(s, n) is None for s, n in accepted.items()):
        time.sleep(POLL)
    watcher.stopping.set()
    watcher.join(5)
    return summarise(run, rate, sent, accepted, watcher)


def send(spec: dict[str, Any]) -> None:
    """The sender process: `tally send`'s Sender and traffic, each event tagged with its slot."""
    from tally_cli.traffic import SITE, Sender, Summary, Traffic, pace

    sender = Sender(spec["api_url"], spec["write_key"], spec["secret_key"])
    traffic, summary = Traffic(random.Random(spec["run"])), Summary()
    requests: Requests = []
    started, paced, done, events = time.time(), time.monotonic(), 0, spec["events"]
    while done < events:
        pace(spec["rate"], paced, done)
        slot = f"{int((time.time() - started) / SLOT):05d}"
        tag = {"url": f"{SITE}/bench/{spec['run']}/{slot}", "user_agent": BROWSER}  # bots count in no page
        chunk = [traffic.event() | tag for _ in range(min(spec["batch"], events - done))]
        before = summary.accepted
        sender.send(chunk, summary, traffic.is_bot)
        requests.append((time.time(), slot, summary.accepted - before))
        done += len(chunk)
    Path(spec["out"]).write_text(json.dumps({
        "started": started, "sending_s": time.time() - started, "sent": summary.sent, "accepted": summary.accepted,
        "rejected": summary.rejected_total, "requests": requests}))  # fmt: skip


def summarise(
    run: str, rate: float, sent: dict[str, Any], accepted: dict[str, int], watcher: Watcher
) -> dict[str, Any]:
    counted = {slot: watcher.counted_at(slot, n) for slot, n in accepted.items()}
    latencies = sorted(lat for at, slot, n in sent["requests"] if (c := counted[slot]) is not None
                       for lat in [c - at] * n)  # fmt: skip
    done = [at for at in counted.values() if at is not None]
    started, sending = sent["started"], sent["sending_s"]
    last = max(done) if done else started
    return {
        "run": run, "rate": rate, "sent": sent["sent"], "accepted": sent["accepted"], "rejected": sent["rejected"],
        "requests": len(sent["requests"]), "sending_s": sending,
        "accepted_per_s": sent["accepted"] / sending if sending else 0.0,
        "counted": sum(n for slot, n in accepted.items() if counted[slot] is not None),
        "sustained_per_s": sent["accepted"] / (last - started) if last > started else 0.0,
        "p50_s": _quantile(latencies, 0.5), "p99_s": _quantile(latencies, 0.99),
        "max_s": latencies[-1] if latencies else None, "slots": len(accepted),
    }  # fmt: skip


def _quantile(values: list[float], q: float) -> float | None:
    return values[min(len(values) - 1, int(q * len(values)))] if values else None


def measure(workdir: Path, *, emulator: bool, events: int, seconds: float, rate: float) -> dict[str, Any]:
    proc, state = start_up(workdir, emulator=emulator)
    try:
        drive(state, "warmup", 200, 0)  # imports, first connections, the site cache
        full = drive(state, "full", events, 0)
        fixed_rate = rate if not emulator else max(1.0, round(full["sustained_per_s"] / 2))
        fixed = drive(state, "fixed", int(fixed_rate * seconds), fixed_rate)
    finally:
        proc.terminate()
        proc.wait(60)
    return {"full_speed": full, "fixed_rate": fixed}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.local", description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=20_000, help="events of the default's full-speed run")
    parser.add_argument("--rate", type=float, default=TARGET_RATE, help="events/s of the default's fixed-rate run")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of the fixed-rate runs")
    parser.add_argument("--quick", action="store_true", help="2,000 events, 5 s at the fixed rate")
    parser.add_argument("--sender", help=argparse.SUPPRESS)  # the sender process's spec (JSON)
    args = parser.parse_args(argv)
    if args.sender:
        send(json.loads(args.sender))
        return 0
    events, seconds = (2000, 5.0) if args.quick else (args.events, args.seconds)
    results: dict[str, Any] = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                               "load_before": round(os.getloadavg()[0], 2)}  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="tally-bench-local-") as tmp:
        results["default"] = measure(Path(tmp), emulator=False, events=events, seconds=seconds, rate=args.rate)
        results["aws_emulator"] = measure(Path(tmp), emulator=True, events=max(200, events // 40), seconds=seconds,
                                          rate=0)  # fmt: skip
    results["load_after"] = round(os.getloadavg()[0], 2)
    default, emulated = results["default"]["full_speed"], results["aws_emulator"]["full_speed"]
    results["ratio_default_to_emulator"] = default["sustained_per_s"] / max(emulated["sustained_per_s"], 1e-9)
    report(results)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "local.json").write_text(json.dumps(results, indent=2) + "\n")
    runs = [results[mode][run] for mode in ("default", "aws_emulator") for run in ("full_speed", "fixed_rate")]
    return 1 if any(r["counted"] != r["accepted"] for r in runs) else 0


def report(results: dict[str, Any]) -> None:
    print(f"local pipeline: tally send (batches of {BATCH}) in another process against tally up, "
          f"load {results['load_before']} -> {results['load_after']}")  # fmt: skip
    for mode, label in (("default", "default (SQLite)"), ("aws_emulator", "--aws-emulator")):
        for name in ("full_speed", "fixed_rate"):
            r = results[mode][name]
            rate = "full speed" if not r["rate"] else f"{r['rate']:g} events/s"
            print(f"  {label:>16} {rate:>16}: {r['accepted']:,} accepted ({r['accepted_per_s']:.0f}/s), "
                  f"{r['counted']:,} counted, sustained {r['sustained_per_s']:.0f} events/s; "
                  f"accepted->counted p50 {_s(r['p50_s'])} p99 {_s(r['p99_s'])}")  # fmt: skip
    default = results["default"]
    sustained, p99 = default["full_speed"]["sustained_per_s"], default["fixed_rate"]["p99_s"]
    print(f"  default sustained {sustained:.0f} events/s (target >= {TARGET_SUSTAINED:.0f}): "
          f"{'PASS' if sustained >= TARGET_SUSTAINED else 'MISSED TARGET'}")  # fmt: skip
    print(f"  default p99 at {default['fixed_rate']['rate']:g} events/s {_s(p99)} (target <= {TARGET_P99:g} s): "
          f"{'PASS' if p99 is not None and p99 <= TARGET_P99 else 'MISSED TARGET'}")  # fmt: skip
    print(f"  default / --aws-emulator, sustained: {results['ratio_default_to_emulator']:.1f}x")


def _s(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f} s"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
