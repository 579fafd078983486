"""Property test: whatever arrives, the handler answers below 500 and every event it
counts as accepted is on the queue (and nothing else is)."""

import base64
import gzip
import json
import zlib
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tally_contract.privacy import DEFAULT_QUERY_PARAMS, keep_query
from tests.support.ingest_harness import ORIGIN, make_ingest

HARNESS = make_ingest(domain="shop.example.com")
SITE_KEY = HARNESS.site.write_key

scalars = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=40)
)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)
field_values = st.one_of(
    json_values,
    st.sampled_from(["https://shop.example.com/a", "2026-11-23T13:00:00Z", "", "pageview", "signup"]),
    st.integers(min_value=-(2**60), max_value=2**60),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=80),
)
events = st.dictionaries(
    st.sampled_from(
        ["url", "name", "referrer", "time", "sent_at", "event_id", "properties", "ip", "user_agent", "key", "bogus"]
    ),
    field_values,
    max_size=8,
)
valid_events = st.fixed_dictionaries(
    {"url": st.sampled_from(["https://shop.example.com/a", "https://shop.example.com/b?q=1"])},
    optional={
        "name": st.text(min_size=1, max_size=30),
        "event_id": st.uuids().map(str),
        "time": st.integers(min_value=0, max_value=2**41),
        "sent_at": st.sampled_from(["2026-11-23T13:00:00Z", "2026-11-23T13:00:00.123+02:00"]),
        "referrer": st.sampled_from(["", "https://news.example.net/", None]),
        "properties": st.dictionaries(st.text(min_size=1, max_size=8), scalars, max_size=5),
    },
)
payloads = st.one_of(
    valid_events,
    events,
    st.fixed_dictionaries({"batch": st.lists(valid_events | events | json_values, max_size=6)}),
    json_values,
)


@st.composite
def bodies(draw: Any) -> tuple[bytes, str | None]:
    kind = draw(st.sampled_from(["json"] * 5 + ["bytes", "gzip-json", "gzip-json", "gzip-bytes"]))
    raw = json.dumps(draw(payloads)).encode() if "json" in kind else draw(st.binary(max_size=300))
    if kind.startswith("gzip"):
        return gzip.compress(raw), draw(st.sampled_from(["gzip", "gzip", "GZIP", "deflate", None]))
    return raw, draw(st.sampled_from([None, None, None, None, "identity", "br", "gzip", "x" * 50]))


headers_strategy = st.fixed_dictionaries(
    {},
    optional={
        "Content-Type": st.sampled_from(
            ["application/json", "text/plain;charset=UTF-8", "text/html", "", "application/x+json"]
        ),
        "Origin": st.sampled_from([ORIGIN, ORIGIN, "https://evil.example", "null", ""]) | st.text(max_size=20),
        "X-Tally-Key": st.sampled_from([SITE_KEY, SITE_KEY, "wk_nope", ""]) | st.text(max_size=20),
        "Authorization": st.sampled_from([f"Bearer {HARNESS.secret}", "Bearer sk_x", "Basic abc"])
        | st.text(max_size=20),
        "User-Agent": st.text(max_size=600),
        "X-Forwarded-For": st.text(max_size=40),
        "Accept": st.sampled_from(["*/*", "application/json", "image/gif"]),
    },
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=bodies(), headers=headers_strategy, key_in_query=st.booleans(), binary=st.booleans())
def test_no_5xx_and_no_accepted_event_left_unqueued(
    body: tuple[bytes, str | None], headers: dict[str, str], key_in_query: bool, binary: bool
) -> None:
    HARNESS.activate()
    raw, encoding = body
    if encoding is not None:
        headers = {**headers, "Content-Encoding": encoding}
    before = len(HARNESS.jobs())
    query = {"key": SITE_KEY} if key_in_query else None
    if not binary:
        raw = raw.decode("utf-8", "replace").encode("utf-8")
    response = HARNESS.request("POST", "/events", body=raw, headers=headers, query=query, binary=binary)
    assert response.status < 500, response.body
    event(f"status {response.status}")
    answer = response.json()
    queued = HARNESS.events()[before:]
    accepted = answer.get("accepted", 0)
    assert len(queued) == accepted
    if "event_id" in answer:
        assert [e["event_id"] for e in queued] == [answer["event_id"]]
    if response.status >= 400:
        assert accepted == 0 and ("error" in answer or answer.get("rejected"))
    assert b"Traceback" not in response.body


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batch=st.lists(valid_events | events, min_size=1, max_size=20), gzipped=st.booleans())
def test_well_formed_batches_queue_exactly_the_accepted_events(batch: list[Any], gzipped: bool) -> None:
    HARNESS.activate()
    raw = json.dumps({"batch": batch}).encode()
    headers = {"Content-Type": "text/plain", "Origin": ORIGIN, "X-Tally-Key": SITE_KEY}
    if gzipped:
        raw, headers = gzip.compress(raw), {**headers, "Content-Encoding": "gzip"}
    before = len(HARNESS.jobs())
    response = HARNESS.request("POST", "/events", body=raw, headers=headers)
    answer = response.json()
    event(f"status {response.status}")
    assert response.status in (202, 207, 413, 422), answer
    rejected = {r["index"] for r in answer["rejected"]}
    assert answer["accepted"] + len(rejected) == len(batch)
    queued = HARNESS.events()[before:]
    assert len(queued) == answer["accepted"]
    valid = [e for i, e in enumerate(batch) if i not in rejected]
    # Queued as stored: the query cut to the site's allowlist (?q=1 is not on it) before queueing.
    assert [q["url"] for q in queued] == [keep_query(e["url"], DEFAULT_QUERY_PARAMS) if e.get("url") else None
                                          for e in valid]  # fmt: skip


