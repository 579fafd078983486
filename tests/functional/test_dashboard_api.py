"""The read API and the dashboard's auth, against moto: every endpoint, its bad parameters
(400 naming the parameter) and unauthenticated calls (401)."""

import json
from collections.abc import Iterator
from typing import Any, cast

import pytest

from dashboard import raw_events, runtime
from dashboard.auth import AdminRecord
from dashboard.web import ASSETS
from tally_store.dynamodb import DynamoDBStore
from tests.support.dashboard_harness import PARAMETER, Board, cookie_value, make_board
from tests.support.jobs import CHROME, tally_job
from tests.support.processor_harness import NOW, SHOP

LATER = NOW + 3 * 86400
DAY = {"site_id": "shop", "period": "day", "date": "2026-11-23"}
FIREFOX_PHONE = "Mozilla/5.0 (Android 14; Mobile; rv:132.0) Gecko/132.0 Firefox/132.0"

READS = [
    ("GET", "/stats/sites", None),
    ("GET", "/api/v1/stats/aggregate", DAY),
    ("GET", "/api/v1/stats/breakdown", {**DAY, "property": "event:page"}),
    ("GET", "/stats/events", {"site": "shop"}),
    ("GET", "/admin/health", None),
    ("GET", "/admin/dlq", None),
]


@pytest.fixture
def board(aws: None, boto: Any) -> Iterator[Board]:
    yield make_board(boto)
    runtime.reset()


@pytest.fixture
def traffic(board: Board) -> Board:
    """Three visits to /pricing (two visitors), one signup, one bot, at 13:18-13:19."""
    board.proc.pipeline.process(
        [
            tally_job("e1"),
            tally_job("e2", at="2026-11-23T13:18:40.000Z"),
            tally_job("e3", ip="198.51.100.7", ua=FIREFOX_PHONE, at="2026-11-23T13:19:10.000Z"),
            tally_job("e4", name="signup", at="2026-11-23T13:19:20.000Z"),
            tally_job("e5", ua="Googlebot/2.1 (+http://www.google.com/bot.html)", at="2026-11-23T13:19:30.000Z"),
        ]
    )
    return board


@pytest.mark.parametrize(("method", "path", "query"), READS)
def test_every_read_needs_credentials(board: Board, method: str, path: str, query: dict[str, str] | None) -> None:
    response = board.request(method, path, query=query)
    assert response.status == 401, response.body
    assert response.json()["error"] == "unauthorized" and response.headers["www-authenticate"] == "Bearer"
    forged = board.request(method, path, query=query, headers={"Authorization": "Bearer t.YWRtaW4.9999999999.x.sig"})
    assert forged.status == 401


@pytest.mark.parametrize("path", ["/admin/dlq/redrive", "/admin/tokens"])
def test_state_changes_need_credentials(board: Board, path: str) -> None:
    response = board.request("POST", path, body=b"{}", headers={"Content-Type": "application/json"})
    assert response.status == 401


def test_ingest_routes_stay_open_and_the_page_sends_strangers_to_login(board: Board) -> None:
    assert board.request("GET", "/health").status != 401
    page = board.request("GET", "/dashboard")
    assert page.status == 303 and page.headers["location"] == "dashboard/login"
    for name in ASSETS:  # every script the page loads, and its stylesheet
        assert board.request("GET", f"/dashboard/static/{name}").status == 200, name
    assert board.request("GET", "/dashboard/static/secrets.py").status == 404


def test_login_sets_a_strict_session_cookie_and_the_page_carries_csrf(board: Board) -> None:
    response = board.login()
    assert response.status == 303 and response.headers["location"] == "../dashboard"
    cookie = response.headers["set-cookie"]
    for attribute in ("HttpOnly", "Secure", "SameSite=Strict", "Path=/"):
        assert attribute in cookie
    session = cookie_value(response, "tally_session")
    page = board.request("GET", "/dashboard", headers={"Cookie": f"tally_session={session}"})
    assert page.status == 200 and b'name="csrf" content="' in page.body
    assert "script-src 'self'" in page.headers["content-security-policy"]
    sites = board.request("GET", "/stats/sites", headers={"Cookie": f"tally_session={session}"})
    assert sites.json()["sites"] == ["shop"]
    shop = sites.json()["site"]  # what the page reports the site in
    assert shop == {"id": "shop", "timezone": "UTC", "goals": list(SHOP.goals), "props": list(SHOP.props)}
    other = board.request("GET", "/stats/sites", query={"site": "nope"}, headers={"Cookie": f"tally_session={session}"})
    assert other.json().get("site") == shop, other.json()  # not a site of the caller's: the first one


