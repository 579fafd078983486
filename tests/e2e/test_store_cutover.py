"""The store-copy runbook (docs/store-copy.md) end to end, with real processes: `tally up
--aws-emulator --queue redis://` is the running system (DynamoDB in moto, the queue on Redis);
its worker is quieted the way Sidekiq's Web UI does it while a sender keeps posting (every
answer a 2xx: the queue collects); `tally store copy` to SQLite is killed with SIGKILL half
way, resumed, and run again (it copies nothing); `tally worker --store sqlite://` drains the
queue into the copy. Every accepted event is then in the copy once, and its sealed totals
count them."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tally_aggregates.rollup import Rollup
from tally_store.base import TOTAL, Bucket
from tally_store.dynamodb import DynamoDBStore
from tally_store.dynamodb_calls import Calls
from tally_store.sqlite import SQLiteStore
from tests.e2e.test_local_durability import Sender
from tests.support.jobs import CHROME
from tests.support.local_up import EMULATOR, aws_client, cli_env, start_up
from tests.support.waiting import wait_for

__all__ = ["start_up"]
pytestmark = pytest.mark.slow
DAYS = ("2026-11-22", "2026-11-23")


def _history(redis_client: Any) -> list[str]:
    """Two days of hourly events, queued as ingest queues them: 48 site hours to copy."""
    from tally_contract import envelope
    from tests.support.jobs import push

    ids, bodies = [], []
    for day in DAYS:
        for hour in range(24):
            for n in range(3):
                event_id = f"old-{day}-{hour}-{n}"
                at = f"{day}T{hour:02d}:{n:02d}:00.000Z"
                ids.append(event_id)
                bodies.append(envelope.encode(envelope.build([{
                    "event_id": event_id, "site": "local", "name": "pageview", "url": "https://shop.example.com/a",
                    "received_at": at, "event_time": at, "ip": f"198.51.100.{n}", "user_agent": CHROME,
                    "properties": {}}])))  # fmt: skip
    push(redis_client, bodies)
    return ids


def _tally(tmp_path: Path, *args: str, endpoint: str) -> "subprocess.Popen[str]":
    env = cli_env(tmp_path, AWS_ACCESS_KEY_ID="x", AWS_SECRET_ACCESS_KEY="x", AWS_DEFAULT_REGION="us-east-1")
    return subprocess.Popen([sys.executable, "-m", "tally_cli", *args, "--endpoint-url", endpoint] if endpoint else
                            [sys.executable, "-m", "tally_cli", *args], env=env, cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # fmt: skip


def _days(store: DynamoDBStore) -> list[int]:
    found = store.counts([(Bucket("local", "d", day), TOTAL) for day in DAYS])
    return [found[(Bucket("local", "d", day), TOTAL)].live.get("ev", 0) if (Bucket("local", "d", day), TOTAL) in found
            else 0 for day in DAYS]  # fmt: skip


def _checkpoint(path: Path) -> int:
    try:
        return len(json.loads(path.read_text())["done"])
    except (OSError, ValueError):
        return 0


class Watching(Sender):
    """A sender that also keeps every answer that was not a 2xx."""

    def __init__(self, state: dict[str, Any]) -> None:
        super().__init__(state)
        self.refused = 0

    def run(self) -> None:
        while not self.stopping.is_set():
            ids = [f"new-{time.time_ns()}-{n}" for n in range(20)]
            self.sent += ids
            if self.post(ids):
                self.accepted += ids
            else:
                self.refused += 1
            time.sleep(0.05)


def test_copy_dynamodb_to_sqlite_while_ingest_keeps_queuing(
    start_up: Any, tmp_path: Path, redis_url: str, redis_client: Any
) -> None:
    history = _history(redis_client)
    # The rollup's schedule is left out: on moto it would take the cores the copy needs.
    proc, state = start_up(EMULATOR, "--queue", redis_url, "--rollup-interval", "3600")
    endpoint = state["endpoint_url"]
    sender = Watching(state)
    sender.start()
    source = DynamoDBStore("tally-local-events", "tally-local-aggregates", Calls(aws_client(state, "dynamodb")))
    wait_for(lambda: _days(source) == [72, 72], 180, "the history stored in DynamoDB", proc)
    (identity,) = [member.decode() for member in redis_client.smembers("processes")]
    redis_client.lpush(f"{identity}-signals", "TSTP")  # Sidekiq Web UI's Quiet: the worker fetches no more
    idle = lambda: redis_client.hget(identity, "quiet") == b"true" and redis_client.hget(identity, "busy") == b"0"  # noqa: E731
    wait_for(idle, 60, "the worker quiet, its last batch done", proc)
    wait_for(lambda: redis_client.llen("queue:default") > 40, 60, "the queue to collect", proc)

    db, checkpoint = tmp_path / "copy.db", tmp_path / "copy.json"
    copy = ("store", "copy", "--from", "dynamodb://local", "--to", f"sqlite://{db}", "--checkpoint", str(checkpoint))
    first = _tally(tmp_path, *copy, endpoint=endpoint)
    wait_for(lambda: _checkpoint(checkpoint) >= 8 or first.poll() is not None, 120, "the copy under way")
    first.kill()  # SIGKILL, half way
    first.wait()
    halfway = _checkpoint(checkpoint)
    resumed = _tally(tmp_path, *copy, endpoint=endpoint)
    output, _ = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, output
    assert f"{halfway} site hours were done before" in output
    again = _tally(tmp_path, *copy, endpoint=endpoint)
    output, _ = again.communicate(timeout=300)
    assert "copied 0 events of 0 site hours" in output, output[-3000:]

    worker = _tally(tmp_path, "worker", "--redis-url", redis_url, "--store", f"sqlite://{db}", endpoint="")
    try:
        time.sleep(1.0)  # traffic still arriving, now drained into the copy
        sender.stopping.set()
        sender.join(30)
        wait_for(lambda: redis_client.llen("queue:default") == 0, 120, "the new worker to drain the queue", worker)
        store = SQLiteStore(db)
        accepted = set(sender.accepted) | set(history)
        wait_for(lambda: accepted <= {e["event_id"] for e in store.every_event()}, 60, "every accepted event", worker)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.communicate(timeout=60)
    assert sender.refused == 0, "ingest answered 2xx all along"
    stored = [e["event_id"] for e in store.every_event()]
    assert len(stored) == len(set(stored)) and set(stored) <= accepted | set(sender.sent)
    Rollup(store, clock=lambda: 4102444800.0).settle()  # every bucket closed: sealed from the raw events
    days = sorted({e["event_time"][:10] for e in store.every_event()})
    totals = store.counts([(Bucket("local", "d", day), TOTAL) for day in days])
    assert sum((c.sealed or {}).get("ev", 0) for c in totals.values()) == len(stored)
    assert all((totals[(Bucket("local", "d", day), TOTAL)].sealed or {}).get("ev") == 72 for day in DAYS)
    os.killpg(proc.pid, signal.SIGTERM)
