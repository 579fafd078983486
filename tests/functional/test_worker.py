"""The Redis worker against a real redis-server: reliable fetch, settling, Sidekiq's retry and
dead sets, the poller, stats, the process entry and recovery. Subprocess kill/stop tests are in
test_worker_process.py."""

import json
import os
import random
import subprocess
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from processor_lambda.results import JobFailed, RecordResult
from redis_worker import failures
from redis_worker.__main__ import parse_args
from redis_worker.batch import run_batch
from redis_worker.fetch import ReliableFetch
from redis_worker.worker import Worker, run_worker
from tally_contract import sidekiq_redis, wire
from tally_contract.sidekiq_redis import REGISTRY, heartbeat_key, processing_key
from tests.support.jobs import SIDEKIQ_FAILURES, jobs, push
from tests.support.waiting import wait_for

IDENTITY = "testhost:1:0123456789ab"
PROC = processing_key("default", IDENTITY)


class ArgumentError(Exception):
    """Named like the Ruby error of the Sidekiq captures below."""


def raised(exc: Exception, *, retryable: bool = True) -> JobFailed:
    """A JobFailed as the pipeline builds it: the handler's raised exception as the cause."""
    try:
        _throw(exc)
    except type(exc) as caught:
        exc = caught  # now with its traceback
    failure = JobFailed(f"{type(exc).__name__}: {exc}", retryable=retryable)
    failure.__cause__ = exc
    return failure


def _throw(exc: Exception) -> None:
    raise exc


class FakePipeline:
    """Records what it processed; fails the jids in ``fail``; waits for ``gate`` if given."""

    def __init__(self, fail: dict[str, JobFailed] | None = None, gate: threading.Event | None = None) -> None:
        self.fail = fail or {}
        self.gate = gate
        self.seen: list[bytes] = []
        self.calls = 0

    def process(self, bodies: Sequence[str | bytes]) -> list[RecordResult]:
        self.calls += 1
        if self.gate is not None:
            self.gate.wait(10)
        results = []
        for body in bodies:
            self.seen.append(body if isinstance(body, bytes) else body.encode())
            try:
                jid = json.loads(body)["jid"]
            except (ValueError, KeyError, TypeError):
                results.append(RecordResult.failure(JobFailed("job is not JSON", retryable=False)))
                continue
            error = self.fail.get(jid)
            results.append(RecordResult.failure(error) if error else RecordResult.success())
        return results

    def jids(self) -> list[str]:
        return [json.loads(body)["jid"] for body in self.seen]


def jid(body: str | bytes) -> str:
    return str(json.loads(body)["jid"])


@pytest.fixture
def make_worker(redis_client: Any) -> Iterator[Any]:
    made: list[Worker] = []

    def make(pipeline: Any, **options: Any) -> Worker:
        options.setdefault("identity", IDENTITY)
        options.setdefault("heartbeat_ttl", 2.0)
        options.setdefault("beat_interval", 0.1)
        options.setdefault("rng", random.Random(7))
        worker = Worker(redis_client, pipeline, **options)
        made.append(worker)
        return worker

    yield make
    for worker in made:
        worker.stopping.set()


# -- fetch ------------------------------------------------------------------------------------
def test_fetch_takes_the_oldest_first_into_the_processing_list(redis_client: Any) -> None:
    bodies = jobs(250)
    push(redis_client, bodies)
    fetch = ReliableFetch(redis_client, IDENTITY, ["default"])
    got = fetch.fetch(100)
    assert [j.body.decode() for j in got] == bodies[:100]
    assert {j.queue for j in got} == {"default"}
    # The processing list has the queue's orientation: oldest at the tail.
    assert redis_client.lrange(PROC, 0, -1) == [b.encode() for b in reversed(bodies[:100])]
    assert redis_client.llen("queue:default") == 150
    assert redis_client.smembers(REGISTRY) == {f"{IDENTITY}|default".encode()}
    assert [j.body.decode() for j in fetch.fetch(1000)] == bodies[100:]
    assert fetch.fetch(10) == []


