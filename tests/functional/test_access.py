"""Who may do what, against moto: a viewer (a named user's session, a read token) reads its own
sites only, through every route the dashboard app has (new ones included: the routes are read
from the app) and whatever site or filter it names; revoked tokens and removed users fail on
their next request; cookie sessions need the CSRF token for every change; the login backoff
holds for named users as for the admin password."""

import dataclasses
import json
from collections.abc import Iterator
from typing import Any

import pytest

from dashboard import runtime
from tests.support.dashboard_harness import Board, cookie_value, make_board
from tests.support.jobs import tally_job
from tests.support.processor_harness import SHOP

SECRET_PAGE = "https://other.example.com/only-for-other-eyes"
MARKER = "only-for-other-eyes"
QUERY = {"site": "other", "site_id": "other", "from": "2026-11-23T00", "to": "2026-11-23T23", "granularity": "h",
         "by": "page", "limit": "10", "page": SECRET_PAGE, "name": "pageview"}  # fmt: skip
BODY = {"site": "other", "site_id": "other", "sites": ["other"], "metrics": ["pageviews", "visitors"],
        "date_range": "all", "dimensions": ["event:page"], "filters": [["is", "event:page", [SECRET_PAGE]]],
        "name": "x", "scope": "read", "role": "viewer", "limit": 5}  # fmt: skip


@pytest.fixture
def board(aws: None, boto: Any) -> Iterator[Board]:
    board = make_board(boto)
    board.proc.sites.put(dataclasses.replace(SHOP, site_id="other", write_key="wk_other"))
    other = json.loads(tally_job("o1", url=SECRET_PAGE))  # the same job, for site "other"
    other["args"][0]["site"] = "other"
    board.proc.pipeline.process([tally_job("s1"), json.dumps(other)])
    yield board
    runtime.reset()


def every_route() -> list[tuple[str, str]]:
    from dashboard_app.app import app

    return sorted((method, path) for path, entries in app.routes.items() for method in entries)


def viewers(board: Board) -> dict[str, dict[str, str]]:
    session = board.session(name="vic", password=board.user("vic", "viewer", "shop"))
    return {"token": {"Authorization": f"Bearer {board.token('read', 'shop')}"}, "session": session}


def test_the_marker_is_there_for_the_admin(board: Board) -> None:
    """The sweep below would pass vacuously if the other site's page were not readable at all."""
    top = board.get("/api/v1/stats/breakdown", site_id="other", property="event:page", period="day", date="2026-11-23")
    assert top.status == 200 and MARKER in top.body.decode(), top.body


@pytest.mark.parametrize("who", ["token", "session"])
def test_a_viewer_reads_no_other_site_through_any_route(board: Board, who: str) -> None:
    headers = viewers(board)[who]
    before = (runtime.get().accounts().tokens(), runtime.get().accounts().users(), board.proc.sites.by_id("other"))
    for method, path in every_route():
        concrete = path.replace("{name}", "app.js")
        for name in ("{site}", "{token_id}", "{name}"):
            concrete = concrete.replace(name, "other")
        body = json.dumps(BODY).encode() if method in ("POST", "PATCH") else None
        sent = {**headers, **({"Content-Type": "application/json"} if body else {})}
        response = board.request(method, concrete, query=QUERY, headers=sent, body=body)
        assert MARKER not in response.body.decode("utf-8", "replace"), (method, path, response.status)
        if path.startswith("/admin/"):
            assert response.status == 403, (method, path, response.status)  # CSRF header or not
        elif path.startswith(("/stats/", "/api/v1/stats/", "/api/export/")) and path != "/stats/sites":
            assert response.status == 403, (method, path, response.status)
    assert board.request("GET", "/stats/sites", headers=headers).json()["sites"] == ["shop"]
    assert board.request("GET", "/api/v1/sites", headers=headers).json()["sites"] == [
        {"domain": "shop", "timezone": "UTC"}
    ]
    after = (runtime.get().accounts().tokens(), runtime.get().accounts().users(), board.proc.sites.by_id("other"))
    assert after == before  # nothing a viewer sent changed a thing


def test_a_revoked_token_fails_on_its_next_request(board: Board) -> None:
    admin = {**board.session(), "Content-Type": "application/json"}
    made = board.request("POST", "/admin/tokens", body=b'{"name": "ci", "sites": ["shop"]}', headers=admin).json()
    kept = board.token("read", "shop")
    assert board.get("/stats/sites", made["token"]).status == 200
    listed = board.request("GET", "/admin/tokens", headers=admin).json()["tokens"]
    assert made["id"] in [t["id"] for t in listed] and all("token" not in t and "digest" not in t for t in listed)
    without_csrf = {"Cookie": admin["Cookie"]}
    assert board.request("DELETE", f"/admin/tokens/{made['id']}", headers=without_csrf).status == 403
    assert board.request("DELETE", f"/admin/tokens/{made['id']}", headers=admin).status == 200
    assert board.get("/stats/sites", made["token"]).status == 401  # no cache: the very next request
    assert board.get("/stats/sites", kept).status == 200  # revoked one by one
    assert board.request("DELETE", f"/admin/tokens/{made['id']}", headers=admin).status == 404


