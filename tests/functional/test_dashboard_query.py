"""POST /api/v2/query through the dashboard app (moto): the engine's answer with a session or a
bearer token, a viewer held to its own site, a bad query a 400 naming the field."""

import json
from collections.abc import Iterator
from typing import Any

import pytest

from dashboard import runtime
from tests.support.dashboard_harness import Board, cookie_value, make_board
from tests.support.jobs import tally_job


@pytest.fixture
def board(aws: None, boto: Any) -> Iterator[Board]:
    yield make_board(boto)
    runtime.reset()


def viewer(board: Board, site: str) -> str:
    headers = {"Authorization": f"Bearer {board.admin_token()}", "Content-Type": "application/json"}
    minted = board.request("POST", "/admin/tokens", body=json.dumps({"site": site}).encode(), headers=headers)
    token: str = minted.json()["token"]
    return token


def ask(board: Board, body: Any, headers: dict[str, str]) -> Any:
    return board.request("POST", "/api/v2/query", body=json.dumps(body).encode(),
                         headers={"Content-Type": "application/json", **headers})  # fmt: skip


def test_a_query_answers_in_plausibles_shape_for_the_sites_a_caller_may_read(board: Board) -> None:
    jobs = [tally_job(f"e{i}", url=f"https://shop.example.com/p{i % 2}", ip=f"198.51.100.{i}") for i in range(4)]
    board.proc.pipeline.process(jobs)
    session = {"Cookie": f"tally_session={cookie_value(board.login(), 'tally_session')}"}
    body = {
        "site_id": "shop",
        "metrics": ["visitors", "pageviews"],
        "date_range": ["2026-11-23", "2026-11-23"],
        "dimensions": ["event:page"],
    }
    answer = ask(board, body, session)
    assert answer.status == 200, answer.json()
    assert {tuple(r["dimensions"]): r["metrics"] for r in answer.json()["results"]} == {
        ("/p0",): [2, 2],
        ("/p1",): [2, 2],
    }
    assert set(answer.json()) == {"results", "meta", "query"}

    as_viewer = {"Authorization": f"Bearer {viewer(board, 'shop')}"}
    assert ask(board, body, as_viewer).status == 200
    refused = ask(board, {**body, "site_id": "other"}, as_viewer)
    assert refused.status == 403 and "other" in refused.json()["message"]
    bad = ask(board, {**body, "metrics": ["nope"]}, session)
    assert bad.status == 400 and bad.json()["parameter"] == "metrics", bad.json()
    assert ask(board, body, {}).status == 401
