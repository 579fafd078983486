"""The dashboard's downloads through the dashboard app (Lambda events, as API Gateway sends them)
against moto: the CSV zip's numbers equal the engine's answers and the oracle's for generated
traffic (with and without filters); the raw events' parts, followed by their cursors, join into
one .ndjson.gz holding every counted event once; a viewer of another site is refused; a bad
parameter is a 400 naming it."""

import csv
import gzip
import io
import json
import zipfile
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from dashboard import runtime
from tally_export import csv_zip, records
from tally_store.buckets import iso
from tests.support import oracle
from tests.support.dashboard_harness import Board, make_board
from tests.unit.test_exactness import START, settle

LATER = START + 4 * 86400  # everything sealed
DAYS = "2026-11-22,2026-11-24"
FILTERS = [[], [["is", "visit:source", ["news"]]], [["contains", "event:page", ["doc"]]]]


@pytest.fixture
def settled(aws: None, boto: Any) -> Iterator[Board]:
    board = make_board(boto)
    board.clock[0] = LATER
    settle(board.proc, 5, 150, LATER)
    yield board
    runtime.reset()


def zipped(board: Board, token: str | None = None, **query: str) -> dict[str, list[list[str]]]:
    response = board.get("/api/export/csv", token, site_id="shop", **query)
    assert response.status == 200, response.body[:300]
    assert response.headers["content-type"] == "application/zip"
    assert response.headers["content-disposition"].startswith('attachment; filename="tally-shop-')
    with zipfile.ZipFile(io.BytesIO(response.body)) as packed:
        return {name: list(csv.reader(io.StringIO(packed.read(name).decode()))) for name in packed.namelist()}


def ask(board: Board, body: dict[str, Any]) -> dict[str, Any]:
    response = board.request("POST", "/api/v2/query", body=json.dumps(body).encode(),
                             headers={"Content-Type": "application/json",
                                      "Authorization": f"Bearer {board.admin_token()}"})  # fmt: skip
    assert response.status == 200, response.body[:300]
    answer: dict[str, Any] = response.json()
    return answer


def as_text(values: list[Any]) -> list[str]:
    return [str(v) for v in values]


@pytest.mark.parametrize("filters", FILTERS, ids=["none", "source", "page"])
def test_every_csv_equals_the_query_api_and_the_oracle(settled: Board, filters: list[Any]) -> None:
    files = zipped(settled, date_range=DAYS, filters=json.dumps(filters))
    assert set(files) == {"visitors.csv", "custom_props.csv", *(r.name for r in csv_zip.REPORTS)}
    base = {"site_id": "shop", "date_range": DAYS.split(","), "filters": filters}
    copies, goals = settled.proc.stored_copies(), settled.proc.sites.by_id("shop").goals
    nonempty = 0
    for report in csv_zip.REPORTS:
        body = {**base, "metrics": list(report.metrics), "dimensions": [report.dimension]}
        answer = ask(settled, body)
        rows = files[report.name]
        assert rows[0] == ["name", *report.metrics]
        assert rows[1:] == [as_text(r["dimensions"] + r["metrics"]) for r in answer["results"]], report.name
        start, last = (datetime.fromisoformat(t).timestamp() for t in answer["query"]["date_range"])
        want = oracle.query(copies, body, (start, last + 1), "UTC", goals)
        assert {(row[0],): [float(v) for v in row[1:]] for row in rows[1:]} == want, report.name
        nonempty += len(rows) > 1
    assert nonempty >= 8  # the traffic fills most panels
    plans = ask(settled, {**base, "metrics": ["visitors", "events"], "dimensions": ["event:props:plan"]})
    assert files["custom_props.csv"][1:] == [["plan", *as_text(r["dimensions"] + r["metrics"])]
                                             for r in plans["results"]]  # fmt: skip


