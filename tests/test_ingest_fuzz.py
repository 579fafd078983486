"""Property test: whatever arrives, the handler answers below 500 and every event it
counts as accepted is on the queue (and nothing else is)."""

import gzip
import json
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tally_contract.privacy import DEFAULT_QUERY_PARAMS, keep_query
from tests.ingest_harness import ORIGIN, make_ingest

HARNESS = make_ingest()
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
