"""Where accepted events end: the events table, a dead-letter queue (with its reason), and the
sealed per-day totals the rollup writes from the raw events."""

import json
import time
from typing import Any

from tally_contract import envelope
from tests.support import raw_store


def roll_up_and_store(dynamodb: Any, ledger: Any) -> tuple[list[str], int]:
    """Run the rollup with every bucket closed (the clock 3 days on), then book the events table
    as it holds them after it (the copies before it in the notes). Returns the event ids stored
    (once per pack holding them) and the sealed per-day total. Tables from the environment."""
    from tally_aggregates.rollup import Rollup
    from tally_store.dynamodb import DynamoDBStore
    from tally_store.dynamodb_calls import Calls

    store = DynamoDBStore.from_environment(Calls(dynamodb))
    before = stored_ids(dynamodb, store.events_table)
    Rollup(store, clock=lambda: time.time() + 3 * 86400).settle()
    stored = stored_ids(dynamodb, store.events_table)  # after the rollup removed redundant packs
    ledger.store(stored)
    ledger.notes["extra_copies_before_rollup"] = len(before) - len(set(before))
    return stored, sealed_total(dynamodb, store)


def stored_ids(dynamodb: Any, table: str) -> list[str]:
    """The event ids of every raw pack (an id once per pack holding it: the ledger counts copies)."""
    return raw_store.event_ids(dynamodb, table)


def event_ids(body: str | bytes) -> list[str]:
    """The event ids a queued job carries (one per event; ActiveJob-wrapped or plain)."""
    job = envelope.decode(body)
    return [str(e["event_id"]) for e in job.arguments if isinstance(e, dict) and "event_id" in e]


def sqs_dead_letters(sqs: Any, dlq_url: str) -> dict[str, str]:
    """event id -> reason, for every message in an SQS dead-letter queue."""
    dead: dict[str, str] = {}
    while True:
        got = sqs.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10, VisibilityTimeout=600,
                                  MessageAttributeNames=["All"], AttributeNames=["All"])  # fmt: skip
        if not got.get("Messages"):
            return dead
        for message in got["Messages"]:
            error = message.get("MessageAttributes", {}).get("error", {}).get("StringValue")
            count = message.get("Attributes", {}).get("ApproximateReceiveCount", "?")
            reason = error or f"redrive: delivered {count} times without success"
            dead.update(dict.fromkeys(event_ids(message["Body"]), reason))


def redis_dead_letters(client: Any) -> dict[str, str]:
    """event id -> reason, for every job in Sidekiq's dead set."""
    dead: dict[str, str] = {}
    for raw in client.zrange("dead", 0, -1):
        job = json.loads(raw)
        reason = f"{job.get('error_class', 'error')}: {job.get('error_message', '')}"
        dead.update(dict.fromkeys(event_ids(raw), reason))
    return dead


def sealed_total(dynamodb: Any, store: Any) -> int:
    """Sum of the sealed per-day event totals the rollup wrote (bots apart: fault traffic has none)."""
    from tally_store.base import TOTAL, Bucket

    days = set()
    for page in dynamodb.get_paginator("scan").paginate(TableName=store.aggregates_table):
        for item in page["Items"]:
            if "#d#" in item["pk"]["S"] and item["sk"]["S"] == "total#":
                days.add(Bucket(*item["pk"]["S"].rsplit("#", 2)))
    found = store.counts([(day, TOTAL) for day in days])
    return sum((counts.sealed or {}).get("ev", 0) for counts in found.values())