def test_concurrent_fetchers_never_share_or_drop_a_job(redis_client: Any) -> None:
    bodies = jobs(3000)
    push(redis_client, bodies)
    taken: list[list[bytes]] = [[] for _ in range(6)]

    def drain(i: int) -> None:
        fetch = ReliableFetch(redis_client, f"w:{i}:x", ["default"])
        while batch := fetch.fetch(37):
            taken[i] += [job.body for job in batch]

    threads = [threading.Thread(target=drain, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    everything = [body for part in taken for body in part]
    position = {b.encode(): i for i, b in enumerate(bodies)}
    assert sorted(everything) == sorted(b.encode() for b in bodies)
    for i, part in enumerate(taken):
        # each worker saw its share in push order, and holds exactly what it took
        assert part == sorted(part, key=lambda b: position[b])
        assert redis_client.llen(processing_key("default", f"w:{i}:x")) == len(part)


def test_queues_are_taken_in_priority_order(redis_client: Any) -> None:
    push(redis_client, high := jobs(3), "high")
    push(redis_client, low := jobs(5), "default")
    fetch = ReliableFetch(redis_client, IDENTITY, ["high", "default"])
    got = fetch.fetch(6)
    assert [(j.queue, j.body.decode()) for j in got] == [("high", b) for b in high] + [("default", b) for b in low[:3]]
    assert redis_client.llen(processing_key("high", IDENTITY)) == 3
    assert redis_client.llen(processing_key("default", IDENTITY)) == 3


def test_blocking_fetch_wakes_up_for_a_push(redis_client: Any) -> None:
    fetch = ReliableFetch(redis_client, IDENTITY, ["default"])
    bodies = jobs(3)
    timer = threading.Timer(0.2, push, args=(redis_client, bodies))
    timer.start()
    started = time.monotonic()
    got = fetch.fetch(10, block=2.0)
    timer.join()
    assert 0.1 < time.monotonic() - started < 1.5
    assert got and got[0].body.decode() == bodies[0]
    assert redis_client.sismember(REGISTRY, f"{IDENTITY}|default")
    started = time.monotonic()
    rest = fetch.fetch(10, block=0.2) if len(got) < 3 else []
    assert [j.body.decode() for j in got + rest] == bodies
    assert redis_client.llen(PROC) == 3


# -- settling ---------------------------------------------------------------------------------
def test_successes_are_removed_and_counted(redis_client: Any, make_worker: Any) -> None:
    push(redis_client, bodies := jobs(120))
    pipeline = FakePipeline()
    worker = make_worker(pipeline, batch_size=100)
    assert worker.work_once() == 100
    assert worker.work_once() == 20
    assert worker.work_once() == 0
    assert pipeline.jids() == [jid(b) for b in bodies]
    assert redis_client.exists(PROC, "queue:default") == 0
    day = time.strftime("%Y-%m-%d", time.gmtime())
    assert redis_client.get("stat:processed") == b"120"
    assert redis_client.get(f"stat:processed:{day}") == b"120"
    assert redis_client.ttl(f"stat:processed:{day}") > 4 * 365 * 86400
    assert redis_client.get("stat:failed") is None


def test_identical_bodies_are_acknowledged_one_each(redis_client: Any, make_worker: Any) -> None:
    body = jobs(1)[0]
    push(redis_client, [body, body])
    make_worker(FakePipeline()).work_once()
    assert redis_client.exists(PROC) == 0
    assert redis_client.get("stat:processed") == b"2"


STAMPS = ("failed_at", "retried_at")


def test_failures_are_written_as_sidekiq_writes_them(redis_client: Any, make_worker: Any) -> None:
    inputs = [given for given, _, _ in SIDEKIQ_FAILURES]
    push(redis_client, inputs)
    failure = raised(ArgumentError("boom é"))
    before = time.time()
    make_worker(FakePipeline({jid(b): failure for b in inputs})).work_once()
    after = time.time()
    stored = {jid(m): (m, s) for m, s in redis_client.zrange("retry", 0, -1, withscores=True)}
    dead = {jid(m): (m, s) for m, s in redis_client.zrange("dead", 0, -1, withscores=True)}
    for given, target, expected in SIDEKIQ_FAILURES:
        member, score = (stored if target == "retry" else dead)[jid(given)]
        ours, theirs = wire.loads(member), wire.loads(expected)
        assert list(ours) == list(theirs), given  # same keys, same order
        for key, value in theirs.items():
            if key == "error_class":
                assert ours[key] == f"{ArgumentError.__module__}.ArgumentError"
            elif key == "error_backtrace":
                lines = failures.decompress_backtrace(ours[key])
                assert len(lines) == 2 and all(":in `" in line for line in lines)
                assert all(len(line) <= 60 for line in ours[key].splitlines())
            elif key in STAMPS and value > 1795447000:  # set by this failure
                assert before <= ours[key] <= after
            else:
                assert ours[key] == value, key
        count = ours["retry_count"]
        if target == "retry":
            delay = score - ours.get("retried_at", ours["failed_at"])
            assert count**4 + 15 <= delay <= count**4 + 15 + 9 * (count + 1) + 0.01
        else:
            assert before <= score <= after
    assert redis_client.exists(PROC) == 0
    assert redis_client.get("stat:failed") == b"5"
    assert redis_client.get("stat:processed") == b"5"


def test_retry_delay_covers_the_whole_jitter_range() -> None:
    rng = random.Random(1)
    for count in (0, 1, 5, 24):
        seen = {sidekiq_redis.retry_delay(count, rng) for _ in range(400)}
        assert seen == {count**4 + 15 + r * (count + 1) for r in range(10)}


@pytest.mark.parametrize(
    ("extra", "retryable", "target", "count"),
    [
        ({"retry": True, "retry_count": 23}, True, "retry", 24),
        ({"retry": True, "retry_count": 24}, True, "dead", 25),  # 25 attempts, then the morgue
        ({"retry": 3, "retry_count": 1}, True, "retry", 2),
        ({"retry": 3, "retry_count": 2}, True, "dead", 3),
        ({"retry": False}, True, "dead", 0),  # Sidekiq discards it; Tally keeps it
        ({"retry": True}, False, "dead", 0),  # JobFailed(retryable=False)
    ],
)
def test_exhausted_and_non_retryable_jobs_go_to_the_dead_set(
    redis_client: Any, make_worker: Any, extra: dict[str, Any], retryable: bool, target: str, count: int
) -> None:
    body = jobs(1, **extra)[0]
    push(redis_client, [body])
    make_worker(FakePipeline({jid(body): raised(RuntimeError("no"), retryable=retryable)})).work_once()
    (member,) = redis_client.zrange(target, 0, -1)
    other = "dead" if target == "retry" else "retry"
    assert redis_client.zcard(other) == 0
    job = wire.loads(member)
    assert job["retry_count"] == count
    assert (job["error_class"], job["error_message"]) == ("RuntimeError", "no")
    assert redis_client.exists(PROC) == 0


def test_a_body_that_is_not_json_goes_to_the_dead_set_as_it_came(redis_client: Any, make_worker: Any) -> None:
    redis_client.lpush("queue:default", b"\xff not json")
    make_worker(FakePipeline()).work_once()
    assert redis_client.zrange("dead", 0, -1) == [b"\xff not json"]
    assert redis_client.exists(PROC) == 0


def test_the_dead_set_is_trimmed_like_sidekiq(redis_client: Any, make_worker: Any) -> None:
    now = time.time()
    redis_client.zadd("dead", {"ancient": now - sidekiq_redis.DEAD_TIMEOUT - 60})
    redis_client.zadd("dead", {f"old-{i}": now - 1000 + i * 0.01 for i in range(10_000)})
    body = jobs(1, retry=False)[0]
    push(redis_client, [body])
    make_worker(FakePipeline({jid(body): raised(RuntimeError("x"))})).work_once()
    # Sidekiq's ZREMRANGEBYRANK dead 0 -10000 keeps the newest 9,999.
    assert redis_client.zcard("dead") == 9_999
    assert redis_client.zscore("dead", "ancient") is None
    assert redis_client.zscore("dead", "old-0") is None
    assert jid(redis_client.zrange("dead", -1, -1)[0]) == jid(body)


def test_a_job_given_back_by_recovery_is_not_also_retried(redis_client: Any, make_worker: Any) -> None:
    body = jobs(1)[0]
    push(redis_client, [body])
    worker = make_worker(FakePipeline({jid(body): raised(RuntimeError("x"))}))
    fetched = worker.fetch.fetch(10)
    worker.fetch.recover(own=True)  # as if another worker took our list back meanwhile
    worker.fetch.settle(run_batch(worker.pipeline, fetched, rng=random.Random()))
    assert redis_client.zcard("retry") == 0
    assert redis_client.lrange("queue:default", 0, -1) == [body.encode()]


# -- the poller -------------------------------------------------------------------------------
def test_due_retries_and_scheduled_jobs_go_back_to_their_queue(redis_client: Any, make_worker: Any) -> None:
    now = time.time()
    due_retry = SIDEKIQ_FAILURES[3][2]  # queue "low" after the retry_queue rewrite
    scheduled = open_capture("activejob_scheduled_member.json")
    later = SIDEKIQ_FAILURES[0][2]
    redis_client.zadd("retry", {due_retry: now - 5, later: now + 3600})
    redis_client.zadd("schedule", {scheduled: now - 1})
    worker = make_worker(FakePipeline())
    assert worker.fetch.enqueue_due() == 2
    assert redis_client.zrange("retry", 0, -1) == [later.encode()]
    assert redis_client.zcard("schedule") == 0
    assert redis_client.smembers("queues") >= {b"low", b"default"}
    (low,) = redis_client.lrange("queue:low", 0, -1)
    (default,) = redis_client.lrange("queue:default", 0, -1)
    # Client.push keeps existing keys in place and appends enqueued_at where it is missing.
    assert list(wire.loads(low)) == list(wire.loads(due_retry))
    assert list(wire.loads(default)) == [*wire.loads(scheduled), "enqueued_at"]
    for body, original in ((low, due_retry), (default, scheduled)):
        job = wire.loads(body)
        assert now <= job.pop("enqueued_at") <= time.time()
        assert job == {k: v for k, v in wire.loads(original).items() if k != "enqueued_at"}
    assert worker.fetch.enqueue_due() == 0


def test_a_retried_job_runs_again_and_succeeds(redis_client: Any, make_worker: Any) -> None:
    body = jobs(1)[0]
    push(redis_client, [body])
    pipeline = FakePipeline({jid(body): raised(RuntimeError("flaky"))})
    worker = make_worker(pipeline)
    worker.work_once()
    (member,) = redis_client.zrange("retry", 0, -1)
    redis_client.zadd("retry", {member: time.time() - 1})  # time passes
    assert worker.fetch.enqueue_due() == 1
    pipeline.fail.clear()
    assert worker.work_once() == 1
    assert pipeline.jids() == [jid(body)] * 2
    assert wire.loads(pipeline.seen[1])["retry_count"] == 0
    assert redis_client.zcard("retry") == 0
    assert redis_client.get("stat:processed") == b"2"
    assert redis_client.get("stat:failed") == b"1"


def test_scheduled_jobs_with_no_usable_queue_are_not_lost(redis_client: Any, make_worker: Any) -> None:
    redis_client.zadd("schedule", {"garbage": 1, '{"class":"X","args":[],"queue":""}': 2})
    assert make_worker(FakePipeline()).fetch.enqueue_due() == 2
    bodies = redis_client.lrange("queue:default", 0, -1)
    assert b"garbage" in bodies and len(bodies) == 2


def open_capture(name: str) -> str:
    vectors = Path(__file__).resolve().parents[1] / "support" / "vectors" / "sidekiq-6.4.1"
    return (vectors / name).read_text("utf-8").strip()


# -- recovery ---------------------------------------------------------------------------------
def test_a_dead_workers_list_is_given_back_oldest_next(redis_client: Any) -> None:
    push(redis_client, bodies := jobs(10))
    ghost = ReliableFetch(redis_client, "ghost:9:aaaaaaaaaaaa", ["default"], heartbeat_ttl=0.2)
    ghost.beat()
    held = ghost.fetch(4)
    alive = ReliableFetch(redis_client, IDENTITY, ["default"])
    assert alive.recover() == 0  # its heartbeat still runs
    time.sleep(0.3)
    assert alive.recover() == 4
    assert redis_client.exists(processing_key("default", "ghost:9:aaaaaaaaaaaa")) == 0
    assert redis_client.smembers(REGISTRY) == set()
    # The given-back jobs are next, in their original order, before the rest.
    assert [j.body for j in alive.fetch(100)] == [j.body for j in held] + [b.encode() for b in bodies[4:]]


def test_recovery_happens_on_start_and_periodically(redis_client: Any, make_worker: Any) -> None:
    push(redis_client, jobs(5))
    ReliableFetch(redis_client, "ghost:9:bbbbbbbbbbbb", ["default"]).fetch(5)  # never beat: dead
    pipeline = FakePipeline()
    worker = make_worker(pipeline, recovery_interval=0.2, block_timeout=0.1)
    runner = threading.Thread(target=worker.run)
    runner.start()
    try:
        wait_for(lambda: len(pipeline.seen) == 5)
        # a worker that died while the first one was running (its list, registered, no heartbeat)
        more = jobs(3)
        redis_client.lpush(processing_key("default", "ghost:8:cccccccccccc"), *more)
        redis_client.sadd(REGISTRY, "ghost:8:cccccccccccc|default")
        wait_for(lambda: len(pipeline.seen) == 8)
        assert set(pipeline.jids()[5:]) == {jid(b) for b in more}
    finally:
        worker.stopping.set()
        runner.join(5)
    assert redis_client.keys("queue:default*") == []
    assert redis_client.smembers(REGISTRY) == set()


# -- Sidekiq's process entry and stop ---------------------------------------------------------
def test_process_entry_as_sidekiq_writes_it_and_web_ui_stop(redis_client: Any, make_worker: Any) -> None:
    gate = threading.Event()
    push(redis_client, jobs(3))
    worker = make_worker(
        FakePipeline(gate=gate), queues=["default", "low"], concurrency=2, tag="web", block_timeout=0.1
    )
    exit_codes: list[int] = []
    runner = threading.Thread(target=lambda: exit_codes.append(worker.run()))
    runner.start()
    try:
        wait_for(lambda: redis_client.hget(IDENTITY, "busy") == b"3")
        assert redis_client.smembers("processes") == {IDENTITY.encode()}
        entry = redis_client.hgetall(IDENTITY)
        assert set(entry) == {b"info", b"busy", b"beat", b"rtt_us", b"quiet", b"rss"}
        info = json.loads(entry[b"info"])
        assert list(info) == ["hostname", "started_at", "pid", "tag", "concurrency", "queues", "labels", "identity"]
        assert (info["tag"], info["concurrency"], info["queues"], info["labels"]) == ("web", 2, ["default", "low"], [])
        assert info["identity"] == IDENTITY
        assert abs(float(entry[b"beat"]) - time.time()) < 2
        assert entry[b"quiet"] == b"false"
        assert 0 < redis_client.ttl(IDENTITY) <= 60
        (work,) = redis_client.hgetall(f"{IDENTITY}:workers").values()
        assert json.loads(json.loads(work)["payload"])["class"] == "ProcessRequestJob"
        assert redis_client.exists(heartbeat_key(IDENTITY)) == 1
        redis_client.lpush(f"{IDENTITY}-signals", "TERM")  # the Web UI's Stop button
        wait_for(lambda: redis_client.hget(IDENTITY, "quiet") == b"true" or not runner.is_alive())
        gate.set()
        runner.join(5)
    finally:
        gate.set()
        worker.stopping.set()
    assert exit_codes == [0]
    assert redis_client.get("stat:processed") == b"3"
    assert redis_client.sismember("processes", IDENTITY) == 0
    assert redis_client.exists(IDENTITY, f"{IDENTITY}:workers", heartbeat_key(IDENTITY), PROC) == 0


def test_a_stop_past_the_deadline_gives_the_batch_back(redis_client: Any, make_worker: Any) -> None:
    gate = threading.Event()
    push(redis_client, bodies := jobs(30))
    pipeline = FakePipeline(gate=gate)
    worker = make_worker(pipeline, batch_size=10, shutdown_timeout=0.3, block_timeout=0.1)
    runner = threading.Thread(target=worker.run)
    runner.start()
    try:
        wait_for(lambda: pipeline.calls == 1)
        started = time.monotonic()
        worker.stopping.set()
        runner.join(5)
        assert time.monotonic() - started < 2
        # the batch in hand went back to the front of the queue: nothing lost, order kept
        assert redis_client.lrange("queue:default", 0, -1)[::-1] == [b.encode() for b in bodies]
        assert redis_client.exists(PROC, heartbeat_key(IDENTITY)) == 0
        assert redis_client.smembers(REGISTRY) == set()
    finally:
        gate.set()


def test_run_worker_uses_the_stop_event(redis_client: Any) -> None:
    stop = threading.Event()
    stop.set()
    assert run_worker(redis_client, FakePipeline(), identity=IDENTITY, stop_event=stop) == 0
    assert redis_client.exists(IDENTITY, heartbeat_key(IDENTITY)) == 0


def test_command_line_defaults() -> None:
    args = parse_args(["--redis-url", "redis://x:1/0", "--queue", "high", "--queue", "default"])
    assert (args.queues, args.batch_size, args.concurrency, args.shutdown_timeout) == (["high", "default"], 1000, 1, 25)


# -- the real Sidekiq reads what we wrote -----------------------------------------------------
RUBY = """
require "sidekiq"; require "sidekiq/api"
Sidekiq.configure_client { |c| c.redis = {url: ENV["REDIS_URL"]} }
rs = Sidekiq::RetrySet.new
puts rs.size
rs.each { |j| puts [j["retry_count"], j["error_class"], j.klass, j.queue, j.error_backtrace.size].inspect }
Sidekiq::DeadSet.new.each { |j| puts ["dead", j.jid, j["error_message"]].inspect }
s = Sidekiq::Stats.new
puts [s.processed, s.failed, s.retry_size, s.dead_size].inspect
Sidekiq::ProcessSet.new.each { |p| puts [p.identity, p["busy"], p["concurrency"], p.stopping?].inspect }
"""


def test_real_sidekiq_api_reads_our_entries(redis_url: str, redis_client: Any, make_worker: Any) -> None:
    # `make test-deps` installs Debian's ruby-sidekiq; without it this test fails, on purpose.
    probe = subprocess.run(["ruby", "-e", 'require "sidekiq/api"'], capture_output=True, check=False)
    assert probe.returncode == 0, "Debian's ruby-sidekiq is missing: run `make test-deps`"
    body = jobs(1, backtrace=True)[0]
    poison = jobs(1)[0]
    push(redis_client, [body, poison, jobs(1)[0]])
    failures = {jid(body): raised(KeyError("k")), jid(poison): raised(ValueError("bad"), retryable=False)}
    worker = make_worker(FakePipeline(failures), concurrency=4)
    worker.work_once()
    worker.process_beat.beat(busy=2, quiet=False)
    out = subprocess.run(
        ["ruby", "-e", RUBY],
        env={**os.environ, "REDIS_URL": redis_url},
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout.splitlines()
    assert out[0] == "1"
    assert out[1].startswith('[0, "KeyError", "ProcessRequestJob", "default", ')
    assert int(out[1].rsplit(", ", 1)[1].rstrip("]")) >= 1  # the backtrace inflated and parsed
    assert out[2] == f'["dead", "{jid(poison)}", "bad"]'
    assert out[3] == "[3, 2, 1, 1]"
    assert out[4] == f'["{IDENTITY}", 2, 4, false]'
