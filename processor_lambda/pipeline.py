"""Process a batch of queued messages: decode, dispatch by job class, report per message.

The SQS Lambda handler and the Redis worker both call ``Pipeline.process`` with raw message
bodies and act on the per-message results (delete/ack the successes, retry or dead-letter the
failures). It never raises for one bad message.
"""

import gc
import os
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from tally_contract import envelope
from tally_contract.envelope import Job
from tally_contract.errors import EnvelopeError

from .registry import Registry
from .results import JobFailed, RecordResult

if TYPE_CHECKING:  # the SQS handler imports this module; storage code loads on first build
    from tally_store.base import Store

PROCESS_REQUEST_JOB = "ProcessRequestJob"


class Pipeline:
    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    def process(self, bodies: Sequence[str | bytes]) -> list[RecordResult]:
        """One RecordResult per body, same order."""
        # A batch builds tens of thousands of objects that all live until it ends; the cyclic
        # GC would promote them and rescan the whole heap several times per batch for nothing
        # (reference counting frees them). Paused per batch, it catches up between batches.
        enabled = gc.isenabled()
        gc.disable()
        try:
            return self._process(bodies)
        finally:
            if enabled:
                gc.enable()

    def _process(self, bodies: Sequence[str | bytes]) -> list[RecordResult]:
        results: list[RecordResult | None] = [None] * len(bodies)
        groups: dict[str, list[tuple[int, Job]]] = defaultdict(list)
        for position, body in enumerate(bodies):
            try:
                job = envelope.decode(body)
            except EnvelopeError as exc:
                results[position] = RecordResult.failure(JobFailed(str(exc), retryable=False))
                continue
            groups[job.job_class].append((position, job))
        for job_class, members in groups.items():
            for (position, _), result in zip(members, self._run(job_class, [job for _, job in members]), strict=True):
                results[position] = result
        return [result or RecordResult.failure(JobFailed("not processed")) for result in results]

    def _run(self, job_class: str, jobs: list[Job]) -> list[RecordResult]:
        batch = self.registry.batch_handler(job_class)
        if batch is not None:
            try:
                return batch(jobs)
            except Exception as exc:  # noqa: BLE001 - one broken handler must not sink the batch
                return [RecordResult.failure(_as_failure(exc))] * len(jobs)
        single = self.registry.handler(job_class)
        if single is None:
            # Retried, as Sidekiq retries a class it cannot find: another worker (or this one,
            # redeployed) may know it. Sidekiq's schedule, or SQS's redrive, ends in the dead letters.
            failure = JobFailed(f"no handler is registered for job class {job_class!r}")
            return [RecordResult.failure(failure)] * len(jobs)
        return [_run_one(single, job) for job in jobs]


def _run_one(handler: Callable[..., None], job: Job) -> RecordResult:
    try:
        handler(job.arguments, job)
    except Exception as exc:  # noqa: BLE001 - a user job's failure is data: retry or dead letter
        return RecordResult.failure(_as_failure(exc))
    return RecordResult.success()


def _as_failure(exc: Exception) -> JobFailed:
    if isinstance(exc, JobFailed):
        return exc
    failure = JobFailed(f"{type(exc).__name__}: {exc}")
    failure.__cause__ = exc
    return failure


def build_pipeline(
    registry: Registry | None = None, *, clock: Callable[[], float] = time.time, store: "Store | None" = None
) -> Pipeline:
    """The production pipeline, configured from the environment (see docs/operations.md): the
    store and sites of ``TALLY_STORE_URL`` (local mode), else the DynamoDB tables. ``store``
    replaces the store (the fault tests hand in one with a faulty client)."""
    import tally_store
    from tally_contract import sites as site_stores

    from .request_job import RequestProcessor, SiteSettings

    registry = registry or Registry()
    store = store or tally_store.from_environment()
    sites = SiteSettings(site_stores.from_environment().by_id)
    processor = RequestProcessor(store, sites, default_site=os.environ.get("TALLY_DEFAULT_SITE") or None, clock=clock)
    registry.register_batch(PROCESS_REQUEST_JOB, processor)
    return Pipeline(registry)
