"""Sidekiq's dead set on Redis: list, show, redrive, purge.

Redrive moves the member's exact bytes from ``dead`` to ``queue:<its queue>`` in one Lua call
(ZREM, and only if that removed it, SADD queues and LPUSH: ``sidekiq_redis.TO_QUEUE``), so a
job is never both dead and queued, and two redrives cannot run one job twice. Unlike Sidekiq's
Web UI "Retry now", which rewrites the job (``retry_count - 1``), the bytes are kept: the job's
error fields stay for the record, and a job whose retries were exhausted gets one more attempt
before it is dead again.
"""

from collections.abc import Sequence

from tally_contract import wire
from tally_contract.sidekiq_redis import DEAD

from .errors import OpsError
from .letters import Letter
from .redis_side import RedisSide


def _jid(member: bytes) -> str:
    try:
        job = wire.loads(member)
    except (ValueError, RecursionError):
        return ""
    return str(job.get("jid", "")) if isinstance(job, dict) else ""


def _queue(member: bytes) -> str:
    try:
        job = wire.loads(member)
    except (ValueError, RecursionError):
        job = None
    queue = job.get("queue") if isinstance(job, dict) else None
    return queue if isinstance(queue, str) and queue else "default"


class RedisDeadLetters:
    def __init__(self, redis: RedisSide) -> None:
        self.redis = redis

    def _all(self) -> list[tuple[bytes, float]]:
        return self.redis.zrange(DEAD)

    def entries(self, limit: int = 50) -> list[Letter]:
        """Newest first, as Sidekiq's Web UI shows the dead set."""
        members = self._all()[::-1][:limit]
        return [Letter(_jid(m) or f"#{i}", m, at=score) for i, (m, score) in enumerate(members)]

    def show(self, jid: str) -> Letter:
        return self._find([jid])[0]

    def _find(self, jids: Sequence[str]) -> list[Letter]:
        wanted = set(jids)
        found = [Letter(_jid(m), m, at=s) for m, s in self._all() if _jid(m) in wanted]
        missing = wanted - {letter.id for letter in found}
        if missing:
            raise OpsError(f"no job with jid {', '.join(sorted(missing))} in the dead set")
        return found

    def redrive(self, jids: Sequence[str] = (), queue: str | None = None) -> int:
        """Push the jobs (all, or ``jids``) back to their queue (or ``queue``), bytes unchanged."""
        members = [letter.body for letter in self._find(jids)] if jids else [m for m, _ in self._all()]
        return self.redis.redrive([(m, queue or _queue(m)) for m in members])

    def purge(self, jids: Sequence[str] = ()) -> int:
        members = [letter.body for letter in self._find(jids)] if jids else [m for m, _ in self._all()]
        return self.redis.zremove(DEAD, members)
