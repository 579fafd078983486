"""Ingest benchmark: cold start against a bare boto3 SQS client, and warm handler CPU.

    python -m bench.ingest [--quick] [--runs N] [--importtime]

Cold start: fresh processes, baseline (``import boto3; boto3.client("sqs")``) and Tally
(``import app`` + its first ``POST /events``) interleaved, against one moto server. Target:
Tally / baseline <= 1.15x. Warm: CPU per request for one event and a batch of 20, on SQS
(moto) and ``memory://``. Writes bench/results/ingest.json. A missed target is printed, not
an error: the exit status is non-zero only when the bench itself failed.
"""

import argparse
import datetime
import json
import os
import platform
import sys
from pathlib import Path
from typing import Any

from bench import coldstart, warm
from bench.mockaws import BenchError, mock_aws

TARGET_RATIO = 1.15
RESULTS = Path(__file__).resolve().parent / "results" / "ingest.json"
Row = tuple[str, str, str, str, str, str]


def cold_rows(cold: dict[str, Any]) -> list[Row]:
    rows: list[Row] = []
    for label, key in (
        ("cold start, in script (ms, median)", "script_ms"),
        ("cold start, whole process (ms, median)", "process_ms"),
    ):
        tally, base = cold["tally"][key]["median"], cold["baseline"][key]["median"]
        ratio = tally / base
        verdict = "PASS" if ratio <= TARGET_RATIO else "FAIL"
        rows.append((label, f"{tally:.1f}", f"{base:.1f}", f"{ratio:.2f}x", f"<= {TARGET_RATIO}x", verdict))
    sides = [cold["tally"], cold["baseline"]]
    imports = [side["import_ms"]["median"] for side in sides]
    rest = [side["script_ms"]["median"] - side["import_ms"]["median"] for side in sides]  # difference of medians
    rows.append(("  of which import (app / boto3)", f"{imports[0]:.1f}", f"{imports[1]:.1f}", "", "", ""))
    rows.append(("  of which the rest: request / client()", f"{rest[0]:.1f}", f"{rest[1]:.1f}", "", "", ""))
    return rows


def warm_rows(figures: dict[str, dict[str, float]]) -> list[Row]:
    rows: list[Row] = []
    for size in (1, 20):
        sqs, bare, memory = figures[f"sqs_{size}"], figures[f"bare_sqs_{size}"], figures[f"memory_{size}"]
        what = "1 event" if size == 1 else f"batch of {size}"
        ratio = f"{sqs['cpu_us_per_request'] / bare['cpu_us_per_request']:.2f}x"
        rows.append((f"warm CPU, {what}, SQS (µs/request)", _us(sqs, "request"), _us(bare, "request"), ratio, "", ""))
        if size > 1:
            rows.append((f"warm CPU, {what}, SQS (µs/event)", _us(sqs, "event"), _us(bare, "event"), "", "", ""))
        rows.append((f"warm CPU, {what}, memory:// (µs/request)", _us(memory, "request"), "", "", "", ""))
        if size > 1:
            rows.append((f"warm CPU, {what}, memory:// (µs/event)", _us(memory, "event"), "", "", "", ""))
    return rows


def _us(figures: dict[str, float], per: str) -> str:
    return f"{figures[f'cpu_us_per_{per}']:,.0f}"


def print_table(rows: list[Row]) -> None:
    header: Row = ("figure", "value", "baseline", "ratio", "target", "verdict")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        cells = [row[0].ljust(widths[0])] + [cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True)]
        print("  " + "  ".join(cells).rstrip())


def print_profile(name: str, rows: list[dict[str, Any]]) -> None:
    print(f"\n  python -X importtime, {name} driver (inflated by the tracing): cumulative ms, top-level imports")
    for row in rows:
        print(f"    {row['cum_ms']:7.1f}  {row['module']}")
        for child in row["children"]:
            print(f"    {child['cum_ms']:7.1f}      {child['module']}")


def machine() -> dict[str, Any]:
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    return {"python": platform.python_version(), "platform": platform.platform(), "cpus": cpus, "load_1min": load}


def run(runs: int, sqs_iterations: int, memory_iterations: int, importtime: bool) -> dict[str, Any]:
    before = machine()
    with mock_aws() as aws:
        warm_counts = (
            f"{sqs_iterations} SQS / {memory_iterations} memory:// requests per figure; load {before['load_1min']}"
        )
        print(
            f"ingest bench: moto at {aws.endpoint}; {runs} cold runs a side, interleaved; warm: {warm_counts}",
            flush=True,
        )
        cold = coldstart.measure(aws, runs)
        profiles = {name: coldstart.import_profile(aws, name) for name in ("baseline", "tally")} if importtime else {}
        figures = warm.measure(aws, sqs_iterations, memory_iterations)
        os.environ["BENCH_WRITE_KEY"] = aws.write_key
        routes = warm.measure_routes(max(50, memory_iterations // 10))
    ratio = cold["tally"]["script_ms"]["median"] / cold["baseline"]["script_ms"]["median"]
    process_ratio = cold["tally"]["process_ms"]["median"] / cold["baseline"]["process_ms"]["median"]
    return {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": before,
        "load_1min_after": machine()["load_1min"],  # another busy process on the machine skews every figure
        "target_ratio": TARGET_RATIO,
        "cold": cold,
        "cold_ratio": round(ratio, 3),
        "cold_process_ratio": round(process_ratio, 3),
        "cold_ok": ratio <= TARGET_RATIO,
        "cold_process_ok": process_ratio <= TARGET_RATIO,
        "warm": figures,
        "routes": routes,
        "importtime": profiles,
    }


def route_rows(routes: dict[str, dict[str, float]]) -> list[Row]:
    return [(f"warm CPU per event, {route}, memory:// (µs/event)", _us(figures, "event"), "", "", "", "")
            for route, figures in routes.items()]  # fmt: skip


def report(result: dict[str, Any]) -> None:
    print_table(cold_rows(result["cold"]) + warm_rows(result["warm"]) + route_rows(result["routes"]))
    paired = result["cold"]["paired_script_ratio_median"]
    print(f"  cold start, in script: median of the {result['cold']['tally']['runs']} paired run ratios {paired:.2f}x")
    print("  warm baseline: the same SendMessageBatch calls made directly on the same botocore client")
    for name, rows in result["importtime"].items():
        print_profile(name, rows)
    for ok, ratio, what in ((result["cold_ok"], result["cold_ratio"], "in script"),
                            (result["cold_process_ok"], result["cold_process_ratio"], "whole process")):  # fmt: skip
        if not ok:
            print(f"  MISSED TARGET: cold start ({what}) is {ratio:.2f}x the baseline, target <= {TARGET_RATIO}x")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer runs and iterations (CI)")
    parser.add_argument("--runs", type=int, help="cold runs of each side (default 15, --quick 5)")
    parser.add_argument("--importtime", action="store_true", help="also profile each driver with -X importtime")
    args = parser.parse_args(argv)
    runs = args.runs or (5 if args.quick else 15)
    sqs_iterations, memory_iterations = (60, 300) if args.quick else (300, 2000)
    try:
        result = run(runs, sqs_iterations, memory_iterations, args.importtime)
    except BenchError as exc:
        print(f"ingest bench failed: {exc}", file=sys.stderr)
        return 1
    report(result)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"  wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
