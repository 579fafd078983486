"""Time a process draining Sidekiq's ``queue:default`` (bench/worker.py, bench/worker_pipeline.py).

The rate is taken over the middle 80% of the queue (from 90% to 10% of the jobs left), so
neither the drainer's boot nor its last batch counts; every job must then show in
``stat:processed`` with no failure, or the run fails.
"""

import os
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from tally_contract import sidekiq_redis as sk

ROOT = Path(__file__).resolve().parent.parent
QUEUE = sk.queue_key("default")
STAGED = "bench:staged"  # filled while the drainer warms up, then renamed onto the queue at once


def fill(client: Any, jobs: Sequence[str], key: str = QUEUE) -> None:
    """Queue ``jobs`` (oldest first) as Sidekiq's client does, or stage them under ``key``."""
    for start in range(0, len(jobs), 2000):
        pipe = client.pipeline(transaction=False)
        if key == QUEUE:
            sk.push(pipe, "default", jobs[start : start + 2000])
        else:
            pipe.lpush(key, *jobs[start : start + 2000])
        pipe.execute()


def drain(
    client: Any,
    command: list[str],
    env: dict[str, str],
    count: int,
    core: int,
    warm: int = 0,
    warmed: Callable[[], object] = lambda: None,
) -> dict[str, Any]:
    """Start ``command`` pinned to ``core``, time the queue's middle 80%, stop it, check every
    job ran. ``warm``: the queue holds that many warm-up jobs and STAGED the ``count`` timed
    ones, which replace the queue once the warm-up ones are done (a warm process, as a warm
    Lambda is); ``warmed`` is called then."""
    log = tempfile.TemporaryFile()  # a file, not a pipe nobody reads: a full pipe would stall the worker
    process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=log, stderr=log,
                               preexec_fn=lambda: os.sched_setaffinity(0, {core}))  # fmt: skip
    marks: dict[float, float] = {}
    deadline = time.monotonic() + 600

    def check() -> None:
        if process.poll() is not None or time.monotonic() > deadline:
            log.seek(0)
            raise RuntimeError(f"{command[0]} stopped early: {log.read().decode(errors='replace')[-2000:]}")

    try:
        while warm and _stat(client, sk.STAT_PROCESSED) < warm:
            check()
            time.sleep(0.01)
        if warm:
            warmed()
            client.rename(STAGED, QUEUE)  # wakes the worker's blocking fetch
        while len(marks) < 2:
            left = client.llen(QUEUE)
            for share in (0.9, 0.1):
                if share not in marks and left <= share * count:
                    marks[share] = time.perf_counter()
            check()
            time.sleep(0.005)
        while client.llen(QUEUE) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)  # let the last jobs in hand finish before the stop
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
    processed, failed = _stat(client, sk.STAT_PROCESSED), _stat(client, sk.STAT_FAILED)
    if processed != count + warm or failed:
        raise RuntimeError(f"{command[0]}: processed {processed} of {count + warm}, failed {failed}")
    seconds = marks[0.1] - marks[0.9]
    return {"jobs": count, "timed_jobs": round(0.8 * count), "seconds": round(seconds, 3),
            "jobs_per_s": round(0.8 * count / seconds)}  # fmt: skip


def _stat(client: Any, key: str) -> int:
    return int(client.get(key) or 0)
