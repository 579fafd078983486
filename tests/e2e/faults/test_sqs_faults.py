"""Fault scenarios on the AWS path, over real HTTP (tests/support/local_pipeline.py: the app served on
loopback, moto's server behind it), drained by the production SQS Lambda handler.
Each ends with the Ledger's accounting (tests/support/faults/ledger.py, docs/faults.md)."""

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from processor_lambda.pipeline import PROCESS_REQUEST_JOB, build_pipeline
from processor_lambda.results import JobFailed, RecordResult
from processor_lambda.sqs_handler import SqsBatchHandler
from tally_contract.envelope import Job
from tally_store.dynamodb import DynamoDBStore
from tally_store.dynamodb_calls import Calls
from tests.support.faults import sinks
from tests.support.faults.client import ORIGIN, Client, new_events
from tests.support.faults.drain import drain
from tests.support.faults.inject import Faulty
from tests.support.faults.ledger import Ledger, volume
from tests.support.local_pipeline import LocalPipeline, local_pipeline

pytestmark = pytest.mark.slow


@pytest.fixture
def local() -> Iterator[LocalPipeline]:
    with local_pipeline(ORIGIN) as pipeline:
        yield pipeline


def settle(local: LocalPipeline, ledger: Ledger, handler: SqsBatchHandler) -> None:
    """Drain the queue, roll up, and count where every event ended."""
    import os

    sqs, dynamodb = local.clients["sqs"], local.clients["dynamodb"]
    ledger.notes["partial_invocations"] = drain(sqs, local.queue_url, handler)
    stored, sealed = sinks.roll_up_and_store(dynamodb, ledger)
    dlq = sqs.get_queue_url(QueueName=os.environ["TALLY_DLQ"])["QueueUrl"]
    ledger.dead.update(sinks.sqs_dead_letters(sqs, dlq))
    ledger.notes["sealed_total"] = ledger.notes.get("sealed_total", 0) + sealed
    ledger.check()
    assert sealed == len(set(stored)), "the rollup counts each stored event once"


def handler_for(local: LocalPipeline, store: DynamoDBStore | None = None) -> SqsBatchHandler:
    import os

    return SqsBatchHandler(build_pipeline(store=store), client=local.clients["sqs"], dlq=os.environ["TALLY_DLQ"])


def test_dynamodb_throttling_and_unprocessed_items_storms(local: LocalPipeline) -> None:
    ledger = Ledger("dynamodb_storms")
    Client(local.api, local.write_key).send(ledger, new_events(volume(120, 1000)))
    assert len(ledger.accepted) == len(ledger.sent)
    faulty = Faulty(local.clients["dynamodb"], storms={
        "batch_write_item": [("unprocessed", 0.4), ("ThrottlingException", 0.3),
                             ("ProvisionedThroughputExceededException", 0.15)],
        "update_item": [("ThrottlingException", 0.3)],
    })  # fmt: skip
    faulty.faults["batch_write_item"] = ["ThrottlingException"] * 8  # one chunk surely runs out of retries
    settle(local, ledger, handler_for(local, DynamoDBStore.from_environment(Calls(faulty, sleep=lambda _: None))))
    ledger.notes["injected"] = dict(faulty.injected)
    ledger.write()
    # Raw events are packed: a few BatchWriteItem calls a batch, so fewer draws than counter updates.
    assert faulty.injected["unprocessed"] > 0 and faulty.injected["ThrottlingException"] > 8
    assert ledger.notes["partial_invocations"] > 0, "some batches must have run out of retries"


