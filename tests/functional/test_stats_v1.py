"""Plausible's Stats API v1 (``GET /api/v1/stats/...``) through the dashboard app against moto:
each v1 query's answer equals the corresponding v2 query's from the engine and the oracle's,
over the generated traffic of the query corpus; the same tokens and site scoping as v2; 400s
in Plausible's shape naming the v1 parameter."""

import functools
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from dashboard import runtime
from tally_query.engine import Engine
from tests.support import oracle
from tests.support.dashboard_harness import Board, make_board, mint_token
from tests.support.jobs import tally_job
from tests.unit.test_exactness import START, settle

LATER = START + 4 * 86400  # everything sealed
SITE = "shop"
DATE = "2026-11-23"
# (v1 endpoint, its parameters, the v2 query it stands for)
CASES: list[tuple[str, dict[str, str], dict[str, Any]]] = [
    ("aggregate", {"period": "day", "date": DATE, "metrics": "visitors,visits,pageviews,views_per_visit,bounce_rate,"
                                                            "visit_duration,events"},
     {"date_range": [DATE, DATE], "metrics": ["visitors", "visits", "pageviews", "views_per_visit", "bounce_rate",
                                              "visit_duration", "events"]}),
    ("aggregate", {"period": "7d", "date": "2026-11-24"},
     {"date_range": ["2026-11-18", "2026-11-24"], "metrics": ["visitors"]}),
    ("aggregate", {"period": "custom", "date": "2026-11-22,2026-11-24", "metrics": "visitors,pageviews",
                   "filters": "event:page==/pricing|/docs/**;visit:device!=Desktop"},
     {"date_range": ["2026-11-22", "2026-11-24"], "metrics": ["visitors", "pageviews"],
      "filters": [["matches", "event:page", ["^/pricing$", "^/docs/.*$"]], ["is_not", "visit:device", ["Desktop"]]]}),
    ("aggregate", {"period": "day", "date": DATE, "metrics": "visitors,events", "filters": "event:goal==signup"},
     {"date_range": [DATE, DATE], "metrics": ["visitors", "events"], "filters": [["is", "event:goal", ["signup"]]]}),
    ("timeseries", {"period": "7d", "date": "2026-11-24", "metrics": "visitors,pageviews,visits"},
     {"date_range": ["2026-11-18", "2026-11-24"], "metrics": ["visitors", "pageviews", "visits"],
      "dimensions": ["time:day"]}),
    ("timeseries", {"period": "month", "date": DATE, "interval": "month", "filters": "visit:source==news"},
     {"date_range": ["2026-11-01", "2026-11-30"], "metrics": ["visitors"], "dimensions": ["time:month"],
      "filters": [["is", "visit:source", ["news"]]]}),
    ("breakdown", {"period": "day", "date": DATE, "property": "event:page", "metrics": "visitors,pageviews"},
     {"date_range": [DATE, DATE], "metrics": ["visitors", "pageviews"], "dimensions": ["event:page"]}),
    ("breakdown", {"period": "30d", "date": "2026-11-24", "property": "visit:source", "metrics": "visitors,bounce_rate",
                   "limit": "2", "page": "2"},
     {"date_range": ["2026-10-26", "2026-11-24"], "metrics": ["visitors", "bounce_rate"],
      "dimensions": ["visit:source"], "pagination": {"limit": 2, "offset": 2}}),
    ("breakdown", {"period": "day", "date": DATE, "property": "event:props:plan", "filters": "event:page==/pric**"},
     {"date_range": [DATE, DATE], "metrics": ["visitors"], "dimensions": ["event:props:plan"],
      "filters": [["matches", "event:page", ["^/pric.*$"]]]}),
]  # fmt: skip


@pytest.fixture
def board(aws: None, boto: Any) -> Iterator[Board]:
    made = make_board(boto)
    made.clock[0] = LATER
    made.proc.pipeline.process([tally_job("e1", at="2026-11-23T13:18:40.000Z")])
    yield made
    runtime.reset()


@pytest.fixture
def settled(aws: None, boto: Any) -> Iterator[Board]:
    """The corpus's traffic, generated and delivered once per test: one test checks every case."""
    board = make_board(boto)
    board.clock[0] = LATER
    settle(board.proc, 3, 120, LATER)
    yield board
    runtime.reset()


def v1(board: Board, endpoint: str, token: str | None = None, **query: str) -> Any:
    path = "/api/v1/stats/realtime/visitors" if endpoint == "realtime" else f"/api/v1/stats/{endpoint}"
    return board.get(path, token, **({"site_id": SITE} | query))


def v2(board: Board, body: dict[str, Any]) -> dict[str, Any]:
    site = board.proc.sites.by_id(SITE)
    answer = Engine(board.proc.store, functools.partial(_same, site), clock=lambda: board.clock[0]).run(
        {"site_id": SITE, **body}
    )
    copies = board.proc.stored_copies()
    start, last = (datetime.fromisoformat(t).timestamp() for t in answer["query"]["date_range"])
    got = {tuple(row["dimensions"]): row["metrics"] for row in answer["results"]}
    if "pagination" not in body:  # the oracle knows no pages
        assert got == oracle.query(copies, {"site_id": SITE, **body}, (start, last + 1), "UTC", site.goals), body
    return answer


def _same(site: Any, _site_id: str) -> Any:
    return site


