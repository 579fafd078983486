"""The processor and the rollup as Chalice's SQS and schedule handlers run them (moto)."""

import json
from typing import Any

import pytest

from tally_aggregates.rollup import Rollup
from tests.support.infra import create_queues
from tests.support.jobs import tally_job
from tests.support.processor_harness import NOW, Processor, make_processor


@pytest.fixture
def proc(aws: None, boto: Any) -> Processor:
    return make_processor(boto.client("dynamodb"))


def test_chalice_wiring_runs_the_processor_and_the_rollup(proc: Processor, boto: Any, capsys: Any) -> None:
    from chalice.test import Client

    from app import app
    from processor_lambda import entry

    sqs = boto.client("sqs")
    rollup_queue = create_queues(sqs, "dev")["RollupQueue"]  # the dev stage's, as Chalice's test client configures
    entry.sqs_handler(proc.pipeline)
    entry.rollup(Rollup(proc.store, clock=lambda: NOW + 120))
    with Client(app) as client:
        event = client.events.generate_sqs_event(message_bodies=[tally_job("via-chalice")],
                                                 queue_name="tally-test-events")  # fmt: skip
        client.lambda_.invoke("process_events", event)
        assert [e["event_id"] for e in proc.stored()] == ["via-chalice"]
        emf = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith('{"_aws"')]
        batch = next(line for line in emf if "BatchSize" in line)
        assert (batch["BatchSize"], batch["RecordsProcessed"], batch["RecordsFailed"]) == ([1.0], [1.0], [0.0])
        assert (batch["stage"], batch["service"]) == ("dev", "processor")
        result = client.lambda_.invoke("rollup", client.events.generate_cw_event(
            source="aws.events", detail_type="Scheduled Event", detail={}, resources=[]))  # fmt: skip
        assert result.payload["planned"] == result.payload["sent"] == 1  # the closed minute, to the rollup queue
        bodies = [m["Body"] for m in sqs.receive_message(QueueUrl=rollup_queue, MaxNumberOfMessages=10)["Messages"]]
        work = client.events.generate_sqs_event(message_bodies=bodies, queue_name="tally-dev-rollup")
        assert client.lambda_.invoke("rollup_worker", work).payload["sealed"] == 1
        assert proc.row("m", "2026-11-23T13:18")["spv"] == 1
    entry.reset()
