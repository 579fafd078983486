"""One batch through the pipeline, turned into how each job is settled in Redis.

The pipeline reports per job (``RecordResult``); here a success becomes an acknowledgement and
a failure becomes Sidekiq's retry or dead entry (``failures.plan_failure``). Whatever goes
wrong here, every job comes out with an outcome: a job is never dropped or left in hand.
"""

import logging
import random
import time
from collections.abc import Sequence
from typing import Protocol

from processor_lambda.results import JobFailed, RecordResult
from tally_contract.sidekiq_redis import DEAD, DEFAULT_MAX_RETRIES

from .failures import Failed, plan_failure
from .fetch import Fetched, Outcome

logger = logging.getLogger(__name__)


class BatchProcessor(Protocol):
    """What the worker needs of ``processor_lambda.pipeline.Pipeline``."""

    def process(self, bodies: Sequence[str | bytes]) -> list[RecordResult]: ...


def run_batch(
    pipeline: BatchProcessor,
    jobs: Sequence[Fetched],
    *,
    rng: random.Random,
    max_retries: int = DEFAULT_MAX_RETRIES,
) -> list[Outcome]:
    """Process ``jobs`` and return one Outcome per job, in order."""
    results = _results(pipeline, jobs)
    now = time.time()
    outcomes = []
    for job, result in zip(jobs, results, strict=True):
        if result.ok:
            outcomes.append(Outcome(job, "ack"))
            continue
        error = result.error or JobFailed("the job failed without an error")
        try:
            plan = plan_failure(job.body, error, job.queue, now=now, rng=rng, max_retries=max_retries)
        except Exception:  # never lose the job over a bookkeeping bug
            logger.exception("could not build the retry entry; job goes to the dead set as it came")
            plan = Failed(DEAD, job.body, now)
        outcomes.append(Outcome(job, plan.target, plan.member, plan.score))
    return outcomes


def _results(pipeline: BatchProcessor, jobs: Sequence[Fetched]) -> list[RecordResult]:
    try:
        results = list(pipeline.process([job.body for job in jobs]))
    except Exception as exc:  # the pipeline promises not to raise; if it does, retry them all
        logger.exception("pipeline raised; the batch of %d will be retried", len(jobs))
        failure = JobFailed(f"{type(exc).__name__}: {exc}")
        failure.__cause__ = exc
        return [RecordResult.failure(failure)] * len(jobs)
    if len(results) != len(jobs):
        logger.error("pipeline gave %d results for %d jobs", len(results), len(jobs))
        missing = RecordResult.failure(JobFailed("the pipeline returned no result for this job"))
        results = (results + [missing] * len(jobs))[: len(jobs)]
    return results
