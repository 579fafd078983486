"""The process heartbeat Sidekiq's Web UI and ``Sidekiq::ProcessSet`` read, as Sidekiq 6.4.1's
``Launcher#❤`` writes it (every 5 s, 60 s expiry):

- ``processes``: SET of process identities (``hostname:pid:12 hex``).
- ``<identity>``: HASH with ``info`` (JSON: hostname, started_at, pid, tag, concurrency, queues,
  labels, identity, in that order), ``busy`` (here: jobs in hand), ``beat`` (float epoch),
  ``rtt_us`` (a PING's round trip), ``quiet`` ("true"/"false") and ``rss`` (kB).
- ``<identity>:workers``: HASH thread id -> JSON ``{"queue", "payload", "run_at"}``, what the
  Busy page lists: one entry per busy thread, showing the first job of its batch.
- ``<identity>-signals``: LIST the Web UI's Quiet and Stop buttons LPUSH ``TSTP`` / ``TERM``
  to; each beat pops one.

Stats (``stat:processed``, ``stat:failed`` and their UTC-day keys) are counted when jobs are
settled (``sidekiq_redis.SETTLE``), in the same script, instead of being flushed by the beat.
Key names: ``tally_contract/sidekiq_redis.py``; redis-py's errors leave as ``QueueUnavailable``.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

from tally_contract import wire
from tally_contract.redis_errors import translated
from tally_contract.sidekiq_redis import PROCESS_EXPIRY, PROCESSES, signals_key, workers_key

_BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"


def hostname() -> str:
    """``ENV["DYNO"] || Socket.gethostname``, without ``|`` (it separates registry members)."""
    return (os.environ.get("DYNO") or socket.gethostname()).replace("|", "_")


def new_identity() -> str:
    """``hostname:pid:nonce``, Sidekiq's process identity (``SecureRandom.hex(6)``)."""
    return f"{hostname()}:{os.getpid()}:{os.urandom(6).hex()}"


def sidekiq_tid() -> str:
    """Sidekiq's thread id, ``(thread ^ pid).to_s(36)``: the field name in ``<identity>:workers``."""
    value = threading.get_ident() ^ os.getpid()
    out = ""
    while True:
        value, rest = divmod(value, 36)
        out = _BASE36[rest] + out
        if not value:
            return out


def rss_kb() -> int:
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


class ProcessBeat:
    """Writes this worker into ``processes``; ``beat`` returns a signal popped for it, if any."""

    def __init__(
        self,
        client: Any,
        identity: str,
        *,
        queues: Sequence[str],
        concurrency: int,
        tag: str = "",
        labels: Sequence[str] = (),
    ) -> None:
        self.client = client
        self.identity = identity
        info = {
            "hostname": hostname(),
            "started_at": time.time(),
            "pid": os.getpid(),
            "tag": tag,
            "concurrency": concurrency,
            "queues": list(dict.fromkeys(queues)),
            "labels": list(labels),
            "identity": identity,
        }
        self.info = wire.dumps(info)

    def beat(self, *, busy: int, quiet: bool, workers: Mapping[str, Mapping[str, Any]] | None = None) -> str | None:
        with translated("process beat"):
            return self._beat(busy, quiet, workers)

    def _beat(self, busy: int, quiet: bool, workers: Mapping[str, Mapping[str, Any]] | None) -> str | None:
        busy_key = workers_key(self.identity)
        pipe = self.client.pipeline(transaction=True)
        pipe.unlink(busy_key)
        if workers:
            pipe.hset(busy_key, mapping={tid: wire.dumps(work) for tid, work in workers.items()})
        pipe.expire(busy_key, PROCESS_EXPIRY)
        pipe.execute()
        started = time.monotonic()
        self.client.ping()
        rtt_us = int((time.monotonic() - started) * 1_000_000)
        pipe = self.client.pipeline(transaction=True)
        pipe.sadd(PROCESSES, self.identity)
        pipe.hset(
            self.identity,
            mapping={
                "info": self.info,
                "busy": busy,
                "beat": repr(time.time()),
                "rtt_us": rtt_us,
                "quiet": "true" if quiet else "false",
                "rss": rss_kb(),
            },
        )
        pipe.expire(self.identity, PROCESS_EXPIRY)
        pipe.rpop(signals_key(self.identity))
        signal = pipe.execute()[-1]
        if isinstance(signal, bytes):
            return signal.decode("utf-8", "replace")
        return signal if isinstance(signal, str) else None

    def clear(self) -> None:
        """Leave ``processes`` on a clean stop (Sidekiq's ``clear_heartbeat``, plus the hash)."""
        with translated("clear process entry"):
            pipe = self.client.pipeline(transaction=False)
            pipe.srem(PROCESSES, self.identity)
            pipe.unlink(workers_key(self.identity), self.identity)
            pipe.execute()
