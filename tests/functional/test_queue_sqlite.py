"""Local mode's SQLite queue and its worker, on real files: bytes kept as pushed, leases and
their fencing token, Sidekiq's retry schedule and dead set, the poller, recovery after a dead
worker, and several workers on one file never running a job twice at once."""

import json
import random
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from processor_lambda.results import JobFailed
from tally_cli.local.queue_worker import QueueWorker
from tally_contract import queues
from tally_contract.queues.sqlite_queue import Settled, SqliteQueue
from tests.functional.test_worker import FakePipeline, jid
from tests.support.jobs import jobs
from tests.support.waiting import wait_for

OWNER = "testhost:1:0123456789ab"


@pytest.fixture
def queue(tmp_path: Path) -> SqliteQueue:
    made = queues.from_url(f"sqlite://{tmp_path / 'queue.db'}")
    assert isinstance(made, SqliteQueue)
    return made


def test_jobs_come_back_byte_for_byte_in_push_order(queue: SqliteQueue) -> None:
    bodies = ['{"class":"HardWorker","args":["café/\\u2028"],"jid":"a"}', *jobs(3)]
    assert queue.push("default", bodies) == []
    taken = queue.take(["default"], 10, OWNER, 30)
    assert [job.body for job in taken] == [body.encode() for body in bodies]
    assert queue.take(["default"], 10, OWNER, 30) == [], "leased jobs are hidden"
    assert queue.sizes("default")["in_flight"] == 4


def test_queues_are_taken_in_priority_order(queue: SqliteQueue) -> None:
    queue.push("low", jobs(2))
    queue.push("critical", jobs(2))
    assert [job.queue for job in queue.take(["critical", "low"], 3, OWNER, 30)] == ["critical", "critical", "low"]


def test_an_ended_lease_gives_the_job_back_and_fences_the_late_settle(queue: SqliteQueue) -> None:
    queue.push("default", jobs(1))
    (first,) = queue.take(["default"], 1, OWNER, 0.05)
    time.sleep(0.1)
    (second,) = queue.take(["default"], 1, "other:2:x", 30)
    assert second.id == first.id and second.receives == first.receives + 1
    assert queue.settle([Settled(first, "ack")], dead_cutoff=0, dead_keep=10) == 0, "the old lease settles nothing"
    assert queue.sizes("default")["in_flight"] == 1
    assert queue.settle([Settled(second, "ack")], dead_cutoff=0, dead_keep=10) == 1
    assert queue.sizes("default") | {"oldest_enqueued_at": None} == {
        "queued": 0, "in_flight": 0, "oldest_enqueued_at": None, "retry": 0, "scheduled": 0, "dead": 0}  # fmt: skip


def test_extend_keeps_a_long_batch_and_release_gives_back_a_dead_owners(queue: SqliteQueue) -> None:
    queue.push("default", jobs(2))
    taken = queue.take(["default"], 2, OWNER, 0.2)
    assert queue.extend(taken, 30) == 2
    time.sleep(0.3)
    assert queue.take(["default"], 2, "other:2:x", 30) == []
    assert queue.owners() == [OWNER]
    assert queue.release(OWNER) == 2
    assert len(queue.take(["default"], 2, "other:2:x", 30)) == 2


def _worker(queue: SqliteQueue, pipeline: Any, **options: Any) -> QueueWorker:
    return QueueWorker(queue, pipeline, rng=random.Random(7), **options)


def test_failures_follow_sidekiqs_schedule_then_the_dead_set(queue: SqliteQueue) -> None:
    body = jobs(1, retry=2)[0]
    queue.push("default", [body])
    pipeline = FakePipeline(fail={jid(body): JobFailed("ConnectionError: upstream down")})
    worker = _worker(queue, pipeline)
    for count in range(3):
        started = time.time()
        assert worker.work_once() == 1
        (_, member), = queue.due(["retry", "dead"], started + 10**6)  # fmt: skip
        job = json.loads(member)
        assert job["retry_count"] == count and job["error_message"] == "ConnectionError: upstream down"
        if count < 2:  # count**4 + 15 + rand(10) * (count + 1) seconds from now
            assert queue.due(["retry"], started + count**4 + 14) == []
            assert len(queue.due(["retry"], time.time() + count**4 + 15 + 9 * (count + 1))) == 1
            assert worker.enqueue_due(now=started + 10**4) == 1
    assert queue.sizes("default")["dead"] == 1 and queue.sizes("default")["retry"] == 0
    assert queue.redrive(10) == 1 and queue.sizes("default")["queued"] == 1, "redrive: back on its queue"


def test_a_poison_job_is_dead_at_once_and_nothing_is_lost(queue: SqliteQueue) -> None:
    queue.push("default", ["{not json", *jobs(2)])
    worker = _worker(queue, FakePipeline())
    assert worker.work_once() == 3
    (dead,) = queue.dead(10)
    assert dead[1] == b"{not json"  # kept as it came
    assert queue.sizes("default")["queued"] == 0


def test_a_batch_that_raises_comes_back_whole(queue: SqliteQueue) -> None:
    class Broken:
        def process(self, bodies: Any) -> Any:
            raise RuntimeError("bug")

    queue.push("default", jobs(3))
    assert _worker(queue, Broken()).work_once() == 3
    assert queue.sizes("default")["retry"] == 3, "the pipeline raised: every job retried, none lost"


def test_a_new_worker_takes_back_what_a_dead_one_held(queue: SqliteQueue) -> None:
    queue.push("default", jobs(4))
    host = __import__("socket").gethostname()
    gone = f"{host}:{2**22 + 12345}:0123456789ab"  # no such pid
    queue.take(["default"], 4, gone, 300)
    worker = _worker(queue, FakePipeline())
    assert worker.recover() == 4
    assert worker.work_once() == 4


def test_several_workers_on_one_file_run_each_job_once(tmp_path: Path) -> None:
    path = tmp_path / "queue.db"
    SqliteQueue(path).push("default", jobs(600))
    seen: list[str] = []
    lock = threading.Lock()

    class Recording(FakePipeline):
        def process(self, bodies: Any) -> Any:
            with lock:
                seen.extend(jid(body) for body in bodies)
            return super().process(bodies)

    stop = threading.Event()
    workers = [_worker(SqliteQueue(path), Recording(), batch_size=25, stop_event=stop) for _ in range(3)]
    threads = [threading.Thread(target=w.run, daemon=True) for w in workers]
    for thread in threads:
        thread.start()
    try:
        wait_for(lambda: SqliteQueue(path).sizes("default")["queued"] + SqliteQueue(path).sizes("default")[
            "in_flight"] == 0, 60, "the queue to empty")  # fmt: skip
    finally:
        stop.set()
        for thread in threads:
            thread.join(10)
    assert len(seen) == 600 and len(set(seen)) == 600
