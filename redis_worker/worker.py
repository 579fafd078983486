"""The Redis worker: runs the processing pipeline over Sidekiq's queues, Sidekiq-compatibly.

Each of ``concurrency`` threads loops: reliably fetch up to ``batch_size`` jobs into this
worker's processing lists (``fetch``), ``pipeline.process`` them, then settle every job in
one script call per queue: acknowledge it, put it in Sidekiq's ``retry`` set, or in ``dead``
(``failures``). Background threads keep the worker's heartbeat and Sidekiq's process entry
(``process``) fresh, move due retries and scheduled jobs back to their queues (Sidekiq's
poller), and give back the jobs of workers whose heartbeat expired (at-least-once: the pipeline
is idempotent). SIGTERM/SIGINT (or Stop in Sidekiq's Web UI) stops fetching, lets the batches
in hand finish for up to ``shutdown_timeout`` seconds, requeues whatever is left, and exits 0.
With ``concurrency`` above 1 the pipeline is called from several threads at once.
"""

from __future__ import annotations

import functools
import logging
import random
import signal
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from tally_contract.errors import QueueUnavailable
from tally_contract.sidekiq_redis import BEAT_PAUSE, DEFAULT_MAX_RETRIES, fetcher_identity
from tally_contract.signals import StopSignals

from .batch import BatchProcessor, run_batch
from .fetch import Fetched, Outcome, ReliableFetch
from .process import ProcessBeat, new_identity, sidekiq_tid

logger = logging.getLogger(__name__)
# Counters cost one UpdateItem per distinct counter per batch, so small batches multiply
# requests (docs/benchmarks.md); the default matches the SQS Lambda's stage batch
# (TALLY_SQS_BATCH_SIZE), the limit Lambda's largest SQS batch.
DEFAULT_BATCH = 1000
MAX_BATCH = 10_000


