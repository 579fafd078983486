"""The rollup's work per event, its CPU per minute of traffic, and how it divides over workers,
beside the rollup as it was before the store seam, measured in the same run.

    python -m bench.rollup [--sites 4] [--rate 5] [--minutes 75] [--baseline 6f86936] [--quick] [--export]

SITES sites, each sending RATE events/s, over MINUTES simulated minutes (from midnight, so
hours close and the day fills), against bench/fake_dynamodb.py storing the tables and answering
every call after 5 ms, on its own core; the simulation (bench/drivers/rollup_sim.py) is pinned
to the other. After each simulated minute one rollup run: K workers take the planned buckets
from one queue, as rollup_worker functions take them from the rollup queue. The baseline is the
same driver run in a copy of the tree at ``--baseline`` (git archive), whose rollup was one
sequential function. Prints one line per figure; writes bench/results/rollup.json.
``--export`` instead compares one worker without and with the hourly export (tally_export, to
files in a temp dir: the CPU of the lines and the gzip; an S3 PUT per site-hour is not in it).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.fake_dynamodb import serve_in_child

ROOT = Path(__file__).resolve().parent.parent
DRIVER = Path(__file__).resolve().parent / "drivers" / "rollup_sim.py"
BASELINE = "6f86936"
TARGET = 5000.0  # events/s of traffic one worker keeps up with on one core


def run(tree: Path, sites: int, rate: float, minutes: int, workers: int, export: str = "") -> dict[str, Any]:
    cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else [0]
    url, server = serve_in_child(0.005, set(cores[1:]) or None, storing=True)
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("TALLY_EXPORT_DIR", "TALLY_EXPORT_BUCKET")},
        **({"TALLY_EXPORT_DIR": export} if export else {}),
        "PYTHONPATH": str(tree),
        "AWS_ENDPOINT_URL": url,
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_METRICS_DISABLED": "true",
    }
    command = [sys.executable, str(tree / "bench" / "drivers" / "rollup_sim.py"), str(sites), str(rate),
               str(minutes), str(workers), "7"]  # fmt: skip
    if hasattr(os, "sched_setaffinity"):
        command = ["taskset", "-c", str(cores[0]), *command]
    try:
        done = subprocess.run(command, cwd=tree, env=env, capture_output=True, text=True, check=False, timeout=7200)
    finally:
        server.terminate()
    if done.returncode:
        raise RuntimeError(f"rollup simulation failed ({tree}):\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def baseline_tree(commit: str, into: Path) -> Path:
    """A copy of the tree at ``commit``, with today's driver (it speaks both rollups)."""
    archive = subprocess.run(["git", "archive", commit], cwd=ROOT, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    (into / "bench" / "drivers").mkdir(parents=True, exist_ok=True)
    (into / "bench" / "drivers" / "rollup_sim.py").write_text(DRIVER.read_text())
    return into


def figures(result: dict[str, Any]) -> dict[str, float]:
    events = result["events"]
    return {
        "raw_reads_per_event": (result["events_read"] + result.get("final_events_read", 0)) / events,
        "cpu_s_per_traffic_minute": result["cpu_s"] / result["minutes"],
        "keeps_up_events_per_s": events / result["cpu_s"] if result["cpu_s"] else 0.0,
        "keeps_up_wall_events_per_s": events / result["wall_s"] if result["wall_s"] else 0.0,
        "cpu_us_per_event": result["cpu_s"] / events * 1e6,
    }


def report(name: str, result: dict[str, Any]) -> None:
    f = figures(result)
    took = result["took"]
    shares = " ".join(f"{n / max(1, sum(took)):.0%}" for n in took)
    print(f"{name}: {result['sites']} sites x {result['rate']:g} events/s, {result['minutes']} simulated minutes, "
          f"{result['events']:,} events, {result['workers']} worker(s)")  # fmt: skip
    print(f"  raw reads per event: {f['raw_reads_per_event']:.2f}")
    print(f"  rollup CPU-seconds per minute of traffic: {f['cpu_s_per_traffic_minute']:.3f}; one worker keeps up "
          f"with {f['keeps_up_events_per_s']:,.0f} events/s of traffic on one core "
          f"({f['keeps_up_wall_events_per_s']:,.0f} events/s by wall time, 5 ms a call)")  # fmt: skip
    print(f"  workers: {result['workers']}, share of buckets each took: {shares}, "
          f"CPU per event: {f['cpu_us_per_event']:.1f} us")  # fmt: skip


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.rollup", description=__doc__.split("\n")[0])
    parser.add_argument("--sites", type=int, default=4)
    parser.add_argument("--rate", type=float, default=5.0, help="events/s per site")
    parser.add_argument("--minutes", type=int, default=75, help="simulated minutes (past the first hour)")
    parser.add_argument("--baseline", default=BASELINE, help="the commit to compare with ('' for none)")
    parser.add_argument("--quick", action="store_true", help="2 sites x 10 events/s, 20 minutes")
    parser.add_argument("--export", action="store_true", help="one worker without and with the hourly export")
    args = parser.parse_args(argv)
    sites, rate, minutes = (2, 10.0, 20) if args.quick else (args.sites, args.rate, args.minutes)
    if args.export:
        return compare_export(sites, rate, minutes)
    results: dict[str, Any] = {"current": {}, "baseline": None}
    for workers in (1, 2, 4):
        results["current"][workers] = result = run(ROOT, sites, rate, minutes, workers)
        report(f"rollup (current, K={workers})", result)
    if args.baseline:
        with tempfile.TemporaryDirectory() as tmp:
            results["baseline"] = result = run(baseline_tree(args.baseline, Path(tmp)), sites, rate, minutes, 1)
        before = " (before the store seam: one sequential function)" if args.baseline == BASELINE else ""
        report(f"rollup at {args.baseline}{before}", result)
    from bench.rollup_model import stored_bytes

    results["stored_bytes_per_event"] = kept = stored_bytes()
    print("bytes the rollup keeps per event, by blob:", ", ".join(f"{k} {v:.1f}" for k, v in kept.items()))
    one = figures(results["current"][1])
    verdict = "ok" if one["keeps_up_events_per_s"] >= TARGET else "MISSED TARGET"
    print(f"one worker keeps up with {one['keeps_up_events_per_s']:,.0f} events/s, target >= {TARGET:,.0f}: {verdict}")
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    summary = {
        "current": {k: {**v, **figures(v)} for k, v in results["current"].items()},
        "baseline": {**results["baseline"], **figures(results["baseline"])} if results["baseline"] else None,
        "stored_bytes_per_event": kept,
    }
    (out / "rollup.json").write_text(json.dumps(summary, indent=2) + "\n")
    return 0


def compare_export(sites: int, rate: float, minutes: int) -> int:
    """The rollup's whole CPU (steady runs and the final ones, where the hours of a short run
    seal) per event, without and with the export, in the same run."""
    with tempfile.TemporaryDirectory() as tmp:
        plain = run(ROOT, sites, rate, minutes, 1)
        exported = run(ROOT, sites, rate, minutes, 1, export=tmp)
        files = sorted(Path(tmp).rglob("*.ndjson.gz"))
        size = sum(f.stat().st_size for f in files)
    per_event = {}
    for name, result in (("without export", plain), ("with export", exported)):
        per_event[name] = (result["cpu_s"] + result["final_cpu_s"]) / result["events"] * 1e6
        reads = (result["events_read"] + result["final_events_read"]) / result["events"]
        print(f"rollup {name}: {result['events']:,} events, raw reads per event {reads:.2f}, "
              f"CPU per event {per_event[name]:.1f} us")  # fmt: skip
    ratio = per_event["with export"] / per_event["without export"]
    print(
        f"export: {len(files)} files, {size / exported['events']:.1f} bytes per event gzipped; "
        f"CPU with/without: {ratio:.2f}x (+{per_event['with export'] - per_event['without export']:.1f} us an event)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
