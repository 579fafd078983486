"""`tally up` (the default: SQLite queue and store in its data directory) killed with SIGKILL
while a sender keeps posting: after a restart on the same data directory every event that
was answered 2xx is stored and counted exactly once, and the keys the page carries still work."""

import json
import os
import signal
import threading
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest

from tally_aggregates.rollup import Rollup
from tally_contract import envelope
from tally_contract.queues.sqlite_queue import SqliteQueue
from tally_store.base import Bucket
from tally_store.sqlite import SQLiteStore
from tests.support.local_up import start_up
from tests.support.waiting import wait_for

__all__ = ["start_up"]
pytestmark = pytest.mark.slow
HUMAN = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
BATCH = 20
AT = "2026-11-23T13:18:30.000Z"


class Sender(threading.Thread):
    """Posts batches of events with their own ids until stopped; keeps the ids answered 2xx."""

    def __init__(self, state: dict[str, Any]) -> None:
        super().__init__(daemon=True)
        self.url = f"{state['api_url']}/events?key={state['write_key']}"
        self.secret = state["secret_key"]
        self.accepted: list[str] = []
        self.sent: list[str] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            ids = [str(uuid.uuid4()) for _ in range(BATCH)]
            self.sent += ids
            if self.post(ids):
                self.accepted += ids

    def post(self, ids: list[str]) -> bool:
        events = [{"event_id": i, "url": f"https://shop.example.com/p{n % 5}", "ip": f"198.51.100.{n % 50}",
                   "user_agent": HUMAN} for n, i in enumerate(ids)]  # fmt: skip
        request = urllib.request.Request(self.url, data=json.dumps({"batch": events}).encode(), method="POST",
                                         headers={"Content-Type": "application/json",
                                                  "Authorization": f"Bearer {self.secret}"})  # fmt: skip
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return bool(response.status == 202 and json.loads(response.read())["accepted"] == BATCH)
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return False  # no answer, or not a 2xx: not accepted (the server may still have queued it)


def _left(queue: SqliteQueue) -> int:
    sizes = queue.sizes("default")
    return int(sizes["queued"] + sizes["in_flight"] + sizes["retry"] + sizes["dead"])


def _stored(path: Path) -> list[str]:
    """Every stored copy's event id (a copy twice would show twice)."""
    return [str(event["event_id"]) for event in SQLiteStore(path).every_event()]


def _backlog(queue: SqliteQueue, count: int) -> list[str]:
    """Jobs queued as ingest queues them, so the kill finds the processor with a batch in hand."""
    ids = [str(uuid.uuid4()) for _ in range(count)]
    jobs = [envelope.encode(envelope.build([{
        "event_id": i, "site": "local", "name": "pageview", "url": "https://shop.example.com/backlog",
        "path": "/backlog", "host": "shop.example.com", "received_at": AT, "event_time": AT, "ip": "203.0.113.5",
        "user_agent": HUMAN, "properties": {}}])) for i in ids]  # fmt: skip
    assert queue.push("default", jobs) == []
    return ids


def test_kill_9_under_load_loses_no_event_that_was_answered_2xx(start_up: Any, tmp_path: Path) -> None:
    queue = SqliteQueue(tmp_path / "data" / "queue.db")
    backlog = _backlog(queue, 15_000)
    proc, first = start_up()
    sender = Sender(first)
    sender.start()
    wait_for(lambda: len(sender.accepted) >= 100 and "batch" in first["log"].read_text(), 120, "traffic", proc)
    os.killpg(proc.pid, signal.SIGKILL)  # mid-load: requests in flight, a batch in hand
    proc.wait()
    sender.stopping.set()
    sender.join(30)
    held = queue.sizes("default")["in_flight"]  # leased by the dead process
    accepted, sent = set(sender.accepted) | set(backlog), set(sender.sent) | set(backlog)

    proc, again = start_up()
    keys = ("write_key", "secret_key", "site_id")
    assert {k: again[k] for k in keys} == {k: first[k] for k in keys}, "the page's snippet keeps counting"
    ids = [str(uuid.uuid4()) for _ in range(BATCH)]
    assert Sender({**again, "write_key": first["write_key"], "secret_key": first["secret_key"]}).post(ids), (
        "the old keys still work"
    )
    accepted |= set(ids)
    sent |= set(ids)

    if held:  # the new worker took them back at once, not after the lease
        assert f"gave back {held} jobs" in again["log"].read_text()
    store_path = tmp_path / "data" / "tally.db"
    wait_for(lambda: accepted <= set(_stored(store_path)), 120, "every accepted event stored", proc)
    wait_for(lambda: _left(queue) == 0, 60, "an empty queue", proc)
    stored = _stored(store_path)
    assert len(stored) == len(set(stored)), "no event stored twice"
    assert set(stored) <= sent, "nothing stored that was not sent"
    # Sealed as the rollup seals them once the buckets have closed: each stored event counted once.
    store = SQLiteStore(store_path)
    Rollup(store, clock=lambda: 4102444800.0).settle()  # 2100-01-01: every bucket closed
    days = {event["event_time"][:10] for event in store.every_event()}
    total = store.counts([(Bucket("local", "d", day), ("total", "")) for day in days])
    assert sum((counts.sealed or {}).get("ev", 0) for counts in total.values()) == len(stored)
    assert all(not counts.state.dirty for counts in total.values())
