"""The Stats API v2 query corpus: queries over the traffic of tests/unit/test_exactness.py,
each answered by the engine (tally_query) and by the oracle (tests/support/oracle.py)."""

import dataclasses
import functools
import itertools
from datetime import datetime
from typing import Any

from tally_query.engine import Engine
from tests.support import oracle
from tests.support.processor_harness import Processor

EVENT_METRICS = ["visitors", "pageviews", "events"]
ALL_TOTAL = ["visitors", "visits", "pageviews", "views_per_visit", "bounce_rate", "visit_duration", "events"]
VISIT_METRICS = ["visitors", "visits", "pageviews", "events", "bounce_rate", "visit_duration", "percentage"]
EVENT_DIMENSIONS = ["event:page", "event:name", "event:goal", "event:props:plan", "event:hostname"]
VISIT_DIMENSIONS = ["visit:source", "visit:referrer", "visit:utm_source", "visit:utm_medium", "visit:utm_campaign",
                    "visit:device", "visit:browser", "visit:browser_version", "visit:os", "visit:country",
                    "visit:entry_page", "visit:exit_page"]  # fmt: skip
RANGES = [["2026-11-22", "2026-11-24"], ["2026-11-22T23:00:00Z", "2026-11-23T00:59:59Z"], "7d",
          ["2026-11-22T22:00:00", "2026-11-23T01:59:59"]]  # fmt: skip
FILTERS: list[list[list[Any]]] = [
    [["is", "event:page", ["/pricing"]]],
    [["contains", "event:page", ["doc", "BLOG"], {"case_sensitive": False}]],
    [["is", "visit:source", ["news"]]],
    [["is_not", "visit:device", ["Desktop"]]],
    [["or", [["is", "event:name", ["signup"]], ["not", ["matches", "event:page", ["^/(docs|blog)"]]]]]],
    [["is", "event:goal", ["signup"]]],
    [["is", "visit:source", ["news"]], ["contains_not", "event:page", ["pricing"]]],
]  # fmt: skip
# Filters on visit dimensions alone, answered from the hour summaries' visits whatever the
# breakdown by a visit dimension (tally_query/plan.py _visits).
VISIT_FILTERS: list[list[list[Any]]] = [
    [["is", "visit:source", ["news"]], ["is_not", "visit:device", ["Desktop"]]],
    [["or", [["contains", "visit:entry_page", ["blog"]], ["not", ["is", "visit:country", ["DE"]]]]]],
    [["is", "event:goal", ["signup"]], ["is_not", "visit:device", ["Desktop"]]],
    [["contains", "event:page", ["doc", "pricing"]]],
]  # fmt: skip


def corpus() -> list[dict[str, Any]]:
    queries: list[dict[str, Any]] = []
    for date_range in RANGES:
        base = {"site_id": "shop", "date_range": date_range}
        queries.append({**base, "metrics": ALL_TOTAL})
        for dimension in EVENT_DIMENSIONS:
            metrics = EVENT_METRICS + ["percentage"] + (["conversion_rate"] if dimension == "event:goal" else [])
            queries.append({**base, "metrics": metrics, "dimensions": [dimension]})
        for dimension in VISIT_DIMENSIONS:
            queries.append({**base, "metrics": VISIT_METRICS, "dimensions": [dimension]})
        for time in ("time:hour", "time:day", "time"):
            queries.append({**base, "metrics": [*ALL_TOTAL[:2], "events"], "dimensions": [time]})
        queries.append({**base, "metrics": VISIT_METRICS, "dimensions": ["time:hour", "visit:source"]})
        queries.append({**base, "metrics": EVENT_METRICS, "dimensions": ["event:page", "visit:device"]})
        for filters in FILTERS:
            metrics = ["visitors", "pageviews", "events", "visits", "bounce_rate"]
            if any(f[1:2] == ["event:goal"] for f in filters):
                metrics = ["visitors", "events", "conversion_rate"]
            queries.append({**base, "metrics": metrics, "filters": filters})
            queries.append({**base, "metrics": EVENT_METRICS, "filters": filters, "dimensions": ["event:page"]})
        for filters in VISIT_FILTERS:
            for dimensions in (["visit:source"], ["visit:country"], ["time:day"], []):
                metrics = VISIT_METRICS if dimensions else VISIT_METRICS[:-1]
                queries.append({**base, "metrics": metrics, "filters": filters, "dimensions": dimensions})
    minutes = ["2026-11-22T23:10:00Z", "2026-11-22T23:40:59Z"]
    queries.append({"site_id": "shop", "date_range": minutes, "metrics": ALL_TOTAL[:3], "dimensions": ["time:minute"]})
    return queries


def check(proc: Processor, now: float, zones: tuple[str, ...] = ("UTC", "America/New_York", "Asia/Kolkata")
          ) -> dict[str, int]:  # fmt: skip
    """Every corpus query in every time zone: the engine's rows equal the oracle's. Returns how
    many queries each path answered."""
    site = proc.sites.by_id("shop")
    paths: dict[str, int] = {}
    copies = proc.stored_copies()
    for zone, body in itertools.product(zones, corpus()):
        located = dataclasses.replace(site, timezone=zone)
        answer = Engine(proc.store, functools.partial(_same, located), clock=lambda: now).run(body)
        assert_as_oracle(copies, body, answer, zone, site.goals)
        path = answer["meta"]["tally"]["answered_from"]
        paths[path] = paths.get(path, 0) + 1
    return paths


def assert_as_oracle(copies: Any, body: dict[str, Any], answer: dict[str, Any], zone: str, goals: Any) -> None:
    """The answer's rows (however it was got: the engine, or over HTTP) equal the oracle's."""
    start, last = (datetime.fromisoformat(t).timestamp() for t in answer["query"]["date_range"])
    got = {tuple(row["dimensions"]): row["metrics"] for row in answer["results"]}
    resolved = {**body, "dimensions": answer["query"]["dimensions"]}  # "time" as the range chose it
    want = oracle.query(copies, resolved, (start, last + 1), zone, goals)
    assert got == want, (zone, body, answer["meta"]["tally"], _diff(got, want))


def _same(site: Any, _site_id: str) -> Any:
    return site


def _diff(got: dict[Any, Any], want: dict[Any, Any]) -> dict[Any, Any]:
    keys = set(got) | set(want)
    return {k: (got.get(k), want.get(k)) for k in sorted(keys, key=str) if got.get(k) != want.get(k)}