def test_failed_logins_back_off_per_client(board: Board) -> None:
    assert board.login("wrong").status == 401
    throttled = board.login()  # even the right password waits out the backoff
    assert throttled.status == 429 and throttled.headers["retry-after"] == "1"
    assert board.login(source_ip="198.51.100.1").status == 303  # another client is not slowed
    board.clock[0] += 1.1
    assert board.login("wrong again").status == 401
    board.clock[0] += 1.1
    throttled = board.login()
    assert throttled.status == 429 and throttled.headers["retry-after"] == "1"  # the wait doubled to 2 s
    board.clock[0] += 1.0
    assert board.login().status == 303


def test_login_form_without_its_csrf_token_is_refused(board: Board) -> None:
    body = f"csrf=forged&password={board.password}".encode()
    response = board.request(
        "POST", "/dashboard/login", body=body,
        headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": "tally_login=abc"},
    )  # fmt: skip
    assert response.status == 403 and "tally_session" not in response.headers.get("set-cookie", "")


def test_cookie_requests_that_change_state_need_the_csrf_header(board: Board) -> None:
    session = board.session()
    body = json.dumps({"site": "shop"}).encode()
    without = {"Cookie": session["Cookie"], "Content-Type": "application/json"}
    assert board.request("POST", "/admin/tokens", body=body, headers=without).status == 403
    wrong = {**without, "X-CSRF-Token": "nope"}
    assert board.request("POST", "/admin/tokens", body=body, headers=wrong).status == 403
    ok = board.request("POST", "/admin/tokens", body=body, headers={**session, "Content-Type": "application/json"})
    assert ok.status == 201 and ok.json()["sites"] == ["shop"] and ok.json()["scope"] == "read"


def test_logout_needs_csrf_and_clears_the_session(board: Board) -> None:
    session = board.session()
    form = {"Cookie": session["Cookie"], "Content-Type": "application/x-www-form-urlencoded"}
    assert board.request("POST", "/dashboard/logout", body=b"csrf=bad", headers=form).status == 403
    out = board.request("POST", "/dashboard/logout", body=f"csrf={session['X-CSRF-Token']}".encode(), headers=form)
    assert out.status == 303 and "Max-Age=0" in out.headers["set-cookie"]


def test_a_viewer_token_sees_one_site_only(traffic: Board) -> None:
    minted = traffic.request(
        "POST", "/admin/tokens", body=b'{"site": "shop"}',
        headers={"Authorization": f"Bearer {traffic.admin_token()}", "Content-Type": "application/json"},
    )  # fmt: skip
    token = minted.json()["token"]
    assert traffic.get("/api/v1/stats/aggregate", token, **DAY).status == 200
    assert traffic.get("/stats/sites", token).json()["sites"] == ["shop"]
    other = traffic.get("/api/v1/stats/aggregate", token, **{**DAY, "site_id": "other"})
    assert other.status == 403 and "other" in other.json()["message"]
    assert traffic.get("/admin/health", token).status == 403
    assert traffic.get("/admin/dlq", token).status == 403


def test_rotating_the_admin_parameter_ends_old_sessions(board: Board) -> None:
    """A rotation ends every session (their cookies are signed with the record's key); API
    tokens are stored, not signed, and are revoked one by one instead."""
    token, session = board.admin_token(), board.session()
    assert board.get("/stats/sites", token).status == 200
    assert board.request("GET", "/stats/sites", headers=session).status == 200
    from dashboard.auth import provision_admin

    new_password = provision_admin(board.ssm, PARAMETER)
    stored = board.ssm.get_parameter(Name=PARAMETER, WithDecryption=True)["Parameter"]
    assert stored["Type"] == "SecureString" and new_password not in stored["Value"]
    AdminRecord.from_json(stored["Value"])
    runtime.get()._auth = None  # what the 5-minute record cache does on its own
    assert board.request("GET", "/stats/sites", headers=session).status == 401
    assert board.get("/stats/sites", token).status == 200
    assert board.login(new_password).status == 303


