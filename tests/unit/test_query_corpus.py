"""POST /api/v2/query's engine (tally_query) against the oracle, over the traffic of
test_exactness.py (redeliveries, client resends, late batches, bots, visits across hours and
midnight): every corpus query (tests/support/query_corpus.py) in three time zones, on the
in-memory store and on SQLite. tests/functional/test_query_dynamodb.py runs it on moto."""

from typing import Any

import pytest

from tests.support import query_corpus
from tests.support.processor_harness import make_processor, sqlite_processor
from tests.unit.test_exactness import START, settle

LATER = START + 4 * 86400  # everything sealed


def settled(make: Any, seed: int) -> Any:
    return settle(make(), seed, 120, LATER)


@pytest.mark.parametrize("seed", [1, 2])
def test_the_engine_answers_the_corpus_as_the_oracle_does(seed: int) -> None:
    paths = query_corpus.check(settled(make_processor, seed), LATER)
    assert paths["aggregates"] >= 300 and paths["raw events"] >= 150  # Asia/Kolkata: half hours, scans


def test_the_engine_answers_the_corpus_on_sqlite(tmp_path: Any) -> None:
    """Local mode's default store: its sealed(buckets) read answers as the memory store's."""
    paths = query_corpus.check(settled(lambda: sqlite_processor(tmp_path / "query.db"), 3), LATER, ("UTC",))
    assert paths["aggregates"] >= 50 and paths["raw events"] >= 20


@pytest.mark.parametrize("zone", ["UTC", "America/New_York"])
def test_long_ranges_of_mostly_empty_days_read_no_hour_of_them(zone: str) -> None:
    """12 months, 6 months, all: the days with nothing are skipped after one batched read of
    their totals (before: every unsealed day's hours were read, past the bound of 32 days)."""
    import dataclasses
    from datetime import datetime

    from tally_query.engine import Engine
    from tests.support import oracle

    proc = settled(make_processor, 4)
    site = dataclasses.replace(proc.sites.by_id("shop"), timezone=zone)
    engine = Engine(proc.store, lambda _id: site, clock=lambda: LATER)
    for date_range, dimensions in (("12mo", ["time:month"]), ("6mo", ["visit:source"]), ("all", [])):
        body = {"site_id": "shop", "metrics": ["visitors", "visits", "pageviews"], "date_range": date_range,
                "dimensions": dimensions}  # fmt: skip
        answer = engine.run(body)
        start, last = (datetime.fromisoformat(t).timestamp() for t in answer["query"]["date_range"])
        got = {tuple(row["dimensions"]): row["metrics"] for row in answer["results"]}
        assert got == oracle.query(proc.stored_copies(), body, (start, last + 1), zone, site.goals), date_range
        assert answer["meta"]["tally"]["cost"]["hour_summaries"] <= 4 * 24, answer["meta"]["tally"]  # the 3-4 days


@pytest.mark.parametrize("zone", ["UTC", "America/New_York"])
def test_a_month_filtered_by_a_click_on_any_panel_is_read_from_the_hour_summaries(zone: str) -> None:
    """A dashboard panel under a click-to-filter on a source, a country, a page, a goal or a
    property, over a month: the visits' values and their events' rows are in the hour
    summaries, so no raw event is read (the raw scan stops at 8 days: these were 400s)."""
    import dataclasses

    from tally_query.engine import Engine

    proc = settled(make_processor, 5)
    site = dataclasses.replace(proc.sites.by_id("shop"), timezone=zone)
    engine = Engine(proc.store, lambda _id: site, clock=lambda: LATER)
    month = ["2026-10-26", "2026-11-25"]
    for filters, dimensions in (([["is_not", "visit:device", ["Desktop"]]], ["visit:source"]),
                                ([["is", "visit:source", ["news"]], ["is", "visit:country", ["US", "DE"]]], []),
                                ([["contains", "visit:entry_page", ["/"]]], ["time:day"]),
                                ([["is", "event:page", ["/pricing"]]], []),
                                ([["is", "event:goal", ["signup"]]], ["visit:source"]),
                                ([["is_not", "event:props:plan", ["free"]], ["is", "visit:device", ["Mobile"]]], []),
                                ([["is", "visit:source", ["news"]]], ["event:page"])):  # fmt: skip
        metrics = ["visitors", "visits", "pageviews", "bounce_rate", "visit_duration"]
        body = {"site_id": "shop", "metrics": metrics, "date_range": month, "filters": filters,
                "dimensions": dimensions}  # fmt: skip
        answer = engine.run(body)
        assert answer["meta"]["tally"]["answered_from"] == "aggregates"
        assert answer["meta"]["tally"]["cost"]["raw_events"] == 0 and answer["results"]
        query_corpus.assert_as_oracle(proc.stored_copies(), body, answer, zone, site.goals)


def test_summaries_written_before_runs_kept_their_rows_are_answered_by_the_scan() -> None:
    """An hour summary of the earlier format (no rows per visit) cannot say which visits a page
    filter keeps: such a query falls back to the raw scan, and stays exact."""
    import dataclasses

    from tally_aggregates import summary
    from tally_aggregates.rollup import SUMMARY
    from tally_query.engine import Engine

    proc = settled(make_processor, 6)
    hours = [bucket for bucket, name in proc.store.kept if name == SUMMARY]
    rewritten = 0
    for hour, blob in proc.store.blobs(hours, SUMMARY).items():
        older = summary.decode(blob)
        for visitor in older.visitors.values():
            visitor.runs = [dataclasses.replace(run, rows=None) for run in visitor.runs]
        rewritten += proc.store.put_blob(hour, SUMMARY, summary.encode(older), 10**6)
    assert rewritten > 0
    site = proc.sites.by_id("shop")
    body = {"site_id": "shop", "metrics": ["visitors", "visits", "bounce_rate"], "date_range": "7d",
            "filters": [["is", "event:page", ["/pricing"]]]}  # fmt: skip
    answer = Engine(proc.store, lambda _id: site, clock=lambda: LATER).run(body)
    assert answer["meta"]["tally"]["answered_from"] == "raw events"
    query_corpus.assert_as_oracle(proc.stored_copies(), body, answer, "UTC", site.goals)
