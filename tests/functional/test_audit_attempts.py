"""Issue 18: what the audit tried and failed at, kept failing. Token forgery, a cross-site read,
path traversal and a secret in the logs, against moto. (Stored XSS, in Chromium:
tests/e2e/test_dashboard_xss_browser.py.)"""

import base64
import hashlib
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from dashboard import runtime
from dashboard.auth import Authenticator, new_admin
from tally_contract.sites import create
from tests.support.dashboard_harness import Board, cookie_value, make_board
from tests.support.ingest_harness import Ingest

EVIL = "https://evil.example"


@pytest.fixture
def board(aws: None, boto: Any) -> Iterator[Board]:
    yield make_board(boto)
    runtime.reset()


def b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def test_forged_tokens_and_cookies_get_nowhere(board: Board) -> None:
    viewer = board.token("read", "shop")
    prefix, token_id, secret = viewer.split(".")
    session = cookie_value(board.login(), "tally_session")
    sealed_elsewhere = Authenticator(new_admin()[1]).seal("s", "x" * 43)  # signed with a key not the stage's
    forgeries = {
        "another id, the same secret": f"{prefix}.{'f' * 16}.{secret}",
        "the id, another secret": f"{prefix}.{token_id}.{secret[::-1]}",
        "the secret's digest as the secret": f"{prefix}.{token_id}.{hashlib.sha256(secret.encode()).hexdigest()}",
        "the old signed format": f"t.{b64('admin')}.9999999999.x.none",
        "a cookie signed by another key": sealed_elsewhere,
        "session cookie as a token": session,
        "unsigned": f"t.{b64('admin')}.9999999999.x.",
    }
    for name, forged in forgeries.items():
        response = board.request("GET", "/admin/health", headers={"Authorization": f"Bearer {forged}"})
        assert response.status == 401, name
        if forged != session:
            as_cookie = board.request("GET", "/admin/health", headers={"Cookie": f"tally_session={forged}"})
            assert as_cookie.status == 401, name
    # An API token is not a session cookie either; nor is a site's secret key a token.
    assert board.request("GET", "/stats/sites", headers={"Cookie": f"tally_session={viewer}"}).status == 401
    secret_key = create("shop").secret_key
    assert board.request("GET", "/stats/sites", headers={"Authorization": f"Bearer {secret_key}"}).status == 401
    # A viewer mints nothing.
    mint = {"Authorization": f"Bearer {viewer}", "Content-Type": "application/json"}
    assert board.request("POST", "/admin/tokens", body=b'{"site": "shop"}', headers=mint).status == 403
    ok = board.request("GET", "/stats/sites", headers={"Authorization": f"Bearer {viewer}"})
    assert ok.status == 200 and ok.json()["sites"] == ["shop"]


def test_another_site_cannot_read_the_api_with_the_admins_cookie(board: Board) -> None:
    session = board.session()
    for path, query in [("/stats/sites", None), ("/api/v1/stats/aggregate", {"site_id": "shop"}), ("/admin/dlq", None)]:
        response = board.request("GET", path, query=query, headers={"Cookie": session["Cookie"], "Origin": EVIL})
        # Answered (a browser sends a SameSite=Strict cookie only from Tally's own pages), but
        # never with CORS headers: the foreign page cannot read the body.
        assert not any(name.startswith("access-control-") for name in response.headers), response.headers
        preflight = board.request("OPTIONS", path, headers={"Origin": EVIL, "Access-Control-Request-Method": "GET"})
        assert preflight.status in (403, 405) and "access-control-allow-origin" not in preflight.headers
    cookie = board.login().headers["set-cookie"]
    assert cookie.count("SameSite=Strict") == cookie.count("tally_") and "HttpOnly" in cookie
    page = board.request("GET", "/dashboard", headers={"Cookie": session["Cookie"]})
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]  # no clickjacking frame either


@pytest.mark.parametrize(
    "name",
    ["../auth.py", "..%2Fauth.py", "%2e%2e%2fauth.py", "..\\auth.py", "/etc/passwd", "app.js%00.py", "app.js/..",
     "APP.JS", "index.html", "login.html", "static", ".", "", "__init__.py", "app.js?x=1", "app.js\x00"],
)  # fmt: skip
def test_static_assets_are_a_fixed_list_no_path_walks_out(board: Board, name: str) -> None:
    response = board.request("GET", "/dashboard/static/" + name)
    assert response.status == 404, name
    assert b"import " not in response.body and b"root:" not in response.body


def test_no_secret_reaches_a_log_line(
    board: Board, ingest: Ingest, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    # Tally's own loggers at their most verbose; the SDK's at INFO (its DEBUG prints every
    # response body, and is off on Lambda: the runtime's root logger is at WARNING).
    caplog.set_level(logging.INFO)
    for name in ("ingest", "dashboard", "processor", "tally", "tally-dashboard"):
        caplog.set_level(logging.DEBUG, logger=name)
    secrets = [board.password, ingest.secret]
    # The ingest with the secret key (right and wrong), the dashboard's logins, tokens, sessions.
    ingest.post({"url": "https://shop.example.com/", "ip": "198.51.100.4"},
                headers={"Origin": None, "Authorization": f"Bearer {ingest.secret}"})  # fmt: skip
    wrong = {"Origin": None, "Authorization": "Bearer sk_wrong_guess"}
    ingest.post({"url": "https://shop.example.com/"}, headers=wrong)
    secrets.append("sk_wrong_guess")
    board.login("a-wrong-password-guess")
    secrets.append("a-wrong-password-guess")
    signed_in = board.login(source_ip="198.51.100.9")
    secrets += [cookie_value(signed_in, "tally_session"), cookie_value(signed_in, "tally_device")]
    board.clock[0] += 2  # past the failed login's backoff
    session = board.session()
    minted = board.request("POST", "/admin/tokens", body=json.dumps({"site": "shop"}).encode(),
                           headers={**session, "Content-Type": "application/json"})  # fmt: skip
    token = minted.json()["token"]
    secrets += [token, session["X-CSRF-Token"], session["Cookie"].split("=", 1)[1]]
    board.get("/stats/sites", token)
    board.request("GET", "/stats/sites", headers={"Authorization": f"Bearer {token}x"})  # a refused one too
    record = board.ssm.get_parameter(Name="/tally/test/admin", WithDecryption=True)["Parameter"]["Value"]
    secrets += [json.loads(record)["key"], json.loads(record)["hash"]]
    written = caplog.text + "".join(capsys.readouterr())
    assert "request refused" in written  # the ingest's refusals were logged, naming no secret
    for secret in secrets:
        assert secret not in written, f"a secret reached the logs: {secret[:6]}..."