def test_no_parameter_means_no_way_in(board: Board) -> None:
    runtime.get().parameter = None
    runtime.get()._auth = None
    assert board.request("GET", "/stats/sites").status == 401
    assert board.request("GET", "/stats/sites", headers={"Authorization": "Bearer t.x.1.y.z"}).status == 401
    response = board.request("GET", "/stats/sites", headers={"Cookie": "tally_session=s.x.y"})
    assert response.status == 503 and "TALLY_ADMIN_PARAMETER" in response.json()["message"]
    assert board.request("GET", "/dashboard/login").status == 503


def test_live_counters_until_sealed_then_the_same_exact_values(traffic: Board) -> None:
    """What /stats/series showed, now through the engine: the bot in no number, live then sealed."""
    minutes = {"site_id": "shop", "metrics": ["pageviews", "events"], "dimensions": ["time:minute"],
               "date_range": ["2026-11-23T13:17:00Z", "2026-11-23T13:20:59Z"]}  # fmt: skip
    for _ in ("live", "sealed"):
        assert traffic.get("/api/v1/stats/aggregate", **DAY, metrics="visitors,pageviews,events").json() == {
            "results": {"visitors": {"value": 2}, "pageviews": {"value": 3}, "events": {"value": 4}}
        }
        rows = query_v2(traffic, minutes)["results"]
        assert [(r["dimensions"][0][-8:-3], *r["metrics"]) for r in rows] == [("13:18", 2, 2), ("13:19", 1, 2)]
        traffic.proc.rollup(at=LATER)


@pytest.mark.parametrize(
    ("filters", "views", "events"),
    [("event:name==signup", 0, 1), ("event:page==/pricing", 3, 4), ("visit:device==mobile", 1, 1),
     ("visit:browser==Chrome", 2, 3), ("visit:referrer==news.example.net", 3, 4), ("event:page==/nowhere", 0, 0),
     ("event:page==/pri*", 3, 4), ("visit:browser!=Chrome;event:page==/pricing", 1, 1)],
)  # fmt: skip
def test_v1_filters(traffic: Board, filters: str, views: int, events: int) -> None:
    body = traffic.get("/api/v1/stats/aggregate", **DAY, metrics="pageviews,events", filters=filters).json()
    assert body == {"results": {"pageviews": {"value": views}, "events": {"value": events}}}, body


def test_v1_breakdown_by_each_dimension(traffic: Board) -> None:
    def top(prop: str, **extra: str) -> list[tuple[Any, ...]]:
        response = traffic.get("/api/v1/stats/breakdown", **DAY, property=prop, metrics="pageviews,events", **extra)
        return [tuple(row.values()) for row in response.json()["results"]]

    assert top("event:page") == [("/pricing", 3, 4)]
    assert top("visit:browser") == [("Chrome", 2, 3), ("Firefox", 1, 1)]
    assert top("visit:device") == [("desktop", 2, 3), ("mobile", 1, 1)]
    assert top("event:name") == [("pageview", 3, 3), ("signup", 0, 1)]
    assert top("visit:referrer") == [("news.example.net", 3, 4)]
    assert top("visit:browser", limit="1") == [("Chrome", 2, 3)]
    assert top("visit:browser", limit="1", page="2") == [("Firefox", 1, 1)]
    assert top("visit:os") == [("Windows", 2, 3), ("Android", 1, 1)] and top("visit:utm_source") == [("news", 3, 4)]
    traffic.proc.rollup(at=LATER)
    days = traffic.get("/api/v1/stats/breakdown", **{**DAY, "period": "7d"}, property="visit:browser").json()
    assert days["results"] == [{"browser": "Chrome", "visitors": 1}, {"browser": "Firefox", "visitors": 1}]