def test_send_message_batch_partial_failures(local: LocalPipeline) -> None:
    """Ingest's SendMessageBatch fails partly (or its answer is lost): the client is told which
    events were not queued (207/503) and resends them with the same ids."""
    import os

    from ingest_lambda import runtime
    from tally_contract.queues.sqs_queue import SqsQueue

    faulty = Faulty(local.clients["sqs"], storms={
        "send_message_batch": [("partial", 0.3), ("lost", 0.1), ("ServiceUnavailable", 0.15)],
    })  # fmt: skip
    name = os.environ["TALLY_QUEUE_URL"].removeprefix("sqs://")
    runtime.configure(queue=SqsQueue(name, client=faulty, attempts=1))
    ledger = Ledger("send_message_batch_partial")
    client = Client(local.api, local.write_key, attempts=12, backoff=0.01)
    client.send(ledger, new_events(volume(80, 600)), batch=10)  # one SendMessageBatch per request
    ledger.notes["injected"] = dict(faulty.injected)
    ledger.notes["client_statuses"] = {str(s): client.statuses.count(s) for s in sorted(set(client.statuses))}
    assert {207, 503} <= set(client.statuses), "the client must have seen partial and total refusals"
    settle(local, ledger, handler_for(local))
    assert faulty.injected["lost"] > 0 and not ledger.dead


class FlakyProcessor:
    """Wraps the registered ProcessRequestJob handler: some batches raise after storing their
    first half; events whose id starts with ``poison-`` always fail, not retryably."""

    def __init__(self, inner: Any, rate: float, seed: int = 8) -> None:
        import random

        self.inner, self.rate, self.rng, self.raised = inner, rate, random.Random(seed), 0

    def __call__(self, jobs: list[Job]) -> list[RecordResult]:
        poison = {i for i, job in enumerate(jobs) if str(job.arguments[0].get("event_id")).startswith("poison-")}
        healthy = [job for i, job in enumerate(jobs) if i not in poison]
        if healthy and self.rng.random() < self.rate:
            self.inner(healthy[: len(healthy) // 2])
            self.raised += 1
            raise RuntimeError("injected: processor died mid-batch")
        done = iter(self.inner(healthy) if healthy else [])
        failure = RecordResult.failure(JobFailed("PoisonEvent: injected, never processable", retryable=False))
        return [failure if i in poison else next(done) for i in range(len(jobs))]


def test_processor_exceptions_mid_batch(local: LocalPipeline) -> None:
    ledger = Ledger("processor_exceptions")
    n = volume(100, 1000)
    events = new_events(n - n // 20) + new_events(n // 20, prefix="poison-")
    Client(local.api, local.write_key).send(ledger, events)
    handler = handler_for(local)
    flaky = FlakyProcessor(handler.pipeline.registry.batch_handler(PROCESS_REQUEST_JOB), rate=0.3)
    handler.pipeline.registry.register_batch(PROCESS_REQUEST_JOB, flaky)
    settle(local, ledger, handler)
    ledger.notes["batches_raised"] = flaky.raised
    ledger.write()
    assert flaky.raised > 0
    assert set(ledger.dead) == {e["event_id"] for e in events if e["event_id"].startswith("poison-")}
    assert all(reason.startswith("PoisonEvent") for reason in ledger.dead.values())


def test_emulator_restarted_while_clients_send(local: LocalPipeline) -> None:
    """moto's server (all state in memory) stops while a client sends: ingest answers 503, the
    client retries the same events and they are accepted once a fresh emulator is up."""
    ledger = Ledger("emulator_restart")
    client = Client(local.api, local.write_key, attempts=30, backoff=0.1)
    client.send(ledger, new_events(volume(40, 300)))
    settle(local, ledger, handler_for(local))  # before the restart: stored, counted
    before = Ledger("emulator_restart", ledger.sent, ledger.accepted, ledger.rejected, ledger.stored, ledger.dead)

    before_statuses = list(client.statuses)
    local.stop_emulator()
    outage = new_events(volume(40, 300))
    sender = threading.Thread(target=client.send, args=(ledger, outage))
    sender.start()
    deadline = time.monotonic() + 60
    while 503 not in client.statuses[len(before_statuses) :] and time.monotonic() < deadline:
        time.sleep(0.1)
    refused_while_down = client.statuses[len(before_statuses) :].count(503)
    accepted_while_down = ledger.accepted - before.accepted
    local.start_emulator()
    sender.join(timeout=300)
    assert not sender.is_alive()
    ledger.notes["refused_503_while_down"] = refused_while_down
    assert refused_while_down > 0 and not accepted_while_down
    settle(local, ledger, handler_for(local))