# The other clients' routes (ingest_lambda/clients/): their own shapes, filled with anything.
CLIENT_ROUTES = ["/v1/batch", "/v1/track", "/v1/page", "/v1/identify", "/v1/alias", "/v1/x", "/batch", "/capture",
                 "/e", "/i/v0/e", "/api/event", "/flags", "/decide"]  # fmt: skip
message = st.fixed_dictionaries(
    {},
    optional={
        "type": st.sampled_from(["track", "page", "screen", "identify", "group", "alias", "bogus"]) | field_values,
        "event": st.sampled_from(["signup", "$pageview", "$pageleave", "$autocapture", "$identify", ""]) | field_values,
        "userId": field_values, "anonymousId": field_values, "distinct_id": field_values, "messageId": field_values,
        "uuid": st.uuids().map(str) | field_values, "timestamp": field_values, "sentAt": field_values,
        "properties": json_values | st.dictionaries(st.sampled_from(["$current_url", "$device_id", "url", "token",
                                                                      "$elements_chain", "$ip", "plan"]),
                                                     field_values, max_size=5),
        "context": json_values | st.fixed_dictionaries({}, optional={"ip": field_values, "page": json_values,
                                                                     "campaign": json_values}),
        "n": field_values, "u": field_values, "d": st.sampled_from(["shop.example.com", "", "x"]) | field_values,
        "p": field_values, "$": field_values, "h": field_values, "name": field_values, "url": field_values,
        "domain": st.sampled_from(["shop.example.com"]) | field_values, "api_key": st.sampled_from([SITE_KEY]),
        "writeKey": st.sampled_from([SITE_KEY, f"{SITE_KEY}:{HARNESS.secret}", "wk_x"]) | field_values,
    },
)  # fmt: skip
client_payloads = st.one_of(
    message, st.lists(message, max_size=5), st.fixed_dictionaries({"batch": st.lists(message, max_size=5)}), json_values
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(route=st.sampled_from(CLIENT_ROUTES), payload=client_payloads, headers=headers_strategy,
       encoding=st.sampled_from([None, "gzip", "deflate", "br"]),
       compression=st.sampled_from([None, "gzip-js", "base64"]), basic_auth=st.booleans())  # fmt: skip
def test_client_routes_answer_below_500_and_queue_only_what_they_accept(
    route: str, payload: Any, headers: dict[str, str], encoding: str | None, compression: str | None, basic_auth: bool
) -> None:
    HARNESS.activate()
    if basic_auth:  # Segment's way to send the key; the others carry it in the body
        headers = {**headers, "Authorization": "Basic " + base64.b64encode(f"{SITE_KEY}:".encode()).decode()}
    raw = json.dumps(payload).encode()
    if compression == "base64":
        raw = b"data=" + base64.b64encode(raw)
        headers = {**headers, "Content-Type": "application/x-www-form-urlencoded"}
    elif compression == "gzip-js":
        raw = gzip.compress(raw)
    if encoding in ("gzip", "deflate"):
        raw = gzip.compress(raw) if encoding == "gzip" else zlib.compress(raw)
    if encoding is not None:
        headers = {**headers, "Content-Encoding": encoding}
    before = len(HARNESS.jobs())
    query = {"compression": compression} if compression else None
    response = HARNESS.request("POST", route, body=raw, headers=headers, query=query)
    assert response.status < 500, response.body
    assert b"Traceback" not in response.body
    event(f"{route} {response.status}")
    queued = len(HARNESS.jobs()) - before
    if response.status >= 400 and response.headers.get("content-type") == "application/json":
        answer = response.json()
        assert "error" in answer, answer
        assert queued == answer.get("accepted", 0)


properties = st.dictionaries(st.text(min_size=1, max_size=12), json_values, max_size=8)
PAGE = st.sampled_from(["https://shop.example.com/a?utm_source=x&t=1", "https://shop.example.com/#/b", "nope", ""])
segment_messages = st.fixed_dictionaries(
    {"type": st.sampled_from(["track", "page", "screen", "identify", "group", "alias"]), "userId": st.text(max_size=8),
     "event": st.text(max_size=10), "properties": properties},
    optional={"messageId": st.text(max_size=70), "context": st.fixed_dictionaries({"page": st.fixed_dictionaries(
        {"url": PAGE})}), "timestamp": field_values, "groupId": field_values, "previousId": field_values},
)  # fmt: skip
posthog_events = st.fixed_dictionaries(
    {"event": st.sampled_from(["$pageview", "$pageleave", "$autocapture", "$identify", "buy"]) | st.text(max_size=8),
     "distinct_id": st.text(max_size=8) | st.integers(),
     "properties": st.fixed_dictionaries({"token": st.just(SITE_KEY), "$current_url": PAGE}).flatmap(
         lambda fixed: properties.map(lambda extra: {**extra, **fixed}))},
    optional={"uuid": st.uuids().map(str) | st.text(max_size=40), "timestamp": field_values},
)  # fmt: skip
plausible_events = st.fixed_dictionaries(
    {"n": st.sampled_from(["pageview", "engagement", "signup"]) | st.text(max_size=8), "u": PAGE,
     "d": st.just("shop.example.com")},
    optional={"p": properties | st.text(max_size=20), "$": properties, "h": st.integers(0, 1), "r": field_values,
              "sd": field_values, "e": field_values},
)  # fmt: skip
ROUTED = st.one_of(
    st.tuples(st.just("/v1/batch"), st.lists(segment_messages, min_size=1, max_size=5).map(lambda b: {"batch": b})),
    st.tuples(st.sampled_from(["/e", "/i/v0/e", "/batch"]), st.lists(posthog_events, min_size=1, max_size=5)),
    st.tuples(st.just("/api/event"), plausible_events),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(routed=ROUTED, gzipped=st.booleans())
def test_client_routes_queue_exactly_what_they_accept(routed: tuple[str, Any], gzipped: bool) -> None:
    HARNESS.activate()
    route, payload = routed
    messages = payload["batch"] if isinstance(payload, dict) and "batch" in payload else payload
    count = len(messages) if isinstance(messages, list) else 1
    raw = json.dumps(payload).encode()
    headers = {"Content-Type": "application/json", "Origin": ORIGIN, "Accept": "*/*",
               "Authorization": "Basic " + base64.b64encode(f"{SITE_KEY}:".encode()).decode()}  # fmt: skip
    if gzipped:
        raw, headers = gzip.compress(raw), {**headers, "Content-Encoding": "gzip"}
    before = len(HARNESS.jobs())
    response = HARNESS.request("POST", route, body=raw, headers=headers)
    event(f"{route} {response.status}")
    assert response.status < 500, response.body
    queued = len(HARNESS.jobs()) - before
    if response.status < 300:
        assert queued == count  # a 2xx on these routes means every event was queued
    else:
        answer = response.json()
        assert "error" in answer and answer.get("field")  # the refusal names the field
        assert queued == answer.get("accepted", 0)
