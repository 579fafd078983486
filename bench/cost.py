"""Cost per million events, measured: real traffic through the real code against moto, every
AWS request counted, times the price table in docs/prices.json.

    python -m bench.cost [--events 10000] [--quick] [--prices]

For each client kind (one event a request; 20 a request) the stack from infra/template.yaml is
deployed into moto (stage ``prod``'s settings), and realistic traffic (tally_cli.traffic) goes
in, 1,000 events at a time: API Gateway events into the app, then the local event source
(tally_cli/local/event_source.py, Lambda's poller: ReceiveMessage of 10, DeleteMessageBatch)
gathers the stage's batch of 1,000 and invokes ``process_events``. Then the rollup, its clock
two days ahead, seals the minutes, then their hour, then the day (the schedule sends the work,
``rollup_worker`` seals). Every AWS call is charged to its function (bench/aws_meter.py);
handler wall times give GB-seconds. The rollup's cost depends on time, not on one run's events
(a minute is sealed every minute, a day refreshed every hour): the run measures one pass per
granularity, and bench/rollup_model.py lays those passes over a day of steady traffic at
--rate events/s.
--prices prints the price table as
docs/benchmarks.md shows it; --peers the hosted peers' list prices (docs/peers.json, bench/peers.py),
which a full run also prints beside Tally's measured figures and writes to the JSON.
"""

import argparse
import contextlib
import io
import json
import math
import sys
import time
import warnings
from decimal import Decimal
from pathlib import Path
from typing import Any

from bench import peers

ROOT = Path(__file__).resolve().parent.parent
PRICES = ROOT / "docs" / "prices.json"
RESULTS = Path(__file__).resolve().parent / "results"
TARGET = 0.70  # $ per million events, 20-event-batch clients
BATCH = 1000  # the stage's TALLY_SQS_BATCH_SIZE
MODES = {"single": 1, "batch20": 20}
RATE = 200.0  # events/s: the rate at which a batch of 1,000 fills the stage's 5 s window
# Never AWS: fake credentials, and moto intercepts every call (as tests/conftest.py sets).
ENVIRONMENT = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing",
               "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1", "POWERTOOLS_METRICS_NAMESPACE": "Tally",
               "POWERTOOLS_TRACE_DISABLED": "true", "POWERTOOLS_LOG_LEVEL": "INFO"}  # fmt: skip


def load_prices() -> dict[str, dict[str, Any]]:
    return {row["key"]: row for row in json.loads(PRICES.read_text())["prices"]}


def price_table() -> str:
    lines = ["| what | price | source |", "|---|---|---|"]
    for row in load_prices().values():
        per = f"per {row['per']:,} {row['unit']}" if row["per"] != 1 else f"per {row['unit']}"
        usd = f"{row['usd']:.2f}" if row["usd"] >= 0.01 else format(Decimal(str(row["usd"])), "f")
        lines.append(f"| {row['what']} | ${usd} {per} | {row['source']} |")
    return "\n".join(lines)


def measure(size: int, events: int, seed: int) -> dict[str, Any]:
    import pytest

    # Imported before the stage's environment is set: it reads TALLY_STAGE once, at import, and
    # would keep "prod" for the rest of a pytest session (tests/functional/test_rollup.py expects "dev").
    import processor_lambda.observability  # noqa: F401
    from bench.cost_run import CostRun
    from tests.support.stack import deployed

    with pytest.MonkeyPatch.context() as patch:
        for name, value in ENVIRONMENT.items():
            patch.setenv(name, value)
        for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SQS", "AWS_ENDPOINT_URL_DYNAMODB"):
            patch.delenv(name, raising=False)
        logs = io.StringIO()  # the functions' log and EMF lines: counted (CloudWatch Logs), not shown
        with warnings.catch_warnings(), contextlib.redirect_stdout(logs), deployed("prod", patch) as stack:
            warnings.simplefilter("ignore")  # moto: "no CloudFormation support for AWS::CloudWatch::Alarm"
            run = CostRun(stack, patch)
            try:
                measured = run.measure(size, events, seed)
            finally:
                run.close()
        measured["log_bytes"] = len(logs.getvalue().encode())
        return measured


def price(measured: dict[str, Any], rate: float) -> dict[str, Any]:
    """Line items per million events: measured counts, the rollup at steady state (``rate``)."""
    from bench import rollup_model

    prices, per_m = load_prices(), 1_000_000 / measured["events"]
    items: list[dict[str, Any]] = []

    def add(label: str, key: str, per_million: float) -> None:
        row = prices[key]
        items.append({"item": label, "quantity_per_million": per_million, "unit": row["unit"],
                      "usd_per_million": per_million * row["usd"] / row["per"]})  # fmt: skip

    add("API Gateway requests", "apigw_request", measured["invocations"]["api_handler"] * per_m)
    for function in ("api_handler", "process_events"):
        add(f"Lambda requests: {function}", "lambda_request", measured["invocations"][function] * per_m)
        add(f"Lambda GB-s: {function}", "lambda_gb_second", measured["gb_seconds"][function] * per_m)
    for (function, _phase, op, unit), amount in sorted(measured["units"].items()):
        if function not in ("rollup", "rollup_worker") and unit in prices:  # the rollup: at steady state, below
            add(f"{function}: {op.split(':')[1]} ({unit.removeprefix('dynamodb_')})", unit, amount * per_m)
    memory = measured["memory_mb"]["rollup_worker"]
    steady = rollup_model.steady_state(measured, rate, memory, measured["rollup_cpu_per_event"])
    per_event_m = 1_000_000 / steady["events"]
    add(f"rollup at {rate:g} events/s: reads (rru)", "dynamodb_rru", steady["rru"] * per_event_m)
    add(f"rollup at {rate:g} events/s: seal writes (wru)", "dynamodb_wru", steady["wru"] * per_event_m)
    add(f"rollup at {rate:g} events/s: Lambda requests", "lambda_request", steady["invocations"] * per_event_m)
    add(f"rollup at {rate:g} events/s: Lambda GB-s", "lambda_gb_second", steady["gb_seconds"] * per_event_m)
    add(f"rollup at {rate:g} events/s: SQS requests", "sqs_request", steady["sqs_requests"] * per_event_m)
    total = sum(item["usd_per_million"] for item in items)
    return {"items": items, "usd_per_million": total, "rate": rate, "rollup_steady_state": steady}