def test_v1_answers_are_the_v2_engines_and_the_oracles(settled: Board) -> None:
    for endpoint, query, body in CASES:
        check_case(settled, endpoint, query, body)
    check_compare(settled)
    check_realtime(settled)


def check_case(settled: Board, endpoint: str, query: dict[str, str], body: dict[str, Any]) -> None:
    response = v1(settled, endpoint, **query)
    assert response.status == 200, (endpoint, query, response.body)
    rows = v2(settled, body)["results"]
    metrics = body["metrics"]
    if endpoint == "aggregate":
        assert response.json() == {
            "results": {m: {"value": v} for m, v in zip(metrics, rows[0]["metrics"], strict=True)}
        }
    elif endpoint == "breakdown":
        key = body["dimensions"][0].rsplit(":", 1)[1]
        want = [{key: row["dimensions"][0], **dict(zip(metrics, row["metrics"], strict=True))} for row in rows]
        assert response.json() == {"results": want} and want
    else:
        found = {row["dimensions"][0]: dict(zip(metrics, row["metrics"], strict=True)) for row in rows}
        points = response.json()["results"]
        assert [p["date"] for p in points] == sorted({p["date"] for p in points}) and found
        assert {p["date"]: {m: p[m] for m in metrics} for p in points if p["date"] in found} == found
        assert all(p[m] == 0 for p in points if p["date"] not in found for m in metrics)  # every bucket shown


def check_compare(settled: Board) -> None:
    query = {"period": "day", "date": DATE, "metrics": "visitors,bounce_rate", "compare": "previous_period"}
    answer = v1(settled, "aggregate", **query).json()["results"]
    now = v2(settled, {"date_range": [DATE, DATE], "metrics": ["visitors", "bounce_rate"]})
    before = v2(settled, {"date_range": ["2026-11-22"] * 2, "metrics": ["visitors", "bounce_rate"]})
    (visitors, bounce), (old_visitors, old_bounce) = now["results"][0]["metrics"], before["results"][0]["metrics"]
    assert visitors and old_visitors
    assert answer["visitors"] == {"value": visitors, "change": round((visitors - old_visitors) / old_visitors * 100)}
    assert answer["bounce_rate"] == {"value": bounce, "change": bounce - old_bounce}


def check_realtime(settled: Board) -> None:
    now = datetime(2026, 11, 23, 0, 30, tzinfo=UTC).timestamp()  # within the traffic
    settled.clock[0] = now
    response = v1(settled, "realtime")
    assert response.status == 200 and response.headers["content-type"] == "application/json"
    want = oracle.query(settled.proc.stored_copies(), {"site_id": SITE, "metrics": ["visitors"]}, (now - 299, now + 1))
    assert response.json() == want[()][0] > 0


def test_tokens_and_site_scoping_are_v2s(board: Board) -> None:
    assert v1(board, "aggregate", mint_token("read", SITE), period="day", date=DATE).status == 200
    assert v1(board, "aggregate", mint_token("read", "other"), period="day", date=DATE).status == 403
    assert v1(board, "breakdown", mint_token("read", "other"), site_id="nosuch", property="event:page").status == 403
    assert board.request("GET", "/api/v1/stats/aggregate", query={"site_id": SITE}).status == 401
    sites = board.get("/api/v1/sites", mint_token("read", SITE)).json()
    assert sites["sites"] == [{"domain": SITE, "timezone": "UTC"}]


BAD = [
    ("aggregate", {"period": "fortnight"}, "period"),
    ("aggregate", {"period": "custom", "date": "2026-11-23"}, "date"),
    ("aggregate", {"date": "23/11/2026"}, "date"),
    ("aggregate", {"metrics": "visitors,clicks"}, "metrics"),
    ("aggregate", {"filters": "event:page=/x"}, "filters"),
    ("aggregate", {"filters": "event:colour==red"}, "filters"),
    ("aggregate", {"compare": "last_year"}, "compare"),
    ("aggregate", {"colour": "red"}, "colour"),
    ("aggregate", {"site_id": "nosuch"}, "site_id"),
    ("aggregate", {"site_id": ""}, "site_id"),
    ("breakdown", {"site_id": "s" * 65, "property": "event:page"}, "site_id"),
    ("realtime", {"site_id": "a/b"}, "site_id"),
    ("timeseries", {"interval": "week"}, "interval"),
    ("timeseries", {"period": "custom", "date": "2020-01-01,2026-11-23"}, "interval"),
    ("breakdown", {}, "property"),
    ("breakdown", {"property": "event:colour"}, "property"),
    ("breakdown", {"property": "event:page", "limit": "1001"}, "limit"),
    ("breakdown", {"property": "event:page", "page": "0"}, "page"),
    ("breakdown", {"property": "event:page", "period": "custom", "date": "2026-10-01,2026-11-23",
                   "filters": "visit:device==Desktop;event:page!=/x"}, "period"),
    ("realtime", {"period": "day"}, "period"),
]  # fmt: skip


@pytest.mark.parametrize(("endpoint", "query", "parameter"), BAD)
def test_bad_v1_queries_are_400s_naming_the_parameter(
    board: Board, endpoint: str, query: dict[str, str], parameter: str
) -> None:
    response = v1(board, endpoint, **query)
    assert response.status == 400, response.body
    assert response.json()["parameter"] == parameter and response.json()["error"], response.body
