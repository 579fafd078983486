"""Move queued jobs between Redis (Sidekiq's layout) and SQS without losing one.

Redis -> SQS, per chunk: TAKE moves jobs from ``queue:<name>`` into a hold list atomically,
they are sent (the same bytes) to SQS, then ACK removes exactly what SQS took; what SQS
refused goes back to the queue and the drain stops with an error. A crash at any point leaves
the chunk in the hold list, and the next drain sends it first: a job may reach SQS twice, which
the processor absorbs (raw events are keyed by event id, the rollup recounts closed buckets),
but it is never dropped. Scheduled and retrying jobs (``--with-scheduled``/``--with-retries``)
due within SQS's 15-minute delay limit go with ``DelaySeconds``; later ones stay in Redis until
a later run (``--follow``) finds them due.

SQS -> Redis: receive, LPUSH to ``queue:<name>``, then delete. A crash before the delete lets
the message reappear after its visibility timeout and be pushed again (a duplicate, never a
loss). SQS shows no schedule: delayed messages move when they become visible.
"""

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from tally_contract.sidekiq_redis import RETRY, SCHEDULE, due_job, queue_key, timed_hold_key

from .errors import OpsError
from .redis_side import RedisSide
from .sqs import MAX_DELAY, Outgoing, Sqs

TIMED_SETS = (SCHEDULE, RETRY)
Progress = Callable[[int], None]


def _no_progress(_: int) -> None:
    return None


@dataclass
class Report:
    moved: int = 0  # jobs sent (or, with dry_run, that would be)
    resent: int = 0  # jobs a crashed drain had left in flight, sent again
    timed: int = 0  # scheduled or retrying jobs sent with a delay
    held_back: int = 0  # timed jobs due later than the delay limit, left in Redis
    remaining: int = 0  # SQS -> Redis: messages still delayed or in flight at the end


@dataclass(frozen=True)
class RedisToSqs:
    redis: RedisSide
    sqs: Sqs
    queue: str = "default"
    chunk: int = 100
    sets: Sequence[str] = ()
    horizon: int = MAX_DELAY
    clock: Callable[[], float] = time.time

    def plan(self) -> Report:
        """What a drain would move now, moving nothing."""
        held = len(self.redis.held(self.queue))
        held += sum(len(self.redis.zrange(timed_hold_key(zset, self.queue))) for zset in TIMED_SETS)
        report = Report(moved=self.redis.length(queue_key(self.queue)), resent=held)
        now = self.clock()
        for zset in self.sets:
            for member, score in self.redis.zrange(zset):
                if due_job(member, now)[0] == self.queue:
                    report.timed += score <= now + self.horizon
                    report.held_back += score > now + self.horizon
        return report

    def run(self, progress: Progress = _no_progress) -> Report:
        report = Report()
        report.resent = self._resend_held(progress)
        while jobs := self.redis.take(self.queue, self.chunk):
            self._send(jobs)
            report.moved += len(jobs)
            progress(len(jobs))
        for zset in self.sets:
            sent, later = self._timed(zset, progress)
            report.timed += sent
            report.held_back += later
        return report

    def _resend_held(self, progress: Progress) -> int:
        held = self.redis.held(self.queue)
        for start in range(0, len(held), self.chunk):
            self._send(held[start : start + self.chunk])
        timed = 0
        for zset in TIMED_SETS:  # whatever a crashed run took, with or without the flags now
            members = self.redis.zrange(timed_hold_key(zset, self.queue))
            self._send_timed(zset, members)
            timed += len(members)
        progress(len(held) + timed)
        return len(held) + timed

    def _send(self, jobs: list[bytes]) -> None:
        try:
            failed = self.sqs.send([Outgoing(job.decode("utf-8", "replace")) for job in jobs])
        except OpsError:
            self.redis.give_back(self.queue, jobs)  # SQS refused the whole request: keep the order
            raise
        bad = {i for i, _ in failed}
        refused = [jobs[i] for i in sorted(bad)]
        self.redis.ack(self.queue, [job for i, job in enumerate(jobs) if i not in bad])
        if refused:
            self.redis.give_back(self.queue, refused)
            raise OpsError(f"SQS refused {len(refused)} job(s), returned to queue:{self.queue}: {failed[0][1]}")

    def _timed(self, zset: str, progress: Progress) -> tuple[int, int]:
        now = self.clock()
        mine = [(m, s) for m, s in self.redis.zrange(zset) if due_job(m, now)[0] == self.queue]
        due = [(m, s) for m, s in mine if s <= now + self.horizon]
        sent = 0
        for start in range(0, len(due), self.chunk):
            chunk = due[start : start + self.chunk]
            taken = set(self.redis.hold_timed(zset, self.queue, [m for m, _ in chunk]))
            sent += self._send_timed(zset, [(m, s) for m, s in chunk if m in taken])
            progress(len(chunk))
        return sent, len(mine) - len(due)

    def _send_timed(self, zset: str, members: list[tuple[bytes, float]]) -> int:
        if not members:
            return 0
        now = self.clock()
        outgoing = []
        for member, score in members:
            payload = due_job(member, now)[1]
            body = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else payload
            outgoing.append(Outgoing(body, delay=max(0, min(MAX_DELAY, math.ceil(score - now)))))
        try:
            failed = {i for i, _ in self.sqs.send(outgoing)}
        except OpsError:
            self.redis.release_timed(zset, self.queue, [m for m, _ in members], back=True)
            raise
        self.redis.release_timed(
            zset, self.queue, [m for i, (m, _) in enumerate(members) if i not in failed], back=False
        )
        if failed:
            self.redis.release_timed(zset, self.queue, [members[i][0] for i in failed], back=True)
            raise OpsError(f"SQS refused {len(failed)} {zset} job(s); they are back in the {zset} set")
        return len(members)


@dataclass(frozen=True)
class SqsToRedis:
    sqs: Sqs
    redis: RedisSide
    queue: str = "default"
    visibility: int = 300  # seconds a received message stays hidden while we push it
    wait: int = 1

    def plan(self) -> Report:
        counts = self.sqs.counts()
        return Report(moved=counts["visible"], remaining=counts["delayed"] + counts["in_flight"])

    def run(self, progress: Progress = _no_progress) -> Report:
        report = Report()
        while True:
            messages = self.sqs.receive(wait=self.wait, visibility=self.visibility)
            if not messages:
                if self.sqs.counts()["visible"] == 0:
                    break
                continue
            try:
                self.redis.push(self.queue, [m.body for m in messages])
            except OpsError:
                self.sqs.release([m.receipt for m in messages])
                raise
            self.sqs.delete([m.receipt for m in messages])
            report.moved += len(messages)
            progress(len(messages))
        counts = self.sqs.counts()
        report.remaining = counts["delayed"] + counts["in_flight"]
        return report
