"""One measured run of bench.cost: traffic in, batches processed, one rollup, all metered."""

import json
import random
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from bench.aws_meter import CHARGE, PHASE, Meter
from tally_cli.local.emulator import linear_receive
from tests.support.iam_audit import CONFIG

BATCH = 1000  # the stage's event source mapping (TALLY_SQS_BATCH_SIZE)
# The stage's window is 5 s; a batch of 1,000 fills it at >= 200 events/s. moto answers a
# ReceiveMessage in up to 0.1 s, so its 100 receives would outlast 5 s: the bench queues the
# 1,000 messages first and lets the window wait for them, giving the batch a 5 s window holds.
WINDOW = 300.0


@contextmanager
def charged(function: str, phase: str = "") -> Iterator[None]:
    token, phase_token = CHARGE.set(function), PHASE.set(phase)
    try:
        yield
    finally:
        PHASE.reset(phase_token)
        CHARGE.reset(token)


class CostRun:
    def __init__(self, stack: Any, patch: Any) -> None:
        self.stack, self.patch = stack, patch
        linear_receive()  # moto's ReceiveMessage, quadratic in queue depth otherwise (local mode does the same)
        self.meter = Meter()
        self.meter.install()
        self.wall: defaultdict[str, float] = defaultdict(float)  # function -> billed seconds
        self.invocations: Counter[str] = Counter()
        self.memory = {name: fn["lambda_memory_size"] for name, fn in
                       CONFIG["stages"][stack.stage]["lambda_functions"].items()}  # fmt: skip
        self.passes: dict[str, defaultdict[str, float]] = {g: defaultdict(float) for g in ("m", "h", "d")}
        from bench.rollup_model import cpu_per_event

        self.cpu_per_event = cpu_per_event()

    def close(self) -> None:
        self.meter.uninstall()

    # -- Lambda invocations, timed as Lambda bills them (whole milliseconds) -----------------
    def _invoke(self, function: str, call: Any) -> Any:
        from bench.cost import billed_ms

        started = time.perf_counter()
        with charged(function):
            result = call()
        self.wall[function] += billed_ms(time.perf_counter() - started) / 1000
        self.invocations[function] += 1
        return result

    def post(self, events: list[dict[str, Any]]) -> int:
        from app import app
        from tests.support.apigw import LambdaContext, decode_response, rest_event
        from tests.support.stack import ORIGIN

        body = json.dumps({"batch": events}).encode()
        headers = {"Content-Type": "application/json", "Origin": ORIGIN,
                   "Authorization": f"Bearer {self.stack.site.secret_key}"}  # fmt: skip
        event = rest_event("POST", "/events", body=body, headers=headers, query={"key": self.stack.site.site.write_key})
        context = LambdaContext(function_name=f"tally-{self.stack.stage}")
        response = self._invoke("api_handler", lambda: decode_response(app(event, context)))
        if response.status != 202:
            raise RuntimeError(f"ingest answered {response.status}: {response.body[:200]!r}")
        return len(events)

    def process(self, event: dict[str, Any]) -> Any:
        result = self._invoke("process_events", lambda: self.stack.process(event))
        if result and result.get("batchItemFailures"):
            raise RuntimeError(f"processor failed records: {result['batchItemFailures'][:3]}")
        return result

    # -- the scenario --------------------------------------------------------------------------
    def measure(self, size: int, events: int, seed: int) -> dict[str, Any]:
        from tally_cli.local.event_source import SqsEventSource
        from tally_cli.traffic import Traffic

        traffic = Traffic(random.Random(seed))
        source = SqsEventSource(self.stack.client("sqs"), self.stack.outputs["EventsQueueUrl"], self.process,
                                batch_size=BATCH, batch_window=WINDOW, poll_wait=1)  # fmt: skip
        self._warm_up(traffic, SqsEventSource(self.stack.client("sqs"), self.stack.outputs["EventsQueueUrl"],
                                              self.process, batch_size=10, poll_wait=1))  # fmt: skip
        batches, phases = 0, defaultdict[str, float](float)
        for _ in range(events // BATCH):
            started = time.perf_counter()
            for _ in range(BATCH // size):
                self.post([traffic.event() for _ in range(size)])
            phases["ingest"] += time.perf_counter() - started
            batches += self._drain(source, BATCH)
            phases["process"] += time.perf_counter() - started
        started = time.perf_counter()
        rollup = self._rollup()
        phases["rollup"] = time.perf_counter() - started
        requests, units = self.meter.take()
        stored_events = self._stored_events()
        stored = len(stored_events) - 1  # the warm-up's event
        if stored != events:
            raise RuntimeError(f"{events} events accepted, {stored} stored")
        return {
            "rollup_cpu_per_event": self.cpu_per_event,
            "events": events, "client_batch": size, "requests": events // size, "batches": batches,
            "mean_batch": events / batches, "stored": stored, "rollup": rollup,
            "rollup_passes": {g: dict(c) for g, c in self.passes.items()},
            "invocations": dict(self.invocations), "handler_seconds": dict(self.wall),
            "gb_seconds": {f: self.wall[f] * self.memory[f] / 1024 for f in self.memory},
            "memory_mb": self.memory, "event_span_s": _event_span(stored_events), "bench_seconds": dict(phases),
            "units": units, "requests_by_op": requests,
        }  # fmt: skip

    def _warm_up(self, traffic: Any, source: Any) -> None:
        """One request and one batch first, uncounted: a warm Lambda has its site, queue URL
        and salt cached (the ingest re-reads a site once a minute: negligible)."""
        self.post([traffic.event()])
        with charged("poller"):
            source.poll_once()
        self.meter.take()
        self.wall.clear()
        self.invocations.clear()

    def _drain(self, source: Any, count: int) -> int:
        done = batches = 0
        with charged("poller"):
            while done < count:
                got = source.poll_once()
                if not got:
                    raise RuntimeError(f"queue empty after {done} of {count} messages")
                done, batches = done + got, batches + 1
        return batches

    def _rollup(self) -> dict[str, Any]:
        from processor_lambda import entry
        from tally_aggregates.rollup import Rollup
        from tally_store.base import Bucket

        original = Rollup.roll

        def roll(rollup: Rollup, bucket: Bucket, now: float, report: Any) -> None:
            granularity, started, read = bucket.granularity, time.perf_counter(), report.events_read
            with charged("rollup_worker", "rollup:" + granularity):
                original(rollup, bucket, now, report)
            self.passes[granularity]["seconds"] += time.perf_counter() - started
            self.passes[granularity]["events_read"] += report.events_read - read
            self.passes[granularity]["buckets"] += 1

        self.patch.setattr(Rollup, "roll", roll)
        ahead = time.time() + 2 * 86400  # every bucket of the run closed: minutes, their hour, the day
        entry.rollup(entry.build_rollup(clock=lambda: ahead))
        reports = []
        for _ in range(3):  # the schedule sends the work, a worker seals it: minutes, hours, days
            self._invoke("rollup", self.stack.rollup)
            reports.append(self._invoke("rollup_worker", self.stack.rollup_work))
        return {"sealed": sum(r["sealed"] for r in reports if r), "events_read": reports[0]["events_read"]}

    def _stored_events(self) -> list[dict[str, Any]]:
        """Every raw event once (packs may repeat a redelivered one)."""
        from tally_store import dynamodb_packs

        table, dynamodb = self.stack.outputs["EventsTableName"], self.stack.client("dynamodb")
        pages = dynamodb.get_paginator("scan").paginate(TableName=table)
        return list(dynamodb_packs.unique_events(item for page in pages for item in page["Items"]))


def _event_span(events: list[dict[str, Any]]) -> float:
    from tally_contract.timeutil import parse_time

    times = sorted(str(event["event_time"]) for event in events)
    return parse_time("t", times[-1]) - parse_time("t", times[0]) if times else 0.0
