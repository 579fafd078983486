"""``tally queue status``: how much is waiting, how old the oldest job is, what is dead."""

import json
import time
from typing import Any

import click

from ..config import Target, redacted, target
from ..errors import translated


@click.group()
def queue() -> None:
    """Inspect the events queue.

    \b
      tally queue status
    """


@queue.command()
@click.option("--stage", default=None, help="AWS stage; default: the running local pipeline, else dev.")
@click.option("--redis-url", envvar="TALLY_REDIS_URL", help="Read Sidekiq's Redis queues instead of SQS.")
@click.option("--queue-name", default="default", show_default=True, help="Sidekiq queue (with --redis-url).")
def status(stage: str | None, redis_url: str | None, queue_name: str) -> None:
    """Depth, age of the oldest message and dead letters of the events queue.

    \b
      tally queue status
      tally queue status --redis-url redis://127.0.0.1:6379/0
    """
    where = target(stage)
    if redis_url is None and where.local is not None and where.local.backend == "redis":
        redis_url = where.local.queue_url
    if redis_url:
        rows = _redis_rows(redis_url, queue_name)
    elif where.local is not None and where.local.backend == "sqlite":
        with translated("queue status"):
            rows = _sqlite_rows(where.local.queue_url, queue_name)
    else:
        with translated("queue status"):
            rows = _sqs_rows(where)
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        click.echo(f"{name:<{width}}  {value}")


def _sqs_rows(where: Target) -> list[tuple[str, str]]:
    from tally_contract import aws

    sqs = aws.client("sqs")
    queue_url = _url(sqs, where.queue)
    main = _attributes(sqs, queue_url)
    dead = _attributes(sqs, _url(sqs, where.dlq))
    age = _oldest_age(queue_url.rsplit("/", 1)[-1])
    return [
        ("queue", queue_url),
        ("waiting", main["ApproximateNumberOfMessages"]),
        ("in flight", main["ApproximateNumberOfMessagesNotVisible"]),
        ("delayed", main["ApproximateNumberOfMessagesDelayed"]),
        ("oldest", age),
        ("dead letters", dead["ApproximateNumberOfMessages"]),
    ]


def _url(sqs: Any, queue: str) -> str:
    if queue.startswith(("https://", "http://")):
        return queue
    return str(sqs.get_queue_url(QueueName=queue)["QueueUrl"])


def _attributes(sqs: Any, url: str) -> dict[str, str]:
    attributes: dict[str, str] = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return attributes


def _oldest_age(queue_name: str) -> str:
    """SQS reports the oldest message's age only to CloudWatch (ApproximateAgeOfOldestMessage)."""
    from tally_contract import aws

    now = time.time()
    points = aws.client("cloudwatch").get_metric_statistics(
        Namespace="AWS/SQS",
        MetricName="ApproximateAgeOfOldestMessage",
        Dimensions=[{"Name": "QueueName", "Value": queue_name}],
        StartTime=now - 600,
        EndTime=now,
        Period=60,
        Statistics=["Maximum"],
    )["Datapoints"]
    if not points:
        return "n/a (no CloudWatch data in the last 10 minutes)"
    latest = max(points, key=lambda point: point["Timestamp"])
    return f"{latest['Maximum']:.0f} s"


def _redis_rows(url: str, queue_name: str) -> list[tuple[str, str]]:
    import redis

    from tally_contract import sidekiq_redis as sk

    client = redis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=10)
    key = sk.queue_key(queue_name)
    try:
        depth = client.llen(key)
        oldest = client.lindex(key, -1)  # Sidekiq pushes left, pops right
        retries, dead = client.zcard(sk.RETRY), client.zcard(sk.DEAD)
    except redis.RedisError as exc:
        raise click.ClickException(f"cannot read {redacted(url)}: {exc}") from None
    return [
        ("queue", f"{redacted(url)} {key}"),
        ("waiting", str(depth)),
        ("oldest", _job_age(oldest)),
        ("retry set", str(retries)),
        ("dead set", str(dead)),
    ]


def _sqlite_rows(url: str, queue_name: str) -> list[tuple[str, str]]:
    from tally_contract.queues.sqlite_queue import SqliteQueue

    sizes = SqliteQueue.from_url(url).sizes(queue_name)
    oldest = sizes["oldest_enqueued_at"]
    return [
        ("queue", f"{url} {queue_name}"),
        ("waiting", str(sizes["queued"])),
        ("in flight", str(sizes["in_flight"])),
        ("oldest", "-" if oldest is None else f"{max(0.0, time.time() - oldest):.0f} s"),
        ("retry set", str(sizes["retry"])),
        ("dead set", str(sizes["dead"])),
    ]


def _job_age(raw: bytes | str | None) -> str:
    if raw is None:
        return "-"
    try:
        enqueued = float(json.loads(raw)["enqueued_at"])
    except (ValueError, KeyError, TypeError):
        return "unknown"
    if enqueued > 1e11:  # Sidekiq 7's milliseconds
        enqueued /= 1000
    return f"{max(0.0, time.time() - enqueued):.0f} s"
