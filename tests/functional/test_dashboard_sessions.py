"""Issue 18, sessions that end, through the dashboard's routes against moto: logout ends the
session on the server, a session never outlives the viewer token that opened it, and the login
backoff is keyed so that neither a shared proxy address nor forged X-Forwarded-For entries let
a stranger bypass it or lock the admin out. (Parallel attempts: tests/unit/test_sessions.py and,
over HTTP against `tally up`, tests/e2e/test_login_backoff_up.py.)"""

import ipaddress
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest

from dashboard import runtime
from tests.support.dashboard_harness import Board, cookie_value, make_board

PROXY = "10.0.0.1"
ADMIN, ATTACKER = "198.51.100.7", "198.51.100.66"


@pytest.fixture
def board(aws: None, boto: Any) -> Iterator[Board]:
    yield make_board(boto)
    runtime.reset()


def login(board: Board, secret: dict[str, str], source_ip: str, headers: dict[str, str] | None = None) -> Any:
    form = board.request("GET", "/dashboard/login")
    nonce = cookie_value(form, "tally_login")
    csrf = form.body.decode().split('name="csrf" value="', 1)[1].split('"', 1)[0]
    cookie = "; ".join(filter(None, [f"tally_login={nonce}", (headers or {}).get("Cookie")]))
    sent = {**(headers or {}), "Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie}
    body = urlencode({"csrf": csrf, **secret}).encode()
    return board.request("POST", "/dashboard/login", body=body, headers=sent, source_ip=source_ip)


def test_logout_ends_the_session_on_the_server(board: Board) -> None:
    session = board.session()
    cookie = {"Cookie": session["Cookie"]}
    assert board.request("GET", "/stats/sites", headers=cookie).status == 200
    form = {**cookie, "Content-Type": "application/x-www-form-urlencoded"}
    out = board.request("POST", "/dashboard/logout", body=f"csrf={session['X-CSRF-Token']}".encode(), headers=form)
    assert out.status == 303 and "Max-Age=0" in out.headers["set-cookie"]
    # The old cookie, replayed: it reads nothing and mints nothing.
    assert board.request("GET", "/stats/sites", headers=cookie).status == 401
    mint = {**session, "Content-Type": "application/json"}
    assert board.request("POST", "/admin/tokens", body=b'{"site": "shop"}', headers=mint).status == 401
    assert board.request("GET", "/dashboard", headers=cookie).status == 303  # back to the login page


def test_a_session_ends_with_the_api_token_that_opened_it(board: Board) -> None:
    token = board.token("read", "shop", days=1)
    response = login(board, {"token": token}, ADMIN)
    assert response.status == 303
    cookie = {"Cookie": f"tally_session={cookie_value(response, 'tally_session')}"}
    assert board.request("GET", "/stats/sites", headers=cookie).json()["sites"] == ["shop"]
    token_id = token.split(".")[1]
    assert runtime.get().accounts().revoke(token_id)
    assert board.request("GET", "/stats/sites", headers=cookie).status == 401  # revoked: on the next request


def test_a_session_never_outlives_the_token_that_opened_it(board: Board) -> None:
    token = board.token("read", "shop", days=1)
    board.clock[0] += 86400 - 60  # a minute of the token left
    response = login(board, {"token": token}, ADMIN)
    assert response.status == 303 and "Max-Age=60;" in response.headers["set-cookie"]
    cookie = {"Cookie": f"tally_session={cookie_value(response, 'tally_session')}"}
    assert board.request("GET", "/stats/sites", headers=cookie).status == 200
    board.clock[0] += 61
    assert board.request("GET", "/stats/sites", headers=cookie).status == 401


def test_strangers_behind_the_admins_proxy_do_not_lock_the_admin_out(board: Board) -> None:
    runtime.get().trusted_proxies = (ipaddress.ip_network("10.0.0.0/8"),)
    for _ in range(2):
        refused = login(board, {"password": "guess"}, PROXY, {"X-Forwarded-For": ATTACKER})
        assert refused.status in (401, 429)
    assert login(board, {"password": board.password}, PROXY, {"X-Forwarded-For": ADMIN}).status == 303


def test_forged_forwarded_entries_do_not_bypass_the_backoff(board: Board) -> None:
    runtime.get().trusted_proxies = (ipaddress.ip_network("10.0.0.0/8"),)
    assert login(board, {"password": "guess"}, PROXY, {"X-Forwarded-For": f"203.0.113.1, {ATTACKER}"}).status == 401
    for forged in ("203.0.113.2", "10.9.9.9", ADMIN, ", ".join(["203.0.113.3"] * 40)):
        again = login(board, {"password": "guess"}, PROXY, {"X-Forwarded-For": f"{forged}, {ATTACKER}"})
        assert again.status == 429, forged
    # Nor does a forged header from a peer that is no trusted proxy: its own address is the key.
    direct = "198.51.100.77"
    assert login(board, {"password": "guess"}, direct, {"X-Forwarded-For": "203.0.113.4"}).status == 401
    assert login(board, {"password": "guess"}, direct, {"X-Forwarded-For": "203.0.113.5"}).status == 429


def test_the_admins_device_is_not_locked_out_from_a_shared_address(board: Board) -> None:
    signed_in = login(board, {"password": board.password}, ADMIN)
    assert signed_in.status == 303
    device = cookie_value(signed_in, "tally_device")
    assert "tally_device=" in signed_in.headers["set-cookie"] and "HttpOnly" in signed_in.headers["set-cookie"]
    # A stranger behind the same address (a shared NAT) fails, and fails again: backed off.
    assert login(board, {"password": "guess"}, ADMIN).status == 401
    assert login(board, {"password": "guess"}, ADMIN).status == 429
    # The admin's browser has its device cookie: its own key, not the address's.
    assert login(board, {"password": board.password}, ADMIN, {"Cookie": f"tally_device={device}"}).status == 303
    # A forged device cookie is the address again.
    forged = login(board, {"password": board.password}, ADMIN, {"Cookie": "tally_device=d.x.forged"})
    assert forged.status == 429


def test_a_viewer_token_login_gets_no_device_cookie(board: Board) -> None:
    token = board.token("read", "shop")
    response = login(board, {"token": token}, ADMIN)
    assert response.status == 303 and "tally_device" not in response.headers["set-cookie"]


def test_a_failed_login_names_no_secret_in_its_answer(board: Board) -> None:
    response = login(board, {"password": "hunter2-" + board.password[:4]}, ADMIN)
    assert response.status == 401
    assert b"hunter2" not in response.body and board.password.encode() not in response.body
    assert json.dumps(dict(response.headers)).find("hunter2") == -1
