"""The rollup spread over workers: the schedule plans, the rollup queue carries the work, the
``rollup_worker`` function seals.

Each minute the scheduled ``rollup`` plans what can be sealed now (tally_aggregates.rollup:
fresh buckets first, bounded) and sends it to the rollup queue, 25 buckets a message; the
``rollup_worker`` function (an SQS event source with its own concurrency) seals each bucket.
Sealing is idempotent and version-guarded, so a message delivered twice, or two workers on one
bucket, never lose or double a value. While the queue still has work waiting, a run plans
nothing new: the same buckets would only be sent again. Without a rollup queue
(TALLY_ROLLUP_QUEUE_NAME unset: local mode, tests) a run seals what it planned itself.
"""

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tally_aggregates.rollup import Rollup, RollupReport
from tally_contract import aws
from tally_contract.errors import ServiceError, TallyError
from tally_store.base import Bucket, Heartbeat

PER_MESSAGE = 25


class BadWork(TallyError):
    """A rollup queue message is not a list of buckets."""


@dataclass
class Dispatched:
    report: RollupReport
    sent: int = 0
    behind: bool = False  # the queue still held work: nothing new was sent


def encode(buckets: Sequence[Bucket]) -> list[str]:
    work = [[b.site, b.granularity, b.id] for b in buckets]
    return [json.dumps(work[i : i + PER_MESSAGE], separators=(",", ":")) for i in range(0, len(work), PER_MESSAGE)]


def decode(body: str) -> list[Bucket]:
    try:
        work = json.loads(body)
        buckets = [Bucket(str(site), str(granularity), str(bucket_id)) for site, granularity, bucket_id in work]
    except (ValueError, TypeError) as exc:
        raise BadWork(f"not a list of buckets: {body[:100]!r}") from exc
    if any(b.granularity not in ("m", "h", "d") for b in buckets):
        raise BadWork(f"unknown granularity in {body[:100]!r}")
    return buckets


def dispatch(rollup: Rollup, queue: str | None, sqs: Any = None) -> Dispatched:
    """One scheduled run: plan, then send the plan to ``queue`` (or seal it here without one)."""
    now = rollup.clock()
    report = RollupReport()
    if queue is not None and _waiting(sqs, queue):
        rollup.plan(now, report)  # for the backlog figures only
        done = Dispatched(report, behind=True)
    else:
        planned = rollup.plan(now, report)
        if queue is None:
            for bucket in planned:
                rollup.roll(bucket, now, report)
            done = Dispatched(report, len(planned))
        else:
            done = Dispatched(report, _send(sqs, queue, planned))
    _beat(rollup, done, now)
    return done


def work(rollup: Rollup, bodies: Sequence[str]) -> RollupReport:
    """A worker's batch: seal every bucket of every message; raise when any failed, so the batch
    comes back (sealing again is harmless) and a message failing every time ends in the DLQ."""
    report = RollupReport()
    now = rollup.clock()
    failures: list[str] = []
    for body in bodies:
        for bucket in decode(body):
            try:
                rollup.roll(bucket, now, report)
            except ServiceError as exc:
                failures.append(f"{bucket}: {exc}")
    if failures:
        raise RollupWorkFailed(f"{len(failures)} bucket(s) not sealed: {'; '.join(failures[:3])}")
    return report


class RollupWorkFailed(TallyError):
    """Some buckets of a batch were not sealed; the batch is retried."""


def _waiting(sqs: Any, queue: str) -> bool:
    client = sqs or aws.client("sqs")
    url = aws.call(client, "get_queue_url", QueueName=queue)["QueueUrl"]
    attributes = aws.call(client, "get_queue_attributes", QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    return int(attributes["Attributes"].get("ApproximateNumberOfMessages", 0)) > 0


def _send(sqs: Any, queue: str, planned: Sequence[Bucket]) -> int:
    from tally_contract.queues.sqs_queue import SqsQueue

    failures = SqsQueue(queue, client=sqs).push(queue, encode(planned))
    if failures:  # the next run plans these buckets again: they are still dirty
        raise RollupWorkFailed(f"{len(failures)} rollup message(s) not sent: {failures[0].reason}")
    return len(planned)


def _beat(rollup: Rollup, done: Dispatched, now: float) -> None:
    """The rollup's heartbeat for the pipeline panel: when it ran, what it planned, and the age
    of the oldest closed bucket not yet sealed (the backlog)."""
    try:
        rollup.store.put_heartbeat(Heartbeat(now, done.report.planned, done.report.oldest_unsealed), name="rollup")
    except ServiceError:
        pass  # best effort: the panel shows an older beat
