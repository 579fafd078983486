"""The rollup: sealing closed buckets exactly, refusing to clear a bucket that moved under it,
refreshing open buckets, and running through the Chalice schedule and SQS handlers."""

import json
from typing import Any

import pytest

from processor_lambda.rollup import Rollup
from tests.processor_harness import NOW, Processor, make_processor
from tests.test_processor import tally_job

LATER = NOW + 3 * 86400


@pytest.fixture
def proc(aws: None, boto: Any) -> Processor:
    return make_processor(boto.client("dynamodb"))


def test_open_minute_is_not_sealed_and_closed_one_is(proc: Processor) -> None:
    proc.pipeline.process([tally_job("a", at="2026-11-23T13:19:30.000Z")])
    report = proc.rollup(at=NOW)  # 13:20:00: the 13:19 minute closed less than 60 s ago
    assert report.sealed == 0
    assert "spv" not in proc.aggregate("shop#m#2026-11-23T13:19")
    report = proc.rollup(at=NOW + 61)
    total = proc.aggregate("shop#m#2026-11-23T13:19")
    assert report.sealed == 1 and (total["spv"], total["suv"]) == (1, 1) and "dirty" not in total


def test_a_bucket_that_moves_during_the_rollup_stays_dirty(proc: Processor) -> None:
    proc.pipeline.process([tally_job("a")])

    class Interleaved(Rollup):
        def recompute(self, site: str, granularity: str, bucket_id: str) -> Any:
            result = super().recompute(site, granularity, bucket_id)
            if granularity == "d":
                proc.pipeline.process([tally_job("late")])  # another Lambda's batch lands now
            return result

    report = Interleaved(proc.store, proc.tables, clock=lambda: LATER).run()
    assert report.still_dirty == 1
    day = proc.aggregate("shop#d#2026-11-23")
    assert day["dirty"] == "1" and day["spv"] == 1 and day["pv"] == 2
    proc.rollup(at=LATER)
    day = proc.aggregate("shop#d#2026-11-23")
    assert "dirty" not in day and day["spv"] == 2


def test_open_hour_and_day_are_refreshed_for_uniques(proc: Processor) -> None:
    proc.pipeline.process([tally_job("a"), tally_job("b", ip="198.51.100.7")])
    report = proc.rollup(at=NOW + 30)
    assert report.refreshed == 2  # the open hour and day; the open minute waits
    hour = proc.aggregate("shop#h#2026-11-23T13")
    assert hour["suv"] == 2 and hour["dirty"] == "1"
    assert proc.rollup(at=NOW + 60).refreshed == 0  # refreshed less than 5 minutes ago


def test_rollup_is_idempotent(proc: Processor) -> None:
    proc.pipeline.process([tally_job(f"e{i}") for i in range(5)])
    proc.rollup(at=LATER)
    first = proc.aggregates()
    proc.client.update_item(TableName=proc.tables.aggregates, Key={"pk": {"S": "shop#h#2026-11-23T13"},
                            "sk": {"S": "total#"}}, UpdateExpression="SET dirty = :d",
                            ExpressionAttributeValues={":d": {"S": "1"}})  # fmt: skip
    proc.rollup(at=LATER + 5)
    again = proc.aggregates()
    strip = {k: {a: v for a, v in item.items() if a != "sat"} for k, item in first.items()}
    assert {k: {a: v for a, v in item.items() if a != "sat"} for k, item in again.items()} == strip


def test_chalice_wiring_runs_the_processor_and_the_rollup(proc: Processor, capsys: Any) -> None:
    from chalice.test import Client

    from app import app
    from processor_lambda import entry

    entry.sqs_handler(proc.pipeline)
    entry.rollup(Rollup(proc.store, proc.tables, clock=lambda: NOW + 30))
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
        assert result.payload["refreshed"] >= 1
    entry.reset()
