"""``POST /api/v2/query`` through the dashboard app (Lambda events, as API Gateway sends them)
against moto: Bearer tokens (a viewer reads only its site, the admin any), Plausible's request
and response shape, 400s naming the field (and the raw-scan bound), and corpus queries over
HTTP equal to the oracle's answers."""

import json
from collections.abc import Iterator
from typing import Any

import pytest

from dashboard import runtime
from tests.support import query_corpus
from tests.support.dashboard_harness import Board, make_board, mint_token
from tests.support.jobs import tally_job
from tests.unit.test_exactness import START, settle

LATER = START + 4 * 86400  # everything sealed
DAY = ["2026-11-23", "2026-11-23"]


@pytest.fixture
def board(aws: None, boto: Any) -> Iterator[Board]:
    made = make_board(boto)
    made.clock[0] = LATER
    yield made
    runtime.reset()


@pytest.fixture
def settled(board: Board) -> Board:
    settle(board.proc, 3, 120, LATER)
    return board


def post(board: Board, body: Any, token: str | None = None, raw: bytes | None = None) -> Any:
    headers = {"Content-Type": "application/json"}
    if token != "":
        headers["Authorization"] = f"Bearer {token or board.admin_token()}"
    data = raw if raw is not None else json.dumps(body).encode()
    return board.request("POST", "/api/v2/query", body=data, headers=headers)


def viewer(site: str) -> str:
    return mint_token("read", site)


def test_corpus_queries_over_http_equal_the_oracle(settled: Board) -> None:
    copies, goals = settled.proc.stored_copies(), settled.proc.sites.by_id("shop").goals
    chosen = query_corpus.corpus()[::7]  # every path: totals, each dimension, time, filters, scans
    paths = set()
    for body in chosen:
        response = post(settled, body)
        assert response.status == 200, (body, response.body[:300])
        answer = response.json()
        assert set(answer) == {"results", "meta", "query"}
        query_corpus.assert_as_oracle(copies, body, answer, "UTC", goals)
        paths.add(answer["meta"]["tally"]["answered_from"])
    assert len(chosen) >= 20 and paths == {"aggregates", "raw events"}


def test_plausible_shape_with_pagination_and_includes(settled: Board) -> None:
    body = {"site_id": "shop", "metrics": ["visitors", "pageviews"], "date_range": DAY,
            "dimensions": ["event:page"], "order_by": [["pageviews", "desc"]],
            "pagination": {"limit": 2, "offset": 0}, "include": {"total_rows": True}}  # fmt: skip
    answer = post(settled, body).json()
    assert len(answer["results"]) == 2 and answer["meta"]["total_rows"] >= 2
    first, second = answer["results"]
    assert isinstance(first["dimensions"][0], str) and first["metrics"][1] >= second["metrics"][1]
    echo = answer["query"]
    assert echo["site_id"] == "shop" and echo["metrics"] == ["visitors", "pageviews"]
    assert echo["date_range"][0].startswith("2026-11-23T00:00:00") and echo["pagination"] == {"limit": 2, "offset": 0}
    later = post(settled, {**body, "pagination": {"limit": 2, "offset": 2}}).json()
    assert not {r["dimensions"][0] for r in later["results"]} & {r["dimensions"][0] for r in answer["results"]}


def test_a_viewer_token_reads_its_site_only_and_the_admin_any(board: Board) -> None:
    board.proc.pipeline.process([tally_job("e1")])
    body = {"site_id": "shop", "metrics": ["pageviews"], "date_range": DAY}
    assert post(board, body, viewer("shop")).status == 200
    refused = post(board, body, viewer("other"))
    assert refused.status == 403 and refused.json()["error"] == "forbidden"
    assert post(board, body, "").status == 401
    assert post(board, body, "t.YWRtaW4.9999999999.x.sig").status == 401
    missing = post(board, {**body, "site_id": "nosuch"})
    assert missing.status == 400 and missing.json()["parameter"] == "site_id"
    # A viewer of another site learns nothing, not even whether the site exists.
    assert post(board, {**body, "site_id": "nosuch"}, viewer("other")).status == 403


BAD = [
    ({"metrics": ["pageviews"], "date_range": "7d"}, "site_id"),
    ({"site_id": "shop", "date_range": "7d"}, "metrics"),
    ({"site_id": "shop", "metrics": ["clicks"], "date_range": "7d"}, "metrics"),
    ({"site_id": "shop", "metrics": ["pageviews"], "date_range": "fortnight"}, "date_range"),
    ({"site_id": "shop", "metrics": ["pageviews"], "date_range": ["2026-11-24", "2026-11-23"]}, "date_range"),
    ({"site_id": "shop", "metrics": ["pageviews"], "date_range": "7d", "dimensions": ["event:colour"]}, "dimensions"),
    ({"site_id": "shop", "metrics": ["pageviews"], "date_range": "7d", "filters": [["near", "event:page", ["/"]]]},
     "filters"),
    ({"site_id": "shop", "metrics": ["pageviews"], "date_range": "7d", "pagination": {"limit": 0}}, "pagination"),
    ({"site_id": "shop", "metrics": ["pageviews"], "date_range": "7d", "order_by": [["visits", "desc"]]}, "order_by"),
    ({"site_id": "shop", "metrics": ["pageviews"], "date_range": "7d", "colour": 1}, "colour"),
    ([1], "body"),
]  # fmt: skip


@pytest.mark.parametrize(("body", "field"), BAD)
def test_bad_queries_are_400s_naming_the_field(board: Board, body: Any, field: str) -> None:
    response = post(board, body)
    assert response.status == 400, response.body
    assert response.json()["parameter"] == field and response.json()["error"]


def test_bodies_that_are_not_json_or_too_big_are_400s(board: Board) -> None:
    for raw in (b"{", b"\xff", b"[" * 5000 + b"]" * 5000, b'{"site_id": "' + b"s" * 20000 + b'"}'):
        response = post(board, None, raw=raw)
        assert response.status == 400 and response.json()["parameter"] == "body", raw[:20]


def test_a_scan_past_its_bound_is_a_400_naming_it(board: Board) -> None:
    body = {"site_id": "shop", "metrics": ["visitors"], "date_range": ["2026-10-01", "2026-11-23"],
            "dimensions": ["event:page", "visit:device"]}  # fmt: skip
    response = post(board, body)
    assert response.status == 400, response.body
    found = response.json()
    assert found["parameter"] == "date_range" and found["bound"] == "exceeded"
    assert "at most 8 UTC days" in found["error"]
