"""The unit tier's processing and rollup tests (tests/unit/test_processing.py), unchanged,
against the DynamoDB store on moto; and what only the DynamoDB store does (request counts)."""

from typing import Any

import pytest

from tests.support.jobs import tally_job
from tests.support.processor_harness import Processor, make_processor
from tests.unit.test_processing import *  # noqa: F403 - the same tests, collected here against DynamoDB


@pytest.fixture  # type: ignore[no-redef]  # replaces the imported memory-store fixture
def proc(aws: None, boto: Any) -> Processor:
    return make_processor(boto.client("dynamodb"))


def test_one_counter_update_per_distinct_counter_per_batch(proc: Processor) -> None:
    calls: list[str] = []
    proc.client.meta.events.register("before-call.dynamodb.*", lambda model, **_: calls.append(model.name))
    proc.pipeline.process([tally_job(f"e{i}") for i in range(60)])
    assert calls.count("BatchWriteItem") == 1  # 60 events of one minute: one pack per shard, one call
    distinct = len(proc.aggregates())
    assert calls.count("UpdateItem") == distinct
