"""Issue 18, no 5xx from any input: hypothesis over every route of the dashboard app (pages,
login, logout, assets, read API, admin API), unauthenticated and with each credential (admin
and viewer bearer tokens, an admin session with and without its CSRF token, forged ones), with
hostile query values, headers, cookies and bodies, against moto. Never a 5xx, never a trace.
(Over HTTP, against docs/openapi.yaml: tests/test_openapi.py.)"""

import json
from collections import Counter
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashboard import runtime
from tests.support.dashboard_harness import Board, make_board

ROUTES = [
    ("GET", "/dashboard"), ("GET", "/dashboard/login"), ("POST", "/dashboard/login"), ("POST", "/dashboard/logout"),
    ("GET", "/dashboard/static/app.js"), ("GET", "/dashboard/static/{name}"), ("GET", "/stats/sites"),
    ("GET", "/stats/events"), ("GET", "/admin/health"),
    ("GET", "/admin/dlq"), ("POST", "/admin/dlq/redrive"), ("GET", "/admin/tokens"), ("POST", "/admin/tokens"),
    ("DELETE", "/admin/tokens/{name}"), ("GET", "/dashboard/invite"),
    ("POST", "/dashboard/invite"), ("GET", "/admin/sites"), ("POST", "/admin/sites"), ("PATCH", "/admin/sites/{name}"),
    ("DELETE", "/admin/sites/{name}"), ("GET", "/admin/users"), ("POST", "/admin/users"),
    ("PATCH", "/admin/users/{name}"), ("DELETE", "/admin/users/{name}"), ("GET", "/admin/audit"),
    ("POST", "/api/v2/query"), ("GET", "/api/v1/stats/aggregate"), ("GET", "/api/v1/stats/timeseries"),
    ("GET", "/api/v1/stats/breakdown"), ("GET", "/api/v1/stats/realtime/visitors"), ("GET", "/api/v1/sites"),
    ("GET", "/api/export/csv"), ("GET", "/api/export/events"),
]  # fmt: skip
PARAMETERS = ["site", "from", "to", "limit", "cursor", "name", "page", "code", "site_id", "period", "date", "metrics",
              "filters", "property", "interval", "compare", "date_range"]  # fmt: skip
odd_text = st.one_of(
    st.text(max_size=30),
    st.text(st.characters(codec="utf-8"), max_size=30),
    st.sampled_from(["0001-01-01", "9999-12-31T23:59", "9999-12-31T23:59:59Z", "1970-01-01", "2026-11-23T13",
                     "2026-02-30", "²⁰²⁶-11-23", "shop", "../x", "m", "h", "d", "page", "os", "0", "²", "9" * 5000,
                     "-1", "1e3", "é", "\u2028", "OTk5OS0xMi0zMVQyMzo1OQ", "%00", "<script>", "t.é.1.ü.ö",
                     "custom", "7d", "2026-11-01,2026-11-23", "0001-01-01,9999-12-31", "event:page==/a|/b*;visit:os!=x",
                     "event:page~(", "event:props:plan", "visit:country", "visitors,bounce_rate", "previous_period"]),
)  # fmt: skip
json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | odd_text,
                           lambda inner: st.lists(inner, max_size=4) | st.dictionaries(odd_text, inner, max_size=3),
                           max_leaves=12)  # fmt: skip
QUERY_KEYS = {  # POST /api/v2/query: plausible keys with hostile values, or plausible values
    "site_id": st.one_of(st.sampled_from(["shop", "other", "nosuch"]), json_values),
    "metrics": st.one_of(st.lists(st.sampled_from(["visitors", "visits", "pageviews", "views_per_visit", "bounce_rate",
                                                   "visit_duration", "events", "conversion_rate", "percentage", "x"]),
                                  max_size=4), json_values),
    "date_range": st.one_of(st.sampled_from(["day", "7d", "all", "12mo", "month"]),
                            st.lists(odd_text, min_size=2, max_size=2), json_values),
    "dimensions": st.one_of(st.lists(st.sampled_from(["event:page", "visit:source", "time:day", "time:minute", "time",
                                                      "event:props:plan", "event:goal", "visit:country"]), max_size=3),
                            json_values),
    "filters": st.one_of(st.lists(st.tuples(st.sampled_from(["is", "is_not", "contains", "matches", "not", "or"]),
                                            st.sampled_from(["event:page", "visit:os", "event:goal"]),
                                            st.lists(odd_text, max_size=3)).map(list), max_size=3), json_values),
    "order_by": json_values, "include": json_values, "pagination": json_values, "extra": json_values,
}  # fmt: skip
queries = st.dictionaries(st.sampled_from(PARAMETERS), odd_text, max_size=6)
bodies = st.one_of(
    st.none(),
    st.binary(max_size=300),
    st.sampled_from([b"{}", b'{"site": "shop"}', b'{"limit": 5}', b'{"limit": "\xc3\xa9"}', b"[1]",
                     b'{"name": "x", "scope": "read", "sites": ["shop"]}', b'{"name": "x", "sites": [{}], "role": []}',
                     b'{"site": "new", "origins": ["https://a.example"], "goals": ["event:x"], "props": 5}',
                     b'{"retention_days": 1e400, "origins": [null], "ip_handling": {}}', b'{"role": "admin"}',
                     b'{"name": "\xc3\xa9\xc3\xa9", "role": "viewer", "sites": ["shop", "nope"]}',
                     b'{"expires_days": true, "name": "t", "scope": "admin"}',
                     b"[" * 3000 + b"]" * 3000, b'{"site": "' + "é".encode() * 40 + b'"}', b"csrf=%C3%A9&password=x",
                     b"csrf=\xff\xfe&token=t.x.1.y.z", b"password=" + b"p" * 4000]),
    st.builds(lambda q: json.dumps(q).encode(), st.fixed_dictionaries({}, optional=QUERY_KEYS)),
    st.text(max_size=200).map(str.encode),
)  # fmt: skip
CREDENTIALS = ["none", "admin", "viewer", "other-viewer", "session", "session+csrf", "user+csrf", "forged",
               "non-ascii", "cookie-junk"]  # fmt: skip