def levers(measured: dict[str, Any], priced: dict[str, Any]) -> list[dict[str, Any]]:
    """What the biggest items would cost under a different setting, from the same measurement."""
    prices, items = load_prices(), {item["item"]: item for item in priced["items"]}
    rest, http = prices["apigw_request"], prices["apigw_http_request"]
    apigw = items["API Gateway requests"]["usd_per_million"]
    raw = sum(i["usd_per_million"] for i in priced["items"] if i["item"].startswith("process_events: BatchWriteItem"))
    counters = sum(i["usd_per_million"] for i in priced["items"] if i["item"].startswith("process_events: UpdateItem"))
    rollup = sum(i["usd_per_million"] for i in priced["items"] if i["item"].startswith("rollup at"))
    return [
        {"lever": "HTTP API instead of REST API", "usd_saved": apigw * (1 - http["usd"] / rest["usd"])},
        {"lever": "raw events, packed and compressed (share of the total)", "usd_saved": 0.0,
         "share": raw / priced["usd_per_million"]},
        {"lever": "live counters (share of the total)", "usd_saved": 0.0,
         "share": counters / priced["usd_per_million"]},
        {"lever": "the rollup (share of the total)", "usd_saved": 0.0, "share": rollup / priced["usd_per_million"]},
    ]  # fmt: skip


def report(name: str, measured: dict[str, Any], priced: dict[str, Any]) -> None:
    print(f"\n{name}: {measured['events']:,} events in {measured['requests']:,} requests, "
          f"{measured['batches']} processor batches (mean {measured['mean_batch']:.0f} records), "
          f"event times spread over {measured['event_span_s']:.0f} s")  # fmt: skip
    print(f"  {'item':<58} {'per million events':>22} {'$ / million':>12}")
    for item in sorted(priced["items"], key=lambda i: -i["usd_per_million"]):
        print(f"  {item['item']:<58} {item['quantity_per_million']:>22,.1f} {item['usd_per_million']:>12.4f}")
    print(f"  {'total':<58} {'':>22} {priced['usd_per_million']:>12.4f}")
    print(f"  not priced: {measured.get('log_bytes', 0) / measured['events']:.0f} bytes of log and EMF lines per event")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cost", description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=2_000, help="events per client kind (multiple of 1,000)")
    parser.add_argument("--quick", action="store_true", help="1,000 events per client kind")
    parser.add_argument("--rate", type=float, default=RATE, help="steady traffic for the rollup's share (events/s)")
    parser.add_argument("--prices", action="store_true", help="print the price table and exit")
    parser.add_argument("--peers", action="store_true", help="print the hosted peers' table and exit")
    args = parser.parse_args(argv)
    if args.prices or args.peers:
        print(price_table() if args.prices else peers.table())
        return 0
    events = BATCH if args.quick else max(BATCH, args.events // BATCH * BATCH)
    started = time.time()
    results: dict[str, Any] = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "events": events,
                               "load_before": _load(), "target_usd_per_million": TARGET, "modes": {}}  # fmt: skip
    print(f"cost per million events: {events:,} events per client kind, prices from {PRICES.relative_to(ROOT)}")
    for seed, (name, size) in enumerate(MODES.items()):
        measured = measure(size, events, seed)
        priced = price(measured, args.rate)
        report(name, measured, priced)
        results["modes"][name] = {"measured": _jsonable(measured), "priced": priced, "levers": levers(measured, priced)}
    batched = results["modes"]["batch20"]["priced"]["usd_per_million"]
    verdict = "ok" if batched <= TARGET else "MISSED TARGET"
    print(f"\n20-event batches: ${batched:.3f} per million events, target <= ${TARGET:.2f}: {verdict}")
    for lever in results["modes"]["batch20"]["levers"]:
        share = f" ({lever['share']:.0%} of the total)" if "share" in lever else ""
        print(f"  lever: {lever['lever']}: saves ${lever['usd_saved']:.3f} per million{share}")
    results["peers"] = peers.report(
        {name: mode["priced"]["usd_per_million"] for name, mode in results["modes"].items()}
    )
    results.update(load_after=_load(), seconds=round(time.time() - started, 1))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "cost.json").write_text(json.dumps(results, indent=2) + "\n")
    return 0


def _load() -> float:
    import os

    return round(os.getloadavg()[0], 2)


def _jsonable(measured: dict[str, Any]) -> dict[str, Any]:
    out = dict(measured)
    out["units"] = {" ".join(key): value for key, value in measured["units"].items()}
    out["requests_by_op"] = {" ".join(key): value for key, value in measured["requests_by_op"].items()}
    return out


def billed_ms(seconds: float) -> int:
    return max(1, math.ceil(seconds * 1000))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
