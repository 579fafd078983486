"""Job classes the processor can run, looked up by Sidekiq class name (``wrapped`` for
ActiveJob). ProcessRequestJob is registered by the pipeline as a batch handler; users add
their own jobs the same way:

    registry.register("RenderPageJob", lambda arguments, job: render(*arguments))
"""

from collections.abc import Callable
from typing import Any

from tally_contract.envelope import Job

from .results import RecordResult

JobHandler = Callable[[list[Any], Job], None]
BatchHandler = Callable[[list[Job]], list[RecordResult]]


class Registry:
    def __init__(self) -> None:
        self._single: dict[str, JobHandler] = {}
        self._batch: dict[str, BatchHandler] = {}

    def register(self, job_class: str, handler: JobHandler) -> None:
        """A handler run once per job with the job's (ActiveJob-unwrapped) arguments."""
        self._single[job_class] = handler

    def register_batch(self, job_class: str, handler: BatchHandler) -> None:
        """A handler given every job of its class in a batch at once (for bulk writes)."""
        self._batch[job_class] = handler

    def batch_handler(self, job_class: str) -> BatchHandler | None:
        return self._batch.get(job_class)

    def handler(self, job_class: str) -> JobHandler | None:
        return self._single.get(job_class)

    def job(self, job_class: str) -> Callable[[JobHandler], JobHandler]:
        """Decorator form of ``register``."""

        def decorate(handler: JobHandler) -> JobHandler:
            self.register(job_class, handler)
            return handler

        return decorate