header_values = st.one_of(odd_text, st.sampled_from(["application/json", "application/x-www-form-urlencoded", "*/*"]))
extra_headers = st.dictionaries(
    st.sampled_from(["Accept", "X-Forwarded-For", "Origin", "X-CSRF-Token", "Cookie", "User-Agent", "Content-Type"]),
    header_values.filter(lambda v: "\n" not in v and "\r" not in v),
    max_size=4,
)
FORGED_TOKEN = "t.YWRtaW4.9999999999.bm9uY2U.c2lnbmF0dXJl"  # "admin", far-off expiry, made-up signature
statuses: Counter[int] = Counter()


@pytest.fixture(scope="module")
def board(aws_module: None) -> Iterator[Board]:
    import boto3

    made = make_board(boto3.session.Session(region_name="us-east-1"))
    yield made
    runtime.reset()
    print(f"\n[fuzz] dashboard routes: {sum(statuses.values())} requests, statuses {dict(sorted(statuses.items()))}")


@pytest.fixture(scope="module")
def aws_module() -> Iterator[None]:
    from moto import mock_aws

    from tally_contract import aws as aws_clients

    aws_clients.reset()
    with mock_aws():
        yield
    aws_clients.reset()


@pytest.fixture(scope="module")
def credentials(board: Board) -> dict[str, dict[str, str]]:
    session = board.session()
    user = board.session(name="fuzz", password=board.user("fuzz", "viewer", "shop"))
    return {
        "none": {},
        "admin": {"Authorization": f"Bearer {board.token('admin')}"},
        "viewer": {"Authorization": f"Bearer {board.token('read', 'shop')}"},
        "other-viewer": {"Authorization": f"Bearer {board.token('read', 'other')}"},
        "session": {"Cookie": session["Cookie"]},
        "session+csrf": session,
        "user+csrf": user,
        "forged": {"Authorization": f"Bearer {FORGED_TOKEN}", "Cookie": "tally_session=s.x.y"},
        "non-ascii": {"Authorization": "Bearer t.é.1.ü.ö", "Cookie": "tally_session=s.é.ü", "X-CSRF-Token": "é"},
        "cookie-junk": {"Cookie": 'tally_session="\\x"; tally_device=d.é.x; ;;=; tally_login=' + "x" * 3000},
    }


@settings(max_examples=1500, deadline=None, suppress_health_check=list(HealthCheck))
@given(route=st.sampled_from(ROUTES), credential=st.sampled_from(CREDENTIALS), query=queries, body=bodies,
       headers=extra_headers, static_name=odd_text)  # fmt: skip
def test_no_input_on_any_dashboard_route_is_a_5xx(
    board: Board, credentials: dict[str, dict[str, str]], route: tuple[str, str], credential: str,
    query: dict[str, str], body: bytes | None, headers: dict[str, str], static_name: str,
) -> None:  # fmt: skip
    method, path = route
    if "{name}" in path:
        path = path.replace("{name}", static_name.replace("/", "") or "x")
    # The content type each POST or PATCH route takes (others take none): anything else is a 415.
    json_or_form = "application/json" if path.startswith(("/admin", "/api")) else "application/x-www-form-urlencoded"
    kind = {} if method in ("GET", "DELETE") else {"Content-Type": json_or_form}
    sent = {**kind, **credentials[credential], **headers}
    response = board.request(method, path, query=query or None, headers=sent, body=body)
    statuses[response.status] += 1
    assert response.status < 500, (method, path, credential, query, response.body[:300])
    assert b"Traceback" not in response.body and b'File "' not in response.body
    if response.headers.get("content-type") == "application/json" and response.status >= 400:
        assert "error" in json.loads(response.body) or "Code" in json.loads(response.body)