def test_a_removed_user_or_narrowed_viewer_holds_on_the_next_request(board: Board) -> None:
    admin = {**board.session(), "Content-Type": "application/json"}
    vic = board.session(name="vic", password=board.user("vic", "viewer", "shop", "other"))
    assert board.request("GET", "/stats/sites", headers=vic).json()["sites"] == ["other", "shop"]
    narrowed = board.request("PATCH", "/admin/users/vic", body=b'{"sites": ["shop"]}', headers=admin)
    assert narrowed.status == 200, narrowed.body
    assert board.request("GET", "/stats/sites", headers=vic).json()["sites"] == ["shop"]
    assert board.request("GET", "/api/v1/stats/aggregate", query={**QUERY}, headers=vic).status == 403
    assert board.request("DELETE", "/admin/users/vic", headers=admin).status == 200
    assert board.request("GET", "/stats/sites", headers=vic).status == 401


def test_site_changes_need_an_admin_and_the_csrf_token(board: Board) -> None:
    session = board.session()
    json_type = {"Content-Type": "application/json"}
    cookie_only = {"Cookie": session["Cookie"], **json_type}
    changes = [("POST", "/admin/sites", b'{"site": "blog"}'), ("DELETE", "/admin/sites/other", None),
               ("PATCH", "/admin/sites/shop", b'{"timezone": "Asia/Tokyo"}')]  # fmt: skip
    for method, path, body in changes:
        assert board.request(method, path, body=body, headers=cookie_only).status == 403, path
        wrong = {**cookie_only, "X-CSRF-Token": "x" * 43}
        assert board.request(method, path, body=body, headers=wrong).status == 403, path
    done = [board.request(method, path, body=body, headers={**session, **json_type}) for method, path, body in changes]
    assert [r.status for r in done] == [201, 202, 200], [r.body for r in done]
    assert done[2].json()["timezone"] == "Asia/Tokyo" and "secret_hash" not in done[2].json()
    bad = board.request(
        "PATCH", "/admin/sites/shop", body=b'{"timezone": "Nowhere/Land"}', headers={**session, **json_type}
    )
    assert bad.status == 400 and bad.json()["parameter"] == "timezone"
    # A named admin's session is an admin's: the same rules.
    ann = board.session(name="ann", password=board.user("ann", "admin"))
    assert board.request("DELETE", "/admin/sites/blog", headers={"Cookie": ann["Cookie"]}).status == 403
    assert board.request("DELETE", "/admin/sites/blog", headers=ann).status == 202
    assert board.get("/stats/sites").json()["sites"] == ["shop"]


def test_the_login_backoff_holds_for_named_users(board: Board) -> None:
    board.user("vic", "viewer", "shop")
    first = board.login(name="vic", password="wrong password!", source_ip="198.51.100.40")
    assert first.status == 401
    again = board.login(name="vic", password="correct horse battery", source_ip="198.51.100.40")
    assert again.status == 429 and int(again.headers["retry-after"]) >= 1  # even the right one waits
    unknown = board.login(name="nobody", password="whatever it is", source_ip="198.51.100.41")
    assert unknown.status == 401 and b"Wrong name, password or token" in unknown.body
    assert board.login(name="vic", password="correct horse battery", source_ip="198.51.100.42").status == 303


def test_an_invitation_link_works_once_and_sets_the_users_own_password(board: Board) -> None:
    admin = {**board.session(), "Content-Type": "application/json"}
    invited = board.request("POST", "/admin/users", body=b'{"name": "Wen", "sites": ["shop"]}', headers=admin)
    assert invited.status == 201 and invited.json()["active"] is False, invited.body
    code = invited.json()["invitation"].split("code=", 1)[1]
    form = board.request("GET", "/dashboard/invite", query={"code": code})
    assert form.status == 200 and "wen" in form.body.decode()
    fields = {"code": code, "name": "wen", "password": "my own long secret", "confirm": "my own long secret"}
    accepted = board.post_form("/dashboard/invite", form, fields)
    assert accepted.status == 303 and cookie_value(accepted, "tally_session")
    replay = board.post_form("/dashboard/invite", board.request("GET", "/dashboard/login"), fields)
    assert replay.status == 404
    assert board.request("GET", "/dashboard/invite", query={"code": code}).status == 404
    # A wrong code counts as a failed attempt (codes cannot be guessed at speed): another address.
    assert board.login(name="wen", password="my own long secret").status == 429
    assert board.login(name="wen", password="my own long secret", source_ip="198.51.100.50").status == 303
