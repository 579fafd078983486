"""The SQS Lambda handler against moto SQS: finished messages deleted, the rest redelivered,
poison to the DLQ with its reason, batchItemFailures where the flag is on."""

from typing import Any

import pytest

from processor_lambda.sqs_handler import PartialBatchFailure, SqsBatchHandler
from tally_contract import envelope
from tally_contract.envelope import JobOptions
from tests.support.infra import create_queues
from tests.support.jobs import tally_job
from tests.support.processor_harness import Processor, make_processor
from tests.support.sqs_events import lambda_event


@pytest.fixture
def setup(aws: None, boto: Any) -> tuple[Processor, Any, dict[str, str]]:
    sqs = boto.client("sqs")
    return make_processor(boto.client("dynamodb")), sqs, create_queues(sqs, "test")


def _in_flight(sqs: Any, url: str) -> int:
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return int(attributes["ApproximateNumberOfMessagesNotVisible"])


def test_all_ok_returns_no_failures(setup: tuple[Processor, Any, dict[str, str]]) -> None:
    proc, sqs, urls = setup
    event = lambda_event(sqs, urls["EventsQueue"], [tally_job("a"), tally_job("b")])
    assert SqsBatchHandler(proc.pipeline, client=sqs)(event) == {"batchItemFailures": []}
    assert len(proc.raw_items()) == 2


def test_partial_failure_deletes_the_finished_and_raises_for_the_rest(
    setup: tuple[Processor, Any, dict[str, str]],
) -> None:
    proc, sqs, urls = setup
    flaky = envelope.encode(envelope.build([1], JobOptions(job_class="Flaky")))

    def fail(arguments: list[Any], job: Any) -> None:
        raise ConnectionError("upstream down")

    proc.registry.register("Flaky", fail)
    event = lambda_event(sqs, urls["EventsQueue"], [tally_job("a"), flaky, tally_job("b")])
    assert _in_flight(sqs, urls["EventsQueue"]) == 3
    with pytest.raises(PartialBatchFailure) as raised:
        SqsBatchHandler(proc.pipeline, client=sqs)(event)
    flaky_id = event["Records"][[r["body"] for r in event["Records"]].index(flaky)]["messageId"]
    assert raised.value.message_ids == [flaky_id]
    assert _in_flight(sqs, urls["EventsQueue"]) == 1, "only the failed message stays for redelivery"


def test_report_mode_returns_batch_item_failures(setup: tuple[Processor, Any, dict[str, str]]) -> None:
    proc, sqs, urls = setup
    proc.registry.register("Flaky", lambda arguments, job: (_ for _ in ()).throw(TimeoutError("slow")))
    flaky = envelope.encode(envelope.build([1], JobOptions(job_class="Flaky")))
    event = lambda_event(sqs, urls["EventsQueue"], [tally_job("a"), flaky])
    result = SqsBatchHandler(proc.pipeline, client=sqs, report_failures=True)(event)
    assert [f["itemIdentifier"] for f in result["batchItemFailures"]] == [event["Records"][1]["messageId"]]


def test_poison_goes_to_the_dlq_with_its_reason_and_blocks_nothing(
    setup: tuple[Processor, Any, dict[str, str]],
) -> None:
    proc, sqs, urls = setup
    event = lambda_event(sqs, urls["EventsQueue"], [tally_job("a"), "not a job", tally_job("b")])
    handler = SqsBatchHandler(proc.pipeline, client=sqs, dlq="tally-test-events-dlq")
    assert handler(event) == {"batchItemFailures": []}
    (dead,) = sqs.receive_message(QueueUrl=urls["EventsDeadLetterQueue"], MessageAttributeNames=["All"])["Messages"]
    assert dead["Body"] == "not a job"
    assert "not JSON" in dead["MessageAttributes"]["error"]["StringValue"]
    assert len(proc.raw_items()) == 2


def test_without_a_dlq_poison_is_left_to_the_redrive_policy(setup: tuple[Processor, Any, dict[str, str]]) -> None:
    proc, sqs, urls = setup
    event = lambda_event(sqs, urls["EventsQueue"], [tally_job("a"), "not a job"])
    with pytest.raises(PartialBatchFailure):
        SqsBatchHandler(proc.pipeline, client=sqs)(event)
    assert _in_flight(sqs, urls["EventsQueue"]) == 1
