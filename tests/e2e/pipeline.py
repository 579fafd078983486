"""`tally up` as a real process for a whole test module, and what it stored and counted.

``counts`` reads the aggregates table as the dashboard and `tally stats` do (the day buckets'
live counters: events by name, pageviews by page) and the exact visitors the rollup would
seal (its own recompute over the raw events), so a test compares what it sent with what
Tally counts, not with what it stored."""

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
from tests.local_up import FAST, aws_client, cli_env
from tests.servers import free_port
from tests.waiting import wait_for


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

    def add_site(self, site_id: str, **settings: Any) -> site_model.NewSite:
        from tally_contract.sites_dynamodb import DynamoSites

        settings.setdefault("origins", ("*",))
        created = site_model.create(site_id, **settings)
        DynamoSites(self.state["sites_table"], client=self.client("dynamodb")).put(created.site)
        return created

    def stored(self, site: str) -> list[dict[str, Any]]:
        from processor_lambda import items

        pages = self.client("dynamodb").get_paginator("scan").paginate(TableName=self.state["events_table"])
        packs = [item for page in pages for item in page["Items"] if item["pk"]["S"].startswith(site + "#")]
        return list(items.unique_events(packs))

    def wait_stored(self, site: str, count: int, timeout: float = 90) -> list[dict[str, Any]]:
        """The site's stored events once there are ``count`` (never more: that would be a bug)."""
        found = wait_for(lambda: len(self.stored(site)) >= count, timeout, lambda: f"{count} events of {site} "
                         f"stored, {len(self.stored(site))} so far", self.proc)  # fmt: skip
        assert found
        events = self.stored(site)
        assert len(events) == count, f"{len(events)} events stored for {site}, {count} sent"
        return events

    def counts(self, site: str) -> Counts:
        from processor_lambda import keys
        from processor_lambda.dynamo import DynamoStore
        from processor_lambda.request_job import Tables
        from processor_lambda.rollup import Rollup

        client, table = self.client("dynamodb"), self.state["aggregates_table"]
        names: Counter[str] = Counter()
        pages: Counter[str] = Counter()
        visitors: set[str] = set()
        rollup = Rollup(DynamoStore(client), Tables(self.state["events_table"], table))
        for day in self._days():
            pk = keys.aggregate_pk(site, "d", day)
            for item in _query(client, table, pk):
                sk = item["sk"]["S"]
                if sk.startswith("event#"):
                    names[sk[6:]] += int(item.get("ev", {}).get("N", "0"))
                elif sk.startswith("page#"):
                    pages[sk[5:]] += int(item.get("pv", {}).get("N", "0"))
            visitors |= rollup.recompute(site, "d", day).totals[keys.TOTAL].visitors
        return Counts(dict(names), dict(pages), len(visitors), len(self.stored(site)))

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