def query_v2(board: Board, body: dict[str, Any], token: str | None = None) -> Any:
    headers = {"Authorization": f"Bearer {token or board.admin_token()}", "Content-Type": "application/json"}
    response = board.request("POST", "/api/v2/query", body=json.dumps(body).encode(), headers=headers)
    assert response.status == 200, response.body
    return response.json()


def test_raw_events_newest_first_across_shards_with_a_cursor(traffic: Board) -> None:
    window = {"site": "shop", "to": "2026-11-23T14:00", "from": "2026-11-23T10:00"}
    seen: list[str] = []
    cursor = None
    for _ in range(5):
        query = {**window, "limit": "2", **({"cursor": cursor} if cursor else {})}
        page = traffic.get("/stats/events", **query).json()
        seen += [event["event_id"] for event in page["events"]]
        cursor = page["cursor"]
        if cursor is None:
            break
    assert seen == ["e5", "e4", "e3", "e2", "e1"]
    first = traffic.get("/stats/events", **window, limit="1").json()["events"][0]
    assert first["event_time"] == "2026-11-23T13:19:30.000Z" and first["path"] == "/pricing"
    signups = traffic.get("/stats/events", **window, name="signup").json()
    assert [e["event_id"] for e in signups["events"]] == ["e4"] and signups["cursor"] is None
    assert traffic.get("/stats/events", **window, page="/other").json()["events"] == []


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ({"limit": "500"}, "limit"),
        ({"cursor": "!!!"}, "cursor"),
        ({"cursor": "MjAyNi0xMS0yM1QxM3h5eg"}, "cursor"),  # base64 of "2026-11-23T13xyz": an hour, no minute
        ({"from": "soon"}, "from"),
        ({"name": "n" * 600}, "name"),
    ],
)
def test_raw_events_bad_parameters(board: Board, query: dict[str, str], parameter: str) -> None:
    response = board.get("/stats/events", site="shop", **query)
    assert response.status == 400 and response.json()["parameter"] == parameter, response.body


def test_health_reports_queue_dlq_and_the_last_batch(traffic: Board) -> None:
    for body in ("a", "b", "c"):
        traffic.sqs.send_message(QueueUrl=traffic.queues["EventsQueue"], MessageBody=body)
    traffic.sqs.send_message(QueueUrl=traffic.queues["EventsDeadLetterQueue"], MessageBody="dead")
    health = traffic.get("/admin/health").json()
    assert health["backend"] == "sqs"
    assert health["queue"]["queued"] == 3 and health["queue"]["dead"] == 1
    assert health["queue"]["oldest_age_seconds"] is None  # CloudWatch has no datapoints in moto
    batch = health["last_batch"]
    assert batch["at"] == NOW and batch["size"] == 5
    assert batch["lag_seconds"] == pytest.approx(NOW - 1795439910.0)  # oldest event received 13:18:30
    assert health["rollup"] == {"seconds_ago": None, "planned": None, "oldest_unsealed_seconds": None}
    from processor_lambda.rollup_work import dispatch
    from tally_aggregates.rollup import Rollup

    # A run at 13:20:30 finds the 13:18 minute due since 13:20:00 (its end and 60 s of grace): 30 s of backlog.
    dispatch(Rollup(traffic.proc.store, clock=lambda: NOW + 30), None)
    rollup = traffic.get("/admin/health").json()["rollup"]
    assert rollup["oldest_unsealed_seconds"] == 30 and rollup["planned"] == 1


