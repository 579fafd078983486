"""The worker of local mode's SQLite queue (tally_contract/queues/sqlite_queue.py), with the Redis
worker's semantics: the same pipeline, the same per-job outcomes (``redis_worker.batch.run_batch``:
acknowledge, Sidekiq's retry schedule, or the dead set), the same poller moving due retries
back to their queue.

- A fetch thread leases up to ``batch_size`` ready jobs, processes them and settles each under
  its lease; when the queue is empty it polls every ``idle`` seconds.
- A keeper thread extends the leases of the jobs in hand every ``lease / 3`` seconds, so a long
  batch is never taken twice while its worker lives; when the worker dies (``kill -9``) its
  leases end after ``lease`` seconds, or at once when the next worker on this host starts and
  finds the owner's process gone (``recover``).
- The poller moves due members of the retry and schedule sets to their queues every ``poll``
  seconds.
Several workers (processes) may share one queue file: leases and the fencing token keep each
job with one of them at a time.
"""

import logging
import os
import random
import socket
import threading
import time
from collections.abc import Callable, Sequence

from redis_worker.batch import BatchProcessor, run_batch
from redis_worker.fetch import Fetched
from tally_contract import sidekiq_redis as sk
from tally_contract.errors import QueueUnavailable
from tally_contract.queues.sqlite_queue import Settled, SqliteQueue, Taken

logger = logging.getLogger(__name__)


_OURS: set[str] = set()  # the owners of this process's workers


def new_owner() -> str:
    owner = f"{socket.gethostname()}:{os.getpid()}:{os.urandom(6).hex()}"
    _OURS.add(owner)
    return owner


class QueueWorker:
    def __init__(
        self,
        queue: SqliteQueue,
        pipeline: BatchProcessor,
        *,
        queues: Sequence[str] = ("default",),
        batch_size: int = 500,
        lease: float = 30.0,
        idle: float = 0.05,
        poll: float = 1.0,
        max_retries: int = sk.DEFAULT_MAX_RETRIES,
        rng: random.Random | None = None,
        stop_event: threading.Event | None = None,
    ) -> None:
        self.queue, self.pipeline = queue, pipeline
        self.queues, self.batch_size, self.lease = list(queues), batch_size, lease
        self.idle, self.poll, self.max_retries = idle, poll, max_retries
        self.rng = rng or random.Random()  # retry jitter, not a secret
        self.owner = new_owner()
        self.stopping = stop_event or threading.Event()
        self._in_hand: list[Taken] = []
        self._lock = threading.Lock()

    # -- one batch ------------------------------------------------------------------------
    def work_once(self) -> int:
        """Lease one batch, process it, settle every job. Returns how many jobs it took."""
        taken = self.queue.take(self.queues, self.batch_size, self.owner, self.lease)
        if not taken:
            return 0
        with self._lock:
            self._in_hand = taken
        try:
            fetched = [Fetched(job.queue, job.body) for job in taken]
            outcomes = run_batch(self.pipeline, fetched, rng=self.rng, max_retries=self.max_retries)
            self._settle([Settled(job, o.kind, o.member, o.score) for job, o in zip(taken, outcomes, strict=True)])
        finally:
            with self._lock:
                self._in_hand = []
        return len(taken)

    def _settle(self, outcomes: list[Settled]) -> None:
        """Settle, retrying while the file is locked or failing: settling twice is harmless (the
        lease's token guards), and a job never settled comes back when its lease ends."""
        pause = 0.05
        while True:
            try:
                self.queue.settle(outcomes, dead_cutoff=time.time() - sk.DEAD_TIMEOUT,
                                  dead_keep=sk.DEAD_MAX_JOBS)  # fmt: skip
                return
            except QueueUnavailable as exc:
                logger.warning("could not settle %d jobs (%s); retrying", len(outcomes), exc)
            if self.stopping.wait(pause):
                return
            pause = min(pause * 2, 2.0)

    def enqueue_due(self, now: float | None = None) -> int:
        """Move due retries and scheduled jobs to their queues, as Sidekiq's poller does."""
        now = time.time() if now is None else now
        due = self.queue.due((sk.RETRY, sk.SCHEDULE), now)
        return self.queue.enqueue_due([(i, *sk.due_job(member, now)) for i, member in due]) if due else 0

    def recover(self) -> int:
        """Give back the jobs of workers on this host whose process is gone."""
        host = socket.gethostname()
        gone = [owner for owner in self.queue.owners() if _gone(owner, host)]
        return sum(self.queue.release(owner) for owner in gone)

    # -- threads --------------------------------------------------------------------------
    def run(self) -> None:
        recovered = self.recover()
        if recovered:
            logger.warning("gave back %d jobs of a worker that is gone", recovered)
        threads = [_thread(self._keep_leases, "leases"), _thread(self._poll_loop, "poller")]
        self._loop(self.work_once, self.idle, lambda done: done == 0)
        for thread in threads:
            thread.join(5)

    def _keep_leases(self) -> None:
        while not self.stopping.wait(self.lease / 3):
            with self._lock:
                held = list(self._in_hand)
            if held:
                try:
                    self.queue.extend(held, self.lease)
                except QueueUnavailable as exc:
                    logger.warning("could not extend leases: %s", exc)

    def _poll_loop(self) -> None:
        self._loop(self.enqueue_due, self.poll, lambda _: True)

    def _loop(self, step: Callable[[], int], pause: float, rest: Callable[[int], bool]) -> None:
        """``step`` until stopping; after a step ``rest`` approves of (or an error), wait ``pause``."""
        while not self.stopping.is_set():
            try:
                if not rest(step()):
                    continue
            except QueueUnavailable as exc:
                logger.warning("%s failed: %s", step.__name__, exc)
            except Exception:  # keep the thread alive; unsettled jobs come back with their lease
                logger.exception("%s failed unexpectedly", step.__name__)
            self.stopping.wait(pause)


def _gone(owner: str, host: str) -> bool:
    """Whether ``owner`` (host:pid:nonce) was a process of this host that no longer exists. An
    owner with this process's pid but none of its workers' nonces was an earlier process given
    the same pid (a container's pid 1, say)."""
    parts = owner.rsplit(":", 2)
    if len(parts) != 3 or parts[0] != host or not parts[1].isdigit():
        return False
    pid = int(parts[1])
    if pid == os.getpid():
        return owner not in _OURS
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # alive, someone else's
    return False


def _thread(target: Callable[[], None], name: str) -> threading.Thread:
    thread = threading.Thread(target=target, name=name, daemon=True)
    thread.start()
    return thread
