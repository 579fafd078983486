"""Cold start: fresh interpreters running bench/drivers/, baseline and Tally interleaved.

Each run gives two times: the driver's own (perf_counter from the first line of the script,
before any import, to the end of the work) and the whole process as the parent sees it
(interpreter start-up and exit included). After every Tally run the message its first request
queued is read back from SQS and matched to the event id the response returned.
"""

import json
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.mockaws import ORIGIN, ROOT, BenchError, MockAws

DRIVERS = Path(__file__).resolve().parent / "drivers"
MARKER = "BENCH_RESULT "


@dataclass
class Series:
    script: list[float] = field(default_factory=list)  # seconds, inside the driver
    process: list[float] = field(default_factory=list)  # seconds, whole process
    imports: list[float] = field(default_factory=list)  # seconds, driver start to end of imports

    def add(self, result: dict[str, Any], wall: float) -> None:
        self.script.append(result["elapsed"])
        self.process.append(wall)
        self.imports.append(result["import"])

    def summary(self) -> dict[str, Any]:
        return {
            "runs": len(self.script),
            "script_ms": _stats(self.script),
            "process_ms": _stats(self.process),
            "import_ms": _stats(self.imports),
        }


def _stats(values: list[float]) -> dict[str, float]:
    ms = [v * 1000 for v in values]
    return {"median": round(statistics.median(ms), 1), "min": round(min(ms), 1), "max": round(max(ms), 1)}


def run_driver(name: str, env: dict[str, str], *flags: str) -> tuple[dict[str, Any], float, str]:
    """(the driver's result line, whole-process seconds, stderr)."""
    command = [sys.executable, *flags, str(DRIVERS / f"{name}.py")]
    started = time.perf_counter()
    proc = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise BenchError(f"{name} exited with {proc.returncode}:\n{proc.stderr[-3000:]}")
    lines = [line for line in proc.stdout.splitlines() if line.startswith(MARKER)]
    if not lines:
        raise BenchError(f"{name} printed no result:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return json.loads(lines[-1].removeprefix(MARKER)), wall, proc.stderr


def check_first_request(aws: MockAws, result: dict[str, Any]) -> None:
    """The first request must have answered 202 and its job must be on the queue."""
    from tally_contract import envelope

    if result["foreign_modules"]:
        raise BenchError(f"the Tally driver imported modules a Lambda would not: {result['foreign_modules']}")
    if result["status"] != 202:
        raise BenchError(f"Tally's first request answered {result['status']}: {result['body']}")
    event_id = json.loads(result["body"])["event_id"]
    response = aws.sqs().receive_message(QueueUrl=aws.sqs_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
    messages = response.get("Messages", [])
    if len(messages) != 1:
        raise BenchError(f"expected the first request's one message on the queue, found {len(messages)}")
    job = envelope.decode(messages[0]["Body"])
    if job.arguments[0]["event_id"] != event_id:
        raise BenchError(f"queued event {job.arguments[0]['event_id']} is not the accepted {event_id}")
    aws.sqs().delete_message(QueueUrl=aws.sqs_url, ReceiptHandle=messages[0]["ReceiptHandle"])


def measure(aws: MockAws, runs: int) -> dict[str, Any]:
    """Interleaved ABBA after one discarded run of each (compiles .pyc, warms moto and the page cache)."""
    env = {**aws.env, "BENCH_WRITE_KEY": aws.write_key, "BENCH_ORIGIN": ORIGIN}
    if aws.queue_depth():
        raise BenchError("the events queue is not empty before the cold runs")
    series = {"baseline": Series(), "tally": Series()}
    for index in range(-1, runs):
        order = ("baseline", "tally") if index % 2 == 0 else ("tally", "baseline")
        for name in order:
            result, wall, _ = run_driver(f"cold_{name}", env)
            if name == "tally":
                check_first_request(aws, result)
            if index >= 0:
                series[name].add(result, wall)
    summary: dict[str, Any] = {name: s.summary() for name, s in series.items()}
    # Each Tally run over the baseline run next to it: steadier than a ratio of medians when the machine drifts.
    pairs = zip(series["tally"].script, series["baseline"].script, strict=True)
    summary["paired_script_ratio_median"] = round(statistics.median(t / b for t, b in pairs), 3)
    return summary


def import_profile(aws: MockAws, name: str, top: int = 4) -> list[dict[str, Any]]:
    """``python -X importtime`` of one driver: top-level imports of 2 ms or more, each with its
    costliest direct children (the interpreter's own start-up imports fall under the cut)."""
    env = {**aws.env, "BENCH_WRITE_KEY": aws.write_key, "BENCH_ORIGIN": ORIGIN}
    result, _, stderr = run_driver(f"cold_{name}", env, "-X", "importtime")
    if name == "tally":
        check_first_request(aws, result)
    rows, children = [], []
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        self_us, cumulative_us, module = line.removeprefix("import time:").split("|")
        depth = (len(module) - len(module.lstrip()) + 1) // 2
        row: dict[str, Any] = {"module": module.strip(), "self_ms": int(self_us) / 1000,
               "cum_ms": int(cumulative_us) / 1000}  # fmt: skip
        if depth == 2:
            children.append(row)  # importtime prints children before their parent
        elif depth == 1:
            row["children"] = sorted(children, key=lambda child: -child["cum_ms"])[:top]
            rows.append(row)
            children = []
    kept = (row for row in rows if row["cum_ms"] >= 2 and row["module"] != "site")
    return sorted(kept, key=lambda row: -row["cum_ms"])
