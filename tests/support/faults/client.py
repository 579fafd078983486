"""A tracking client over real HTTP: batches of events with their own ids and times, resent
with the same ids while ingest says "retry" (503, 429, a 207 entry refused by the queue, a
dropped connection) and given up on (reported) after ``attempts``. Every outcome goes to the
Ledger: accepted or rejected, never unknown."""

import http.client
import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from tests.support.faults.ledger import Ledger

ORIGIN = "https://shop.example.com"
RETRY_CODES = {"queue_unavailable", "rate_limited"}


def new_events(n: int, *, prefix: str = "") -> list[dict[str, Any]]:
    # The client stamps each event's time: a resend then lands on the same raw item.
    now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return [{"event_id": f"{prefix}{uuid.uuid4()}", "name": "pageview", "time": now,
             "url": f"https://shop.example.com/p{i % 7}"} for i in range(n)]  # fmt: skip


class Client:
    def __init__(self, api: str, write_key: str, *, attempts: int = 8, backoff: float = 0.05) -> None:
        parts = urlsplit(api)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.write_key = write_key
        self.attempts = attempts
        self.backoff = backoff
        self.statuses: list[int] = []

    def send(self, ledger: Ledger, events: list[dict[str, Any]], *, batch: int = 20, pause: float = 0.0) -> None:
        """``pause``: seconds between requests, for a steady client rather than a burst."""
        for start in range(0, len(events), batch):
            self.send_batch(ledger, events[start : start + batch])
            time.sleep(pause)

    def send_batch(self, ledger: Ledger, events: list[dict[str, Any]]) -> None:
        ledger.sent.update(e["event_id"] for e in events)
        pending, reason = list(events), ""
        for attempt in range(self.attempts):
            if attempt:
                ledger.retries += 1
                time.sleep(min(self.backoff * 2**attempt, 2.0))
            pending, reason = self._post(ledger, pending)
            if not pending:
                return
        for e in pending:
            ledger.rejected[e["event_id"]] = f"gave up after {self.attempts} attempts: {reason}"

    def _post(self, ledger: Ledger, events: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], str]:
        """One request; returns the events to resend and why."""
        try:
            status, answer = self.post({"batch": events})
        except (OSError, http.client.HTTPException) as exc:
            return events, f"connection: {type(exc).__name__}"  # queued or not: resend, ids dedupe
        self.statuses.append(status)
        if isinstance(answer, dict) and "rejected" in answer:  # a batch answer: one verdict per event
            refused = {r["index"]: r for r in answer["rejected"]}
            retry = []
            for i, e in enumerate(events):
                if i not in refused:
                    ledger.accepted.add(e["event_id"])
                elif refused[i].get("error") in RETRY_CODES:
                    retry.append(e)
                else:
                    ledger.rejected[e["event_id"]] = f"{status} {refused[i].get('error')}"
            return retry, f"{status} the queue refused {len(retry)} events"
        if status == 429 or status >= 500:
            return events, f"{status} {answer.get('error') if isinstance(answer, dict) else answer}"
        for e in events:
            ledger.rejected[e["event_id"]] = f"{status} {answer}"
        return [], ""

    def post(self, body: Any) -> tuple[int, Any]:
        connection = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            headers = {"Content-Type": "application/json", "Origin": ORIGIN, "X-Tally-Key": self.write_key}
            connection.request("POST", "/events", body=json.dumps(body).encode(), headers=headers)
            response = connection.getresponse()
            raw = response.read()
        finally:
            connection.close()
        try:
            return response.status, json.loads(raw)
        except ValueError:
            return response.status, raw.decode("utf-8", "replace")
