"""The queue edge of the pipeline panel: SQS (+ CloudWatch for the oldest message's age),
Redis (Sidekiq's queue, retry and dead sets) or local mode's SQLite queue (the same sets). AWS
calls go through the AWS edge (aws.call); only this module imports redis."""

import json
import time
from collections.abc import Callable
from typing import Any, TypeVar

from tally_contract import aws
from tally_contract import sidekiq_redis as sk
from tally_contract.errors import ServiceError

from .errors import Unavailable

T = TypeVar("T")


class SqsPipeline:
    backend = "sqs"

    def __init__(self, queue: str, dlq: str | None, clock: Any = time.time) -> None:
        self.queue, self.dlq, self.clock = queue, dlq, clock
        self._urls: dict[str, str] = {}

    def sizes(self) -> dict[str, Any]:
        names = [
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
        ]
        attrs = self._call("get_queue_attributes", QueueUrl=self._url(self.queue), AttributeNames=names)["Attributes"]
        out: dict[str, Any] = {
            "queued": int(attrs.get(names[0], 0)),
            "in_flight": int(attrs.get(names[1], 0)),
            "delayed": int(attrs.get(names[2], 0)),
            "oldest_age_seconds": self._oldest_age(),
            "dead": None,
        }
        if self.dlq:
            dead = self._call("get_queue_attributes", QueueUrl=self._url(self.dlq), AttributeNames=[names[0], names[1]])
            out["dead"] = sum(int(v) for v in dead["Attributes"].values())
        return out

    def _oldest_age(self) -> float | None:
        """SQS reports this only as a CloudWatch metric (1-minute resolution, a few minutes late)."""
        name = self.queue.rstrip("/").rsplit("/", 1)[-1]
        now = self.clock()
        try:
            stats = aws.call(
                aws.client("cloudwatch"), "get_metric_statistics", Namespace="AWS/SQS",
                MetricName="ApproximateAgeOfOldestMessage", Dimensions=[{"Name": "QueueName", "Value": name}],
                StartTime=now - 600, EndTime=now, Period=60, Statistics=["Maximum"],
            )  # fmt: skip
        except ServiceError:
            return None  # the panel still shows sizes; the age is a nice-to-have
        points = sorted(stats.get("Datapoints", []), key=lambda p: p["Timestamp"])
        return float(points[-1]["Maximum"]) if points else None

    def inspect(self, limit: int) -> list[dict[str, Any]]:
        """Peek at up to ``limit`` (<= 10) dead letters without hiding them (visibility 0)."""
        response = self._call(
            "receive_message", QueueUrl=self._dlq_url(), MaxNumberOfMessages=limit, VisibilityTimeout=0,
            MessageAttributeNames=["All"], AttributeNames=["SentTimestamp", "ApproximateReceiveCount"],
        )  # fmt: skip
        return [
            {
                "id": m["MessageId"],
                "body": m["Body"],  # cut by dead_letters.as_stored, once reduced to what the site keeps
                "error": m.get("MessageAttributes", {}).get("error", {}).get("StringValue"),
                "sent_at": int(m.get("Attributes", {}).get("SentTimestamp", 0)) / 1000,
            }
            for m in response.get("Messages", [])
        ]

    def redrive(self, limit: int) -> dict[str, int]:
        """Move up to ``limit`` dead letters back to the queue: receive, send the body
        unchanged, delete only what was sent. A crash in between leaves a copy in both
        queues, never none (the processor's writes are idempotent)."""
        moved = failed = 0
        while moved + failed < limit:
            response = self._call(
                "receive_message", QueueUrl=self._dlq_url(), MaxNumberOfMessages=min(10, limit - moved - failed),
                VisibilityTimeout=60,
            )  # fmt: skip
            messages = response.get("Messages", [])
            if not messages:
                break
            entries = [{"Id": str(i), "MessageBody": m["Body"]} for i, m in enumerate(messages)]
            sent = self._call("send_message_batch", QueueUrl=self._url(self.queue), Entries=entries)
            ok = [messages[int(entry["Id"])] for entry in sent.get("Successful", [])]
            if ok:
                done = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(ok)]
                self._call("delete_message_batch", QueueUrl=self._dlq_url(), Entries=done)
            moved += len(ok)
            failed += len(messages) - len(ok)
        return {"moved": moved, "failed": failed}

    def _dlq_url(self) -> str:
        if not self.dlq:
            raise Unavailable("no dead-letter queue is configured (TALLY_DLQ)")
        return self._url(self.dlq)

    def _url(self, queue: str) -> str:
        if queue.startswith("https://") or queue.startswith("http://"):
            return queue
        if queue not in self._urls:
            self._urls[queue] = self._call("get_queue_url", QueueName=queue)["QueueUrl"]
        return self._urls[queue]

    def _call(self, operation: str, **kwargs: Any) -> Any:
        return aws.call(aws.client("sqs"), operation, error=Unavailable, **kwargs)


