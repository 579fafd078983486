"""bench.cost and bench.local: their unit math, the price table's one source, and a short run
of each (slow) whose figures must agree with each other (no targets: this machine is noisy)."""

import math
from pathlib import Path
from typing import Any

import pytest

from bench import aws_meter, cost, local

ROOT = Path(__file__).resolve().parents[2]


def test_item_size_follows_dynamodbs_rules() -> None:
    item = {"pk": {"S": "ab"}, "n": {"N": "12345"}, "ok": {"BOOL": True}, "m": {"M": {"k": {"S": "v"}}}}
    # names 2+1+2+1; "ab" 2; 12345 -> 1 + ceil(5/2) = 4; BOOL 1; map 3 + (1 + 1 + 1)
    assert aws_meter.item_size(item) == 6 + 2 + 4 + 1 + 6
    assert aws_meter.write_units({"pk": {"S": "x" * 1100}}) == 2
    assert aws_meter.read_units([], consistent=False) == 0.5  # a Query that finds nothing still costs
    assert aws_meter.read_units([{"pk": {"S": "x" * 5000}}], consistent=True) == 2


def test_sqs_requests_count_64kb_chunks() -> None:
    entries = [{"Id": str(i), "MessageBody": "x" * 20_000} for i in range(5)]
    assert aws_meter.sqs_requests("SendMessageBatch", {"Entries": entries}, {}) == math.ceil(100_000 / 65536)
    assert aws_meter.sqs_requests("ReceiveMessage", {}, {"Messages": []}) == 1
    assert aws_meter.sqs_requests("DeleteMessageBatch", {"Entries": entries}, {}) == 1


def test_docs_show_the_one_price_table() -> None:
    table = cost.price_table()
    assert table in (ROOT / "docs" / "benchmarks.md").read_text()
    assert "docs/prices.json" in (ROOT / "docs" / "operations.md").read_text()
    assert len(table.splitlines()) == 2 + len(cost.load_prices())


@pytest.mark.slow
def test_cost_quick_run_counts_add_up() -> None:
    priced: dict[str, Any] = {}
    for name, size in cost.MODES.items():
        measured = cost.measure(size, 1000, seed=3)
        ops = {op: n for (function, _phase, op), n in measured["requests_by_op"].items() if function == "poller"}
        assert measured["stored"] == 1000 and measured["batches"] == 1
        assert measured["invocations"]["api_handler"] == 1000 // size
        assert ops["sqs:DeleteMessageBatch"] == 100  # 1,000 messages, 10 a call
        assert ops["sqs:ReceiveMessage"] >= 100
        assert measured["rollup_passes"]["m"]["events_read"] == 1000 + 1  # and the warm-up's event
        priced[name] = cost.price(measured, cost.RATE)
        items = priced[name]["items"]
        assert sum(item["usd_per_million"] for item in items) == pytest.approx(priced[name]["usd_per_million"])
        writes = [i for i in items if i["item"].startswith("process_events: BatchWriteItem")]
        # Packed and compressed: well under the one WRU per event of one item per event.
        assert 10_000 <= writes[0]["quantity_per_million"] <= 300_000
    apigw = {name: next(i for i in p["items"] if i["item"] == "API Gateway requests") for name, p in priced.items()}
    assert apigw["single"]["usd_per_million"] == pytest.approx(3.5)
    assert apigw["batch20"]["usd_per_million"] == pytest.approx(3.5 / 20)
    assert priced["batch20"]["usd_per_million"] < priced["single"]["usd_per_million"]


@pytest.mark.slow
def test_local_quick_run_is_consistent(tmp_path: Path) -> None:
    proc, state = local.start_up(tmp_path)
    try:
        full = local.drive(state, "full", 600, 0)
        fixed = local.drive(state, "fixed", 200, 100.0, batch=20)
    finally:
        proc.terminate()
        proc.wait(60)
    assert state["store_url"].startswith("sqlite://"), "the default: no emulator"
    for run in (full, fixed):
        assert run["sent"] == run["accepted"] == run["counted"], run
        assert 0 < run["p50_s"] <= run["p99_s"] <= run["max_s"]
        assert run["sustained_per_s"] <= run["accepted_per_s"] * 1.01  # counting cannot outrun accepting
    assert fixed["sending_s"] >= 200 / 100.0 - 20 / 100.0  # paced: the last batch is due 0.2 s before the end
