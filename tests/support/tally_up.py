"""`tally up` as a real process for a whole test module (tests/support/local_up.py starts one
per test), and what it stored and counted: in its SQLite file by default, in the emulator's
DynamoDB tables with ``--aws-emulator``.

``counts`` is what the rollup would seal for the site's day buckets (its own recompute over
the stored events: events by name, pageviews by page, distinct visitors), checked against the
live counters the dashboard reads meanwhile, so a test compares what it sent with what Tally
counts, not merely with what it stored."""

import json
import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tally_contract import sites as site_model
from tests.support.local_up import FAST, aws_client, cli_env
from tests.support.servers import free_port
from tests.support.waiting import wait_for


@dataclass(frozen=True)
class Counts:
    names: dict[str, int]  # events by name, pageviews included, bots not
    pages: dict[str, int]  # pageviews by path
    visitors: int  # distinct visitor ids among the events that are no bot's
    events: int  # raw events stored (bots too)

    @property
    def pageviews(self) -> int:
        return sum(self.pages.values())


@dataclass
class Running:
    proc: "subprocess.Popen[str]"
    state: dict[str, Any]
    tmp: Path
    started: datetime

    @property
    def api(self) -> str:
        return str(self.state["api_url"])

    def client(self, service: str) -> Any:
        return aws_client(self.state, service)

    @property
    def store_url(self) -> str:
        return str(self.state.get("store_url") or "")

    def add_site(self, site_id: str, **settings: Any) -> site_model.NewSite:
        from tally_contract.sites import open_sites

        settings.setdefault("origins", ("*",))
        created = site_model.create(site_id, **settings)
        if self.store_url:
            open_sites(self.store_url).put(created.site)
        else:
            from tally_contract.sites_dynamodb import DynamoSites

            DynamoSites(self.state["sites_table"], client=self.client("dynamodb")).put(created.site)
        return created

    def store(self) -> Any:
        if self.store_url:
            from tally_store.sqlite import SQLiteStore

            return SQLiteStore.from_url(self.store_url)
        from tally_store.dynamodb import DynamoDBStore
        from tally_store.dynamodb_calls import Calls

        return DynamoDBStore(self.state["events_table"], self.state["aggregates_table"], Calls(self.client("dynamodb")))

    def stored(self, site: str) -> list[dict[str, Any]]:
        if self.store_url:
            return self._stored_through_the_store(site)
        from tally_store import dynamodb_packs

        pages = self.client("dynamodb").get_paginator("scan").paginate(TableName=self.state["events_table"])
        packs = [item for page in pages for item in page["Items"] if item["pk"]["S"].startswith(site + "#")]
        return list(dynamodb_packs.unique_events(packs))

    def wait_stored(self, site: str, count: int, timeout: float = 90) -> list[dict[str, Any]]:
        """The site's stored events once there are ``count`` (never more: that would be a bug)."""
        found = wait_for(lambda: len(self.stored(site)) >= count, timeout, lambda: f"{count} events of {site} "
                         f"stored, {len(self.stored(site))} so far", self.proc)  # fmt: skip
        assert found
        events = self.stored(site)
        assert len(events) == count, f"{len(events)} events stored for {site}, {count} sent"
        return events

    def counts(self, site: str) -> Counts:
        from tally_aggregates import counters, rows, summary
        from tally_aggregates.reader import AggregateReader
        from tally_store import buckets
        from tally_store.base import TOTAL, Bucket

        store = self.store()
        names: Counter[str] = Counter()
        pages: Counter[str] = Counter()
        visitors = 0
        days = self._days()
        for day in days:
            # What the rollup seals for the day: its own summary of the stored events.
            read = store.read_events(site, *buckets.time_range(Bucket(site, "d", day)))
            sealed = rows.event_rows(summary.from_events(read.events, counters.rows_of))
            for (dimension, value), counted in sealed.items():
                if dimension == "event":
                    names[value] += counted.get("ev", 0)
                elif dimension == "page":
                    pages[value] += counted.get("pv", 0)
            visitors += sealed.get(TOTAL, {}).get("uv", 0)  # one day at a time: a test spans one, rarely two
        live = [point.numbers for point in AggregateReader(store).series(site, "d", days)]
        exact = Counts(dict(+names), dict(+pages), visitors, len(self.stored(site)))
        assert (sum(n.views for n in live), sum(n.events for n in live)) == (exact.pageviews, sum(names.values())), (
            "the live counters disagree with the stored events"
        )
        return exact

    def _stored_through_the_store(self, site: str) -> list[dict[str, Any]]:
        from tally_store import buckets
        from tally_store.base import Bucket

        store, days = self.store(), self._days()
        start, _ = buckets.time_range(Bucket(site, "d", days[0]))
        _, end = buckets.time_range(Bucket(site, "d", days[-1]))
        return list(store.read_events(site, start, end).events)

    def _days(self) -> list[str]:
        first, last = self.started - timedelta(minutes=5), datetime.now(UTC) + timedelta(minutes=5)
        days = {(first + timedelta(days=n)).strftime("%Y-%m-%d") for n in range((last - first).days + 2)}
        return sorted(day for day in days if day <= last.strftime("%Y-%m-%d"))


def _query(client: Any, table: str, pk: str) -> list[dict[str, Any]]:
    pages = client.get_paginator("query").paginate(
        TableName=table, KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": {"S": pk}}
    )
    return [item for page in pages for item in page["Items"]]


@contextmanager
def tally_up(tmp: Path, *extra: str) -> Iterator[Running]:
    """`tally up` on free ports with its state under ``tmp``; killed (its whole session) after."""
    api_port, aws_port = free_port(), free_port()
    args = [sys.executable, "-m", "tally_cli", "up", "--port", str(api_port), "--aws-port", str(aws_port),
            *FAST, *extra]  # fmt: skip
    proc = subprocess.Popen(args, env=cli_env(tmp), cwd=tmp, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)  # fmt: skip
    try:
        state_file = tmp / "state" / "local.json"
        assert wait_for(state_file.exists, 120, "tally up to start", proc), "tally up did not start"
        state = json.loads(state_file.read_text())
        yield Running(proc, state, tmp, datetime.now(UTC))
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