@pytest.mark.parametrize("filters", FILTERS[:2], ids=["none", "source"])
def test_the_series_has_every_day_and_each_equals_that_days_query(settled: Board, filters: list[Any]) -> None:
    rows = zipped(settled, date_range=DAYS, filters=json.dumps(filters))["visitors.csv"]
    assert rows[0] == ["date", *csv_zip.SERIES]
    assert [row[0] for row in rows[1:]] == ["2026-11-22", "2026-11-23", "2026-11-24"]
    for row in rows[1:]:
        body = {"site_id": "shop", "date_range": [row[0], row[0]], "metrics": list(csv_zip.SERIES), "filters": filters}
        assert row[1:] == as_text(ask(settled, body)["results"][0]["metrics"]), row
    assert sum(int(row[2]) for row in rows[1:]) > 0


def test_bad_parameters_are_400s_naming_them(settled: Board) -> None:
    cases = [({"date_range": "fortnight"}, "date_range"), ({"filters": "[nope"}, "filters"),
             ({"filters": '[["is", "event:nope", ["x"]]]'}, "filters"), ({"site_id": "a b"}, "site_id"),
             ({"date_range": "2026-11-24,2026-11-22"}, "date_range")]  # fmt: skip
    for query, field in cases:
        response = settled.get("/api/export/csv", **{"site_id": "shop", **query})
        assert response.status == 400 and response.json()["parameter"] == field, (query, response.body)
    events = [({"from": "yesterday", "to": "2026-11-24"}, "from"), ({"from": "2026-11-24", "to": "2026-11-22"}, "to"),
              ({"from": "2026-11-22"}, "to"), ({"from": "2026-11-22", "to": "2026-11-23", "cursor": "!!"}, "cursor"),
              ({"from": "2000-01-01", "to": "2026-11-23"}, "to")]  # fmt: skip
    for query, field in events:
        response = settled.get("/api/export/events", **{"site_id": "shop", **query})
        assert response.status == 400 and response.json()["parameter"] == field, (query, response.body)


def test_a_viewer_exports_its_own_site_only(settled: Board) -> None:
    token = settled.token("read", "shop")
    assert zipped(settled, token, date_range=DAYS)["pages.csv"][1:]
    for path in ("/api/export/csv", "/api/export/events"):
        window = {"from": "2026-11-22", "to": "2026-11-24"}
        refused = settled.get(path, token, site_id="other", date_range=DAYS, **window)
        assert refused.status == 403, (path, refused.body)
        assert settled.request("GET", path, query={"site_id": "shop"}).status == 401


def test_raw_event_parts_join_into_every_counted_event_once(settled: Board) -> None:
    from tally_export import parts

    # As the dashboard counts: each event id once, but a client's resend more than 24 hours on too.
    counted = [e for e in oracle.counted(settled.proc.stored_copies())]
    window = {"from": "2026-11-22T23:00", "to": "2026-11-24"}
    low, high = iso(datetime.fromisoformat("2026-11-22T23:00+00:00")), "2026-11-25"
    blob, cursor, calls = b"", None, 0
    saved = parts.PART_HOURS
    parts.PART_HOURS = 1  # every hour a part of its own: the cursors carry the resend rule across
    try:
        while True:
            more: dict[str, str] = {"cursor": cursor} if cursor else {}
            response = settled.get("/api/export/events", site_id="shop", **window, **more)
            assert response.status == 200, response.body[:300]
            assert response.headers["content-type"] == "application/gzip"
            gzip.decompress(response.body)  # each part a complete gzip member
            blob, calls = blob + response.body, calls + 1
            cursor = response.headers.get("tally-next-cursor")
            if cursor is None:
                break
            assert f"cursor={cursor}" in response.headers["link"] and 'rel="next"' in response.headers["link"]
    finally:
        parts.PART_HOURS = saved
    lines = records.read(blob)
    assert calls >= 3
    wanted = [records.exported(e) for e in counted if low <= e["event_time"] < high]
    assert len({(e["event_id"], e["event_time"]) for e in wanted}) == len(wanted) > 50
    ordered = sorted(lines, key=lambda line: (line["event_id"], line["event_time"]))
    assert ordered == sorted(wanted, key=lambda line: (line["event_id"], line["event_time"]))
    ids = [line["event_id"] for line in ordered]
    assert len(set(ids)) < len(ids)  # a resend more than 24 hours on counts again, and is exported
