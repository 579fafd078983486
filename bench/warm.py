"""Warm handler CPU: ``app(event, context)`` in this process, after warm-up, timed with
``time.process_time`` over many requests.

Two queues: SQS on the moto server (a separate process, so its CPU is not counted) and
``memory://`` (Tally's own CPU, no network). The baseline for SQS is the same SendMessageBatch
calls made directly on the same botocore client: what any sender pays, Tally or not.
Requests run in chunks; between chunks, untimed, every message is counted and the queue emptied.
"""

import contextlib
import copy
import functools
import io
import json
import os
import time
from collections.abc import Callable
from typing import Any

from bench.mockaws import ORIGIN, BenchError, MockAws
from tests.support.apigw import LambdaContext, decode_response, rest_event

EVENT = {"url": ORIGIN + "/pricing", "referrer": "https://news.example.net/x", "properties": {"plan": "pro"}}
HEADERS = {"Content-Type": "application/json", "Origin": ORIGIN, "Accept": "*/*", "User-Agent": "bench/1.0"}
WARMUP = 10
CHUNK_MESSAGES = 100  # queue depth at which moto is emptied between chunks
ROUNDS = 5
Between = Callable[[int], None]  # called untimed after each chunk with the number of calls it made
Run = Callable[[int], tuple[float, float]]  # iterations -> (CPU, wall) seconds per call


def payload(size: int) -> dict[str, Any]:
    return dict(EVENT) if size == 1 else {"batch": [dict(EVENT) for _ in range(size)]}


def cpu_per_call(call: Callable[[], Any], iterations: int, chunk: int, between: Between) -> tuple[float, float]:
    """(CPU seconds, wall seconds) per call, after WARMUP untimed calls."""
    for _ in range(WARMUP):
        call()
    between(WARMUP)
    cpu = wall = 0.0
    for start in range(0, iterations, chunk):
        calls = min(chunk, iterations - start)
        wall_start, cpu_start = time.perf_counter(), time.process_time()
        for _ in range(calls):
            call()
        cpu += time.process_time() - cpu_start
        wall += time.perf_counter() - wall_start
        between(calls)
    return cpu / iterations, wall / iterations


