"""CI's short run of the throughput benchmarks (`make bench` runs them in full): they must run
end to end, process every record and job, and keep their shape. Targets are printed, not
asserted: CI machines are too noisy for absolute figures (docs/benchmarks.md)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


def run_bench(module: str) -> dict[str, object]:
    done = subprocess.run([sys.executable, "-m", module, "--quick"], cwd=ROOT, capture_output=True, text=True,
                          timeout=600, check=False)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    print(done.stdout)
    name = module.rsplit(".", 1)[1]
    result: dict[str, object] = json.loads((ROOT / "bench" / "results" / f"{name}.json").read_text())
    return result


def test_processor_bench_quick() -> None:
    result = run_bench("bench.processor")
    requests = result["requests"]
    assert isinstance(requests, dict)
    # 2,000 events in 4 slices of 500, each packed by shard (4) and minute: one BatchWriteItem
    # a slice; counters summed per batch, never per event.
    assert requests["BatchWriteItem"] == 4 and requests["UpdateItem"] < 2000
    assert float(result["ratio"]) > 5  # type: ignore[arg-type]


def test_worker_bench_quick() -> None:
    result = run_bench("bench.worker")  # drain() fails the run unless every job was processed
    assert float(result["ratio"]) > 1  # type: ignore[arg-type]
    full = result["tally_full"]
    assert isinstance(full, dict) and full["jobs"] == 10_000 and full["batch"] == 1000
    # The same jobs in the same batches through the same code: the same DynamoDB requests, but
    # for the day's salt, read (GetItem) and written (PutItem) by each processor bench.processor
    # builds per batch, once by the worker's one.
    handler, worker = full["handler"]["requests"], full["worker"]["requests"]
    salts = ("GetItem", "PutItem")
    assert {k: v for k, v in worker.items() if k not in salts} == {k: v for k, v in handler.items() if k not in salts}
    assert sum(worker.get(k, 0) for k in salts) < sum(handler.get(k, 0) for k in salts)
