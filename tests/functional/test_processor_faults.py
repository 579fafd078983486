"""Storage fault paths: UnprocessedItems, throttling, rejected items, counter failures.
moto never produces these, so a wrapper around the moto client (tests/support/faults/inject.py) injects them."""

from typing import Any

import pytest
from botocore.stub import Stubber

from tally_contract.errors import ConditionFailed, StorageError
from tally_store.dynamodb import DynamoDBStore
from tally_store.dynamodb_calls import Calls
from tests.support.faults.inject import Faulty
from tests.support.jobs import tally_job
from tests.support.processor_harness import Processor, make_processor


@pytest.fixture
def faulty(aws: None, boto: Any) -> tuple[Processor, Faulty]:
    wrapper = Faulty(boto.client("dynamodb"))
    proc = make_processor(boto.client("dynamodb"), store=DynamoDBStore("", "", Calls(wrapper, sleep=lambda _: None)))
    return proc, wrapper


def test_unprocessed_items_storm_is_retried_until_written(faulty: tuple[Processor, Faulty]) -> None:
    proc, wrapper = faulty
    wrapper.faults["batch_write_item"] = ["unprocessed"] * 5
    results = proc.pipeline.process([tally_job(f"e{i}") for i in range(20)])
    assert all(r.ok for r in results)
    assert len(proc.stored()) == 20
    assert wrapper.calls.count("batch_write_item") >= 5


def test_throttling_is_retried(faulty: tuple[Processor, Faulty]) -> None:
    proc, wrapper = faulty
    wrapper.faults["batch_write_item"] = ["ProvisionedThroughputExceededException", "ThrottlingException"]
    wrapper.faults["update_item"] = ["ThrottlingException"] * 3
    assert all(r.ok for r in proc.pipeline.process([tally_job("a"), tally_job("b")]))
    assert proc.aggregate("shop#h#2026-11-23T13")["ev"] == 2


def test_exhausted_retries_fail_the_records_as_retryable(faulty: tuple[Processor, Faulty]) -> None:
    proc, wrapper = faulty
    wrapper.faults["batch_write_item"] = ["ThrottlingException"] * 8
    results = proc.pipeline.process([tally_job("a"), tally_job("b")])
    assert [r.ok for r in results] == [False, False]
    assert all(r.error is not None and r.error.retryable for r in results)
    assert proc.aggregates() == {}, "no counter for an event that was not stored"


def test_a_refused_pack_is_split_so_only_the_bad_event_fails(faulty: tuple[Processor, Faulty]) -> None:
    proc, wrapper = faulty
    # Each refused BatchWriteItem is retried item by item with PutItem: after the salt, the
    # pack {a, c} (a and c share shard 3) is refused and b's pack written; then a and c, one
    # event to a pack, are refused together again, and alone a is written and c refused.
    wrapper.faults["batch_write_item"] = ["ValidationException", "ValidationException"]
    wrapper.faults["put_item"] = [None, "ValidationException", None, None, "ValidationException"]
    ids = ["a", "b", "c"]
    results = proc.pipeline.process([tally_job(event_id) for event_id in ids])
    failed = {event_id for event_id, r in zip(ids, results, strict=True) if not r.ok}
    assert failed == {"c"}, "only the event DynamoDB refused alone fails"
    assert all(r.error is not None and not r.error.retryable for r in results if not r.ok)
    assert {e["event_id"] for e in proc.stored()} == {"a", "b"}
    assert proc.aggregate("shop#h#2026-11-23T13")["ev"] == 2, "no counter for the refused event"


def test_counter_failure_fails_only_the_records_it_carried(faulty: tuple[Processor, Faulty]) -> None:
    proc, wrapper = faulty
    wrapper.faults["update_item"] = ["ValidationException"]
    results = proc.pipeline.process([tally_job("a")])
    assert not results[0].ok and results[0].error is not None and results[0].error.retryable
    assert len(proc.raw_items()) == 1  # the raw pack stays: rewriting the same pack later is a no-op


def test_condition_failures_translate(boto: Any) -> None:
    client = boto.client("dynamodb")
    store = Calls(client, sleep=lambda _: None)
    with Stubber(client) as stub:
        stub.add_client_error("update_item", "ConditionalCheckFailedException")
        with pytest.raises(ConditionFailed):
            store.call("update_item", TableName="t", Key={})
        stub.add_client_error("get_item", "ResourceNotFoundException", http_status_code=400)
        with pytest.raises(StorageError) as raised:
            store.call("get_item", TableName="t", Key={})
        assert not raised.value.retryable