def test_dlq_inspect_and_redrive_keep_the_bytes(board: Board) -> None:
    bodies = [tally_job(f"d{i}", ua=CHROME + " é") for i in range(13)]
    for body in bodies:
        board.sqs.send_message(
            QueueUrl=board.queues["EventsDeadLetterQueue"], MessageBody=body,
            MessageAttributes={"error": {"DataType": "String", "StringValue": "boom"}},
        )  # fmt: skip
    peek = board.get("/admin/dlq", limit="3").json()["messages"]
    # Shown as the site stores it: these old jobs carry the raw IP, the panel its /24.
    assert len(peek) == 3 and all(m["error"] == "boom" and '"ip":"203.0.113.0"' in m["body"] for m in peek)
    assert all(m["body"].replace('"ip":"203.0.113.0"', '"ip":"203.0.113.9"') in bodies for m in peek)
    assert board.get("/admin/dlq", limit="11").status == 400
    session = board.session()
    moved = board.request("POST", "/admin/dlq/redrive", body=b'{"limit": 20}',
                          headers={**session, "Content-Type": "application/json"})  # fmt: skip
    assert moved.status == 200 and moved.json() == {"moved": 13, "failed": 0}
    received = []
    while True:
        batch = board.sqs.receive_message(QueueUrl=board.queues["EventsQueue"], MaxNumberOfMessages=10)
        if not batch.get("Messages"):
            break
        received += [m["Body"] for m in batch["Messages"]]
        for m in batch["Messages"]:
            board.sqs.delete_message(QueueUrl=board.queues["EventsQueue"], ReceiptHandle=m["ReceiptHandle"])
    assert sorted(received) == sorted(bodies)
    assert board.get("/admin/health").json()["queue"]["dead"] == 0


def test_redrive_rejects_a_bad_body(board: Board) -> None:
    headers = {"Authorization": f"Bearer {board.admin_token()}", "Content-Type": "application/json"}
    response = board.request("POST", "/admin/dlq/redrive", body=b"[1]", headers=headers)
    assert response.status == 400 and response.json()["parameter"] == "body"
    response = board.request("POST", "/admin/dlq/redrive", body=b'{"limit": 0}', headers=headers)
    assert response.status == 400 and response.json()["parameter"] == "limit"
    response = board.request("POST", "/admin/tokens", body=b'{"site": "../x"}', headers=headers)
    assert response.status == 400 and response.json()["parameter"] == "sites"


def test_tokens_expire_and_any_change_is_unknown(board: Board) -> None:
    token = board.token("read", "shop", days=1)
    assert board.get("/stats/sites", token).json()["sites"] == ["shop"]
    prefix, token_id, secret = token.split(".")
    for forged in (f"{prefix}.{token_id}.{secret[:-1]}x", f"{prefix}.{'0' * 16}.{secret}", f"t.{token_id}.{secret}",
                   f"{prefix}.{token_id}", token + ".x", token.upper()):  # fmt: skip
        assert board.get("/stats/sites", forged).status == 401, forged
    board.clock[0] += 86400
    assert board.get("/stats/sites", token).status == 401


def test_reads_stay_within_their_documented_bounds(traffic: Board) -> None:
    calls: list[tuple[str, str]] = []
    token = traffic.admin_token()
    traffic.proc.client.meta.events.register(
        "provide-client-params.dynamodb.*",
        lambda model, params, **_: calls.append((model.name, params.get("TableName", ""))),
    )
    bearer = [("GetItem", "tally-test-auth")]  # every bearer request reads its token's record
    # A v1 read is its v2 query: the same reads, whichever API asks (the site read once a minute).
    week = {"site_id": "shop", "metrics": ["visitors"], "date_range": ["2026-11-17", "2026-11-23"],
            "dimensions": ["event:page"]}  # fmt: skip
    query_v2(traffic, week, token)
    calls.clear()
    traffic.get("/api/v1/stats/breakdown", token, **{**DAY, "period": "7d"}, property="event:page")
    v1_calls = list(calls)
    calls.clear()
    query_v2(traffic, week, token)
    assert calls == v1_calls and "Scan" not in {name for name, _ in calls}
    calls.clear()
    empty_week = {"site": "shop", "from": "2026-11-01", "to": "2026-11-08"}  # nothing there: the widest call
    page = traffic.get("/stats/events", token, **empty_week).json()
    assert page["events"] == [] and page["cursor"] is not None  # the Query budget spent, more to go
    events_table = cast(DynamoDBStore, traffic.proc.store).events_table
    assert calls == bearer + [("Query", events_table)] * raw_events.MAX_WINDOWS * 4  # a window: one Query per shard