class RedisPipeline:
    """Sidekiq's layout (``tally_contract/sidekiq_redis.py``): ``queue:<name>`` (LPUSH, the
    oldest job at the tail), the ``retry`` and ``dead`` sorted sets."""

    backend = "redis"

    def __init__(self, url: str, queue: str = "default", clock: Any = time.time, client: Any = None) -> None:
        import redis

        self.client: Any = client or redis.Redis.from_url(url, socket_timeout=3, socket_connect_timeout=2)
        self.queue = queue
        self.clock = clock
        self._to_queue = self.client.register_script(sk.TO_QUEUE)

    def _call(self, call: Callable[[], T]) -> T:
        from redis.exceptions import RedisError

        try:
            return call()
        except RedisError as exc:
            raise Unavailable(f"Redis: {type(exc).__name__}") from exc

    def sizes(self) -> dict[str, Any]:
        queue = sk.queue_key(self.queue)
        pipe = self.client.pipeline(transaction=False)
        pipe.llen(queue).lindex(queue, -1).zcard(sk.RETRY).zcard(sk.DEAD)
        queued, oldest, retry, dead = self._call(pipe.execute)
        age = None
        if oldest:
            enqueued = json.loads(oldest).get("enqueued_at")
            age = max(0.0, self.clock() - float(enqueued)) if enqueued else None
        return {"queued": queued, "in_flight": None, "delayed": None, "oldest_age_seconds": age,
                "retry": retry, "dead": dead}  # fmt: skip

    def inspect(self, limit: int) -> list[dict[str, Any]]:
        members = self._call(lambda: self.client.zrevrange(sk.DEAD, 0, limit - 1, withscores=True))
        shown = []
        for member, score in members:
            job = json.loads(member)
            shown.append({"id": job.get("jid"), "body": member.decode("utf-8", "replace"),
                          "error": job.get("error_message"), "sent_at": score})  # fmt: skip
        return shown

    def redrive(self, limit: int) -> dict[str, int]:
        """Each dead job goes back on its own queue byte for byte, atomically with its removal
        (and the queue's name into ``queues``, as Sidekiq's Web UI lists queues from there).
        Only what this call removed is pushed: two dashboards redriving at once never duplicate
        a job."""
        members = self._call(lambda: self.client.zrange(sk.DEAD, 0, limit - 1))
        if not members:
            return {"moved": 0, "failed": 0}
        keys, args = sk.to_queue_call(sk.DEAD, [(m, json.loads(m).get("queue") or self.queue, m) for m in members])
        return {"moved": int(self._call(lambda: self._to_queue(keys=keys, args=args))), "failed": 0}


class SqlitePipeline:
    """Local mode's queue file (tally_contract/queues/sqlite_queue.py): its queue, retry and
    dead sets, read and redriven through the queue's own methods."""

    backend = "sqlite"

    def __init__(self, url: str, queue: str = "default", clock: Any = time.time) -> None:
        from tally_contract.queues.sqlite_queue import SqliteQueue

        self.jobs = SqliteQueue.from_url(url)
        self.queue, self.clock = queue, clock

    def sizes(self) -> dict[str, Any]:
        sizes = self.jobs.sizes(self.queue)
        oldest = sizes.pop("oldest_enqueued_at")
        sizes["oldest_age_seconds"] = max(0.0, self.clock() - oldest) if oldest is not None else None
        return sizes

    def inspect(self, limit: int) -> list[dict[str, Any]]:
        shown = []
        for _, member, score in self.jobs.dead(limit):
            job = json.loads(member)
            shown.append({"id": job.get("jid"), "body": member.decode("utf-8", "replace"),
                          "error": job.get("error_message"), "sent_at": score})  # fmt: skip
        return shown

    def redrive(self, limit: int) -> dict[str, int]:
        return {"moved": self.jobs.redrive(limit, self.queue), "failed": 0}
