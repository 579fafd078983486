"""Issue 18, 500s on demand: what the audit sent, each once a 500 (and a page for the operator
through the stage's 5xx alarm), is now the 4xx it deserves. The same holds for any input:
tests/functional/test_dashboard_fuzz.py."""

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest

from dashboard import runtime
from tests.support.dashboard_harness import Board, cookie_value, make_board

NON_ASCII = ["é", "t.YWRtaW4.9999999999.x.sïg", "t.é.1.ü.ö", "\u2028", "😀" * 10, "t." + "é" * 5000]


@pytest.fixture
def board(aws: None, boto: Any) -> Iterator[Board]:
    yield make_board(boto)
    runtime.reset()


def viewer(board: Board) -> str:
    return board.token("read", "shop")


@pytest.mark.parametrize("token", NON_ASCII)
@pytest.mark.parametrize("path", ["/stats/sites", "/api/v1/stats/aggregate", "/admin/health"])
def test_a_non_ascii_bearer_token_is_a_401(board: Board, path: str, token: str) -> None:
    response = board.request("GET", path, query={"site": "shop"}, headers={"Authorization": f"Bearer {token}"})
    assert response.status == 401, response.body
    assert response.json()["error"] == "unauthorized"


@pytest.mark.parametrize("csrf", NON_ASCII)
def test_a_non_ascii_login_csrf_field_is_a_403(board: Board, csrf: str) -> None:
    form = board.request("GET", "/dashboard/login")
    nonce = cookie_value(form, "tally_login")
    body = urlencode({"csrf": csrf, "password": board.password}).encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": f"tally_login={nonce}"}
    response = board.request("POST", "/dashboard/login", body=body, headers=headers)
    assert response.status == 403, response.body
    assert "tally_session" not in response.headers.get("set-cookie", "")


@pytest.mark.parametrize("csrf", NON_ASCII)
def test_a_non_ascii_csrf_header_or_field_is_a_403(board: Board, csrf: str) -> None:
    session = board.session()
    headers = {"Cookie": session["Cookie"], "Content-Type": "application/json", "X-CSRF-Token": csrf}
    response = board.request("POST", "/admin/tokens", body=json.dumps({"site": "shop"}).encode(), headers=headers)
    assert response.status == 403, response.body
    form = {"Cookie": session["Cookie"], "Content-Type": "application/x-www-form-urlencoded"}
    response = board.request("POST", "/dashboard/logout", body=urlencode({"csrf": csrf}).encode(), headers=form)
    assert response.status == 403, response.body


@pytest.mark.parametrize(
    "query",
    [
        {"to": "0001-01-01"},
        {"to": "9999-12-31T23:59"},
        {"from": "0001-01-01", "to": "0001-01-02"},
        {"from": "9999-12-31", "to": "9999-12-31T23:59:59"},
        {"to": "1969-12-31"},
        {"to": "²⁰²⁶-11-23"},
    ],
)
def test_out_of_range_dates_are_a_400_naming_the_parameter(board: Board, query: dict[str, str]) -> None:
    params = {"site": "shop", **query}
    response = board.get("/stats/events", viewer(board), **params)
    assert response.status == 400, response.body
    assert response.json()["parameter"] in ("from", "to")


@pytest.mark.parametrize(
    ("period", "date"),
    [("7d", "0001-01-01"), ("12mo", "1970-01-05"), ("month", "9999-12-31"), ("day", "²⁰²⁶-11-23"),
     ("custom", "0001-01-01,0001-01-02"), ("custom", "2026-11-24,2026-11-23"), ("custom", "9998-12-31,9999-12-31")],
)  # fmt: skip
def test_out_of_range_v1_dates_are_a_400_naming_the_parameter(board: Board, period: str, date: str) -> None:
    for endpoint in ("aggregate", "timeseries", "breakdown"):
        query = {"site_id": "shop", "period": period, "date": date, "property": "event:page"}
        if endpoint != "breakdown":
            del query["property"]
        response = board.get(f"/api/v1/stats/{endpoint}", viewer(board), **query)
        assert response.status == 400, response.body
        assert response.json()["parameter"] in ("date", "period"), response.body


@pytest.mark.parametrize("value", ["²", "١٢", "9" * 5000, "-1", " 5", "1e3", "\uff15"])
def test_odd_numbers_are_a_400_naming_the_parameter(board: Board, value: str) -> None:
    response = board.get("/stats/events", viewer(board), site="shop", limit=value)
    assert response.status == 400 and response.json()["parameter"] == "limit", response.body
    response = board.get("/admin/dlq", None, limit=value)
    assert response.status == 400 and response.json()["parameter"] == "limit", response.body


@pytest.mark.parametrize("cursor", ["OTk5OS0xMi0zMVQyMzo1OQ", "MDAwMS0wMS0wMVQwMDowMA", "é", "%%%", "A" * 3000])
def test_odd_cursors_are_a_400(board: Board, cursor: str) -> None:
    # The first two are base64 of 9999-12-31T23:59 and 0001-01-01T00:00: well formed, out of range.
    response = board.get("/stats/events", viewer(board), site="shop", cursor=cursor)
    assert response.status == 400 and response.json()["parameter"] == "cursor", response.body


def test_deeply_nested_json_bodies_are_a_400(board: Board) -> None:
    headers = {"Authorization": f"Bearer {board.admin_token()}", "Content-Type": "application/json"}
    deep = b"[" * 2000 + b"]" * 2000
    for path in ("/admin/tokens", "/admin/dlq/redrive"):
        response = board.request("POST", path, body=deep, headers=headers)
        assert response.status == 400 and response.json()["parameter"] == "body", response.body