class Worker:
    """One worker process. Tests drive ``work_once`` directly, or ``run`` in a thread and set
    ``stopping``; intervals and timeouts are seconds (defaults: Sidekiq's where it has one)."""

    def __init__(
        self,
        client: Any,
        pipeline: BatchProcessor,
        *,
        queues: Sequence[str] = ("default",),
        batch_size: int = DEFAULT_BATCH,
        concurrency: int = 1,
        identity: str | None = None,
        heartbeat_ttl: float = 30.0,
        beat_interval: float = BEAT_PAUSE,
        poll_interval: float = 5.0,
        recovery_interval: float = 60.0,
        block_timeout: float = 1.0,
        shutdown_timeout: float = 25.0,
        max_retries: int = DEFAULT_MAX_RETRIES,
        tag: str = "tally",
        labels: Sequence[str] = (),
        rng: random.Random | None = None,
        stop_event: threading.Event | None = None,
    ) -> None:
        if not 1 <= batch_size <= MAX_BATCH:
            raise ValueError(f"batch_size must be 1..{MAX_BATCH}")
        if beat_interval * 2 > heartbeat_ttl:
            raise ValueError("beat_interval must be at most half of heartbeat_ttl")
        self.pipeline = pipeline
        self.identity = identity or new_identity()
        self.queues = list(dict.fromkeys(queues))
        self.batch_size = batch_size
        self.concurrency = max(1, concurrency)
        self.beat_interval = beat_interval
        self.poll_interval = poll_interval
        self.recovery_interval = recovery_interval
        self.block_timeout = block_timeout
        self.shutdown_timeout = shutdown_timeout
        self.max_retries = max_retries
        self.rng = rng or random.Random()  # retry jitter, not a secret
        # One set of processing lists per fetcher thread, so that a batch is always at the tail
        # of its own list when it is settled: batches sharing a list made the settle of a later
        # one walk the earlier one job by job (seconds of Redis time at 10,000 a batch).
        self.fetches = [
            ReliableFetch(client, fetcher_identity(self.identity, slot), self.queues, heartbeat_ttl=heartbeat_ttl)
            for slot in range(self.concurrency)
        ]
        self.fetch = self.fetches[0]  # also recovers other workers' lists and polls the sets
        self.process_beat = ProcessBeat(
            client, self.identity, queues=self.queues, concurrency=self.concurrency, tag=tag, labels=labels
        )
        self.stopping = stop_event or threading.Event()  # set: shut down
        self.quieted = threading.Event()  # set: fetch nothing more (Sidekiq's "quiet")
        self._exiting = threading.Event()  # set: background threads end, settle stops retrying
        self.signals: StopSignals | None = None  # SIGTERM/SIGINT, when run_worker handles them
        self._lock = threading.Lock()
        self._in_hand: dict[str, list[Fetched]] = {}

    # -- one batch ------------------------------------------------------------------------
    def work_once(self, block: float = 0.0, slot: int = 0) -> int:
        """Fetch one batch with fetcher ``slot``, process it and settle every job. Returns how
        many jobs it took."""
        fetch = self.fetches[slot]
        jobs = fetch.fetch(self.batch_size, block)
        if not jobs:
            return 0
        tid = sidekiq_tid()
        with self._lock:
            self._in_hand[tid] = jobs
        try:
            self._settle(fetch, run_batch(self.pipeline, jobs, rng=self.rng, max_retries=self.max_retries))
        except Exception:
            # A bug of ours must not strand the batch in the processing list of a live worker.
            fetch.settle([Outcome(job, "requeue") for job in jobs])
            raise
        finally:
            with self._lock:
                self._in_hand.pop(tid, None)
        return len(jobs)

    def _settle(self, fetch: ReliableFetch, outcomes: list[Outcome]) -> None:
        """Settle, retrying through Redis outages: settling twice is harmless (LREM guards)."""
        pause = 0.1
        while True:
            try:
                fetch.settle(outcomes)
                return
            except QueueUnavailable as exc:
                logger.warning("could not settle %d jobs (%s); retrying", len(outcomes), exc)
            if self._exiting.wait(pause):
                return  # the shutdown requeues whatever is still in the processing lists
            pause = min(pause * 2, 5.0)

    # -- threads --------------------------------------------------------------------------
    def _fetch_loop(self, slot: int) -> None:
        pause = 0.1
        while not (self.quieted.is_set() or self.stopping.is_set()):
            try:
                self.work_once(self.block_timeout, slot)
                pause = 0.1
            except QueueUnavailable as exc:
                logger.warning("fetch failed (%s); retrying in %.1f s", exc, pause)
                self.stopping.wait(pause)
                pause = min(pause * 2, 5.0)
            except Exception:  # keep the thread alive; the batch was requeued
                logger.exception("batch failed unexpectedly; retrying in %.1f s", pause)
                self.stopping.wait(pause)
                pause = min(pause * 2, 5.0)

    def _beat_loop(self) -> None:
        while not self._exiting.wait(self.beat_interval):
            self._beat()

    def _beat(self) -> None:
        try:
            for fetch in self.fetches:
                fetch.beat()
            with self._lock:
                busy = sum(len(jobs) for jobs in self._in_hand.values())
                workers = {
                    tid: {
                        "queue": jobs[0].queue,
                        "payload": jobs[0].body.decode("utf-8", "replace"),
                        "run_at": int(time.time()),
                    }
                    for tid, jobs in self._in_hand.items()
                }
            quiet = self.quieted.is_set() or self.stopping.is_set()
            command = self.process_beat.beat(busy=busy, quiet=quiet, workers=workers)
        except QueueUnavailable as exc:
            logger.warning("heartbeat failed: %s", exc)
            return
        if command == "TERM":
            self.stopping.set()
        elif command == "TSTP":
            self.quieted.set()
        elif command:
            logger.info("ignoring signal %s from Redis", command)

    def _housekeeping_loop(self) -> None:
        next_poll = time.monotonic() + self.poll_interval * self.rng.random()
        next_recovery = time.monotonic() + self.recovery_interval
        while not self._exiting.wait(max(0.0, min(next_poll, next_recovery) - time.monotonic())):
            if self.quieted.is_set() or self.stopping.is_set():
                continue
            now = time.monotonic()
            try:
                if now >= next_poll:
                    # Sidekiq's random_poll_interval for a small cluster: the average +-50%.
                    next_poll = now + self.poll_interval * (0.5 + self.rng.random())
                    self.fetch.enqueue_due()
                if now >= next_recovery:
                    next_recovery = now + self.recovery_interval
                    self._recover_orphans()
            except QueueUnavailable as exc:
                logger.warning("housekeeping failed: %s", exc)

    def _recover_orphans(self) -> None:
        requeued = self.fetch.recover()
        if requeued:
            logger.warning("gave back %d jobs of workers whose heartbeat expired", requeued)

    # -- lifecycle ------------------------------------------------------------------------
    def run(self) -> int:
        """Work until ``stopping`` is set (a signal, Web UI Stop, or the caller). Returns 0."""
        for fetch in self.fetches:
            fetch.beat()  # raises if Redis is not there at the start
        self._beat()
        self._recover_orphans()
        logger.info(
            "worker %s on queues %s, batch %d x %d", self.identity, self.queues, self.batch_size, self.concurrency
        )
        fetchers = [self._thread(functools.partial(self._fetch_loop, i), f"fetch-{i}") for i in range(self.concurrency)]
        background = [self._thread(self._beat_loop, "beat"), self._thread(self._housekeeping_loop, "housekeeping")]
        while not self.stopping.wait(0.5):
            if self.signals is not None and self.signals.received:
                logger.info("received %s, stopping", signal.Signals(self.signals.received[0]).name)
                self.stopping.set()
        return self._shutdown(fetchers, background)

    def _shutdown(self, fetchers: list[threading.Thread], background: list[threading.Thread]) -> int:
        self.quieted.set()
        deadline = time.monotonic() + self.shutdown_timeout
        for thread in fetchers:
            thread.join(max(0.0, deadline - time.monotonic()))
        unfinished = sum(thread.is_alive() for thread in fetchers)
        self._exiting.set()
        for thread in background:
            thread.join(2.0)  # so no beat lands after the entries below are removed
        try:
            requeued = 0
            for fetch in self.fetches:
                requeued += fetch.recover(own=True)
                fetch.forget()
            self.process_beat.clear()
        except QueueUnavailable as exc:
            logger.error("could not clean up on stop (%s); recovery by other workers will requeue", exc)
            requeued = -1
        if unfinished or requeued:
            logger.warning("stopped with %d batches unfinished; %d jobs requeued", unfinished, requeued)
        logger.info("worker %s stopped", self.identity)
        return 0

    @staticmethod
    def _thread(target: Callable[[], None], name: str) -> threading.Thread:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        return thread


def run_worker(client: Any, pipeline: BatchProcessor, **options: Any) -> int:
    """Build a Worker and run it until its ``stop_event`` (or a signal) says stop."""
    worker = Worker(client, pipeline, **options)
    if threading.current_thread() is not threading.main_thread():
        return worker.run()
    # The handler only records the signal; run() sets ``stopping`` (tally_contract/signals.py:
    # Event.set() in a handler can deadlock on the lock run()'s wait holds).
    with StopSignals().installed() as worker.signals:
        return worker.run()