def measure_tally(app: Any, write_key: str, size: int, iterations: int, between: Between) -> tuple[float, float]:
    body = json.dumps(payload(size)).encode()
    template = rest_event("POST", "/events", body=body, headers=HEADERS, query={"key": write_key})
    events = [copy.deepcopy(template) for _ in range(iterations + WARMUP)]
    responses: list[dict[str, Any]] = []
    context = LambdaContext()

    def call() -> None:
        responses.append(app(events[len(responses)], context))

    # Powertools prints one EMF line per request; Lambda ships stdout to CloudWatch, here it is dropped.
    with contextlib.redirect_stdout(io.StringIO()):
        cpu, wall = cpu_per_call(call, iterations, max(1, CHUNK_MESSAGES // size), between)
    for response in responses:
        decoded = decode_response(response)
        if decoded.status != 202 or decoded.json()["accepted"] != size:
            raise BenchError(f"warm request answered {decoded.status}: {decoded.body[:300]!r}")
    return cpu, wall


def measure_bare_sqs(aws: MockAws, size: int, iterations: int) -> tuple[float, float]:
    """SendMessageBatch of ``size`` job-sized bodies, 10 a call, on Tally's own client."""
    from tally_contract import envelope

    body = envelope.encode(envelope.build([{**EVENT, "event_id": "0" * 32}]))
    entries = [{"Id": str(i), "MessageBody": body} for i in range(size)]
    client = aws.sqs()

    def send() -> None:
        for start in range(0, size, 10):
            response = client.send_message_batch(QueueUrl=aws.sqs_url, Entries=entries[start : start + 10])
            if response.get("Failed"):
                raise BenchError(f"SendMessageBatch failed: {response['Failed'][:1]}")

    return cpu_per_call(send, iterations, max(1, CHUNK_MESSAGES // size), lambda n: aws.empty_queue(n * size))


def interleaved(runs: dict[str, tuple[Run, int]], size: int) -> dict[str, dict[str, float]]:
    """Each run a fifth of its iterations at a time, in turn, so drift in the machine's speed
    (a shared 2-core VM drifts) hits them all alike."""
    totals = {name: [0.0, 0.0] for name in runs}
    for _ in range(ROUNDS):
        for name, (run, iterations) in runs.items():
            cpu, wall = run(max(1, iterations // ROUNDS))
            totals[name][0] += cpu / ROUNDS
            totals[name][1] += wall / ROUNDS
    return {
        f"{name}_{size}": _figures(cpu, wall, size, max(1, runs[name][1] // ROUNDS) * ROUNDS)
        for name, (cpu, wall) in totals.items()
    }


def _figures(cpu: float, wall: float, size: int, iterations: int) -> dict[str, float]:
    return {
        "events_per_request": size,
        "iterations": iterations,
        "cpu_us_per_request": round(cpu * 1e6, 1),
        "cpu_us_per_event": round(cpu * 1e6 / size, 1),
        "wall_us_per_request": round(wall * 1e6, 1),
    }


def route_requests(write_key: str) -> dict[str, tuple[dict[str, Any], int]]:
    """One representative request per route (20 events where the route takes a batch): the
    API Gateway event and how many events it carries."""
    import base64
    import gzip

    batch = [dict(EVENT) for _ in range(20)]
    segment = {"batch": [{"type": "track", "event": "signup", "userId": f"u{i}", "properties": {"plan": "pro"},
                          "context": {"page": {"url": EVENT["url"]}}} for i in range(20)]}  # fmt: skip
    posthog = [{"event": "$pageview", "distinct_id": f"d{i}", "properties": {
        "$current_url": EVENT["url"], "token": write_key, "$device_id": f"d{i}", "$lib": "web", "plan": "pro"}}
        for i in range(20)]  # fmt: skip
    form = "&".join(f"batch[{i}][url]={EVENT['url']}&batch[{i}][properties][plan]=pro" for i in range(20))
    basic = {"Authorization": "Basic " + base64.b64encode(f"{write_key}:".encode()).decode()}
    key: dict[str, str] = {"key": write_key}
    return {
        "events (JSON)": (rest_event("POST", "/events", body=json.dumps({"batch": batch}).encode(), headers=HEADERS,
                                     query=key), 20),
        "events (form)": (rest_event("POST", "/events", body=form.encode(), query=key,
                                     headers={**HEADERS, "Content-Type": "application/x-www-form-urlencoded"}), 20),
        "i.gif": (rest_event("GET", "/i.gif", headers=HEADERS, query={**key, "url": str(EVENT["url"]),
                                                                       "properties[plan]": "pro"}), 1),
        "v1/batch (Segment)": (rest_event("POST", "/v1/batch", body=json.dumps(segment).encode(),
                                          headers={**HEADERS, **basic}), 20),
        "i/v0/e (PostHog, gzip-js)": (rest_event("POST", "/i/v0/e", body=gzip.compress(json.dumps(posthog).encode()),
                                                  headers={**HEADERS, "Content-Type": "text/plain"},
                                                  query={"compression": "gzip-js"}), 20),
        "api/event (Plausible)": (rest_event("POST", "/api/event", headers={**HEADERS, "Content-Type": "text/plain"},
                                             body=json.dumps({"n": "pageview", "u": EVENT["url"],
                                                              "d": ORIGIN.partition("://")[2]}).encode()), 1),
    }  # fmt: skip


def measure_routes(iterations: int) -> dict[str, dict[str, float]]:
    """Warm CPU per event of every route, on memory:// (Tally's own CPU: parsing, mapping,
    validation, privacy, job encoding), each request's jobs counted and cleared untimed."""
    from ingest_lambda import runtime

    os.environ["TALLY_QUEUE_URL"] = "memory://"
    runtime.reset()
    requests = route_requests(os.environ["BENCH_WRITE_KEY"])
    return {route: _route_cpu(route, template, size, iterations) for route, (template, size) in requests.items()}


def _route_cpu(route: str, template: dict[str, Any], size: int, iterations: int) -> dict[str, float]:
    from app import app
    from ingest_lambda import runtime

    events = [copy.deepcopy(template) for _ in range(iterations + WARMUP)]
    statuses: list[int] = []
    context = LambdaContext()

    def call() -> None:
        statuses.append(app(events[len(statuses)], context)["statusCode"])

    def check(calls: int) -> None:
        jobs = runtime.get().queue.messages["default"]  # type: ignore[attr-defined]
        if len(jobs) != calls * size:
            raise BenchError(f"{route}: {len(jobs)} jobs queued, expected {calls * size} (status {statuses[-1:]})")
        jobs.clear()

    with contextlib.redirect_stdout(io.StringIO()):
        cpu, wall = cpu_per_call(call, iterations, max(1, CHUNK_MESSAGES // size), check)
    return _figures(cpu, wall, size, iterations)


def measure(aws: MockAws, sqs_iterations: int, memory_iterations: int) -> dict[str, dict[str, float]]:
    from app import app
    from ingest_lambda import runtime

    def use_queue(url: str) -> None:
        os.environ["TALLY_QUEUE_URL"] = url
        runtime.reset()  # the next request builds the runtime from the environment, as a new instance would

    def memory_check(size: int) -> Between:
        def check(calls: int) -> None:
            jobs = runtime.get().queue.messages["default"]  # type: ignore[attr-defined]
            if len(jobs) != calls * size:
                raise BenchError(f"memory queue holds {len(jobs)} jobs, expected {calls * size}")
            jobs.clear()

        return check

    def tally(url: str, size: int, between: Between) -> Run:
        def run(iterations: int) -> tuple[float, float]:
            use_queue(url)
            return measure_tally(app, aws.write_key, size, iterations, between)

        return run

    results: dict[str, dict[str, float]] = {}
    for size in (1, 20):
        sqs_between = functools.partial(_empty, aws, size)
        runs: dict[str, tuple[Callable[[int], tuple[float, float]], int]] = {
            "sqs": (tally(aws.env["TALLY_QUEUE_URL"], size, sqs_between), sqs_iterations),
            "bare_sqs": (functools.partial(measure_bare_sqs, aws, size), sqs_iterations),
            "memory": (tally("memory://", size, memory_check(size)), memory_iterations),
        }
        results.update(interleaved(runs, size))
    use_queue(aws.env["TALLY_QUEUE_URL"])
    return results


def _empty(aws: MockAws, size: int, calls: int) -> None:
    aws.empty_queue(calls * size)
