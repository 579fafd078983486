"""Each client's API through the app as Lambda runs it (API Gateway events, in-memory queue):
what every wire format maps to, its answers and errors, and the queue outage that alone is a
5xx. The real SDKs and trackers run against `tally up` in tests/e2e/."""

import base64
import gzip
import json
from typing import Any
from urllib.parse import quote

import pytest

from tally_contract.queues.memory_queue import MemoryQueue
from tests.support.ingest_harness import ORIGIN, Ingest, make_ingest

JSON = {"Content-Type": "application/json", "Accept": "*/*"}


@pytest.fixture
def shop() -> Ingest:
    return make_ingest(domain="shop.example.com")


def basic(user: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:".encode()).decode()}


def call(ingest: Ingest, path: str, body: Any, headers: dict[str, str] | None = None, **kwargs: Any) -> Any:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return ingest.request("POST", path, body=data, headers={**JSON, **(headers or {})}, **kwargs)


# Forms and query strings


def test_a_form_post_is_an_event_with_rails_style_nesting(shop: Ingest) -> None:
    body = b"url=https%3A%2F%2Fshop.example.com%2Fa&name=signup&properties[plan]=pro&time=1795439990"
    response = shop.request("POST", "/events", body=body, query={"key": shop.site.write_key},
                            headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "*/*"})  # fmt: skip
    assert response.status == 202, response.body
    (event,) = shop.events()
    assert (event["name"], event["properties"]) == ("signup", {"plan": "pro"})
    assert event["time"] == "2026-11-23T13:19:50.000Z"


def test_form_batches_and_errors_name_the_field(shop: Ingest) -> None:
    form = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "*/*"}
    key = {"key": shop.site.write_key}
    batch = b"batch[0][url]=https://shop.example.com/a&batch[1][url]=https://shop.example.com/b&batch[1][bogus]=1"
    response = shop.request("POST", "/events", body=batch, headers=form, query=key)
    assert response.status == 207 and response.json()["rejected"][0]["field"] == "bogus"
    deep = shop.request("POST", "/events", body=b"properties[a][b][c][d]=1", headers=form, query=key)
    assert deep.status == 400 and "nested deeper" in deep.json()["message"]
    many = shop.request("POST", "/events", body="&".join(f"p{i}=1" for i in range(1001)).encode(), headers=form,
                        query=key)  # fmt: skip
    assert many.status == 413
    binary = shop.request("POST", "/events", body=b"url=\xff", headers=form, query=key)
    assert binary.status == 400 and "UTF-8" in binary.json()["message"]
    other = shop.request("POST", "/events", body=b"x", headers={**form, "Content-Type": "multipart/form-data"},
                         query=key)  # fmt: skip
    assert other.status == 415 and other.json()["field"] == "Content-Type"


def test_the_pixel_reads_nested_properties_and_ignores_cache_busters(shop: Ingest) -> None:
    query = {"key": shop.site.write_key, "url": "https://shop.example.com/p", "properties[plan]": "pro", "_": "17"}
    response = shop.request("GET", "/i.gif", headers={"Accept": "*/*"}, query=query)
    assert response.status == 202 and response.body.startswith(b"GIF89a")
    old_style = {**query, "properties": '{"seats": 3}'}
    del old_style["properties[plan]"]
    assert shop.request("GET", "/i.gif", headers={"Accept": "*/*"}, query=old_style).status == 202
    assert [e["properties"] for e in shop.events()] == [{"plan": "pro"}, {"seats": 3}]


# Segment and RudderStack


def test_segment_batch_maps_every_call(shop: Ingest) -> None:
    context = {"page": {"url": "https://shop.example.com/p?x=1", "referrer": "https://news.example.net/"},
               "campaign": {"source": "news", "name": "fall"}, "ip": "192.0.2.1", "userAgent": "Forged"}  # fmt: skip
    batch = [
        {"type": "track", "event": "signup", "userId": "u", "messageId": "ajs-1", "properties": {"a": {"b": 1}},
         "context": context, "timestamp": "2026-11-23T13:19:00Z"},
        {"type": "page", "anonymousId": "anon", "name": "Home", "properties": {"url": "https://shop.example.com/"}},
        {"type": "identify", "userId": "u", "traits": {"email": "a@b.c"}},
        {"type": "alias", "userId": "u", "previousId": "anon"},
        {"type": "group", "userId": "u", "groupId": 42},
        {"type": "screen", "userId": "u", "name": "Settings"},
    ]  # fmt: skip
    response = call(shop, "/v1/batch", {"batch": batch, "sentAt": "2026-11-23T13:19:30Z"}, basic(shop.site.write_key))
    assert (response.status, response.json()) == (200, {"success": True})
    track, page, identify, alias, group, screen = shop.events()
    assert track["event_id"] == "ajs-1" and track["user_id"] == "u" and track["properties"] == {"a.b": 1}
    assert track["url"] == "https://shop.example.com/p?utm_source=news&utm_campaign=fall"  # x=1 is not kept
    assert track["event_time"] == "2026-11-23T13:19:30.000Z"  # 13:20 received, sent 30 s after it happened
    assert track["ip"] == "203.0.113.0" and track["user_agent"] is None  # a write key cannot set them
    assert (page["name"], page["anonymous_id"], page["properties"]) == ("pageview", "anon", {"name": "Home"})
    assert identify["name"] == "identify" and identify["properties"] == {}  # traits are not kept
    assert alias["properties"] == {"previous_id": "anon"} and group["properties"] == {"group_id": "42"}
    assert screen["name"] == "screen" and screen["properties"] == {"name": "Settings"}


def test_segment_server_sender_and_single_calls(shop: Ingest) -> None:
    secret = basic(f"{shop.site.write_key}:{shop.secret}")
    message = {"event": "paid", "userId": "u", "context": {"ip": "192.0.2.1", "userAgent": "Server/1"}}
    assert call(shop, "/v1/track", message, secret).status == 200
    body_key = call(shop, "/v1/track", {**message, "writeKey": f"{shop.site.write_key}:{shop.secret}"})
    assert body_key.status == 200
    assert [(e["ip"], e["user_agent"]) for e in shop.events()] == [("192.0.2.0", "Server/1")] * 2
    wrong = call(shop, "/v1/track", message, basic(f"{shop.site.write_key}:sk_wrong"))
    assert wrong.status == 401 and wrong.json()["field"] == "Authorization"


def test_segment_refusals_are_4xx_naming_the_field_and_a_queue_outage_503(shop: Ingest) -> None:
    auth = basic(shop.site.write_key)
    assert call(shop, "/v1/track", {"userId": "u"}, auth).json()["field"] == "event"
    partial = call(shop, "/v1/batch", {"batch": [{"type": "track", "event": "ok"}, {"type": "nope"}]}, auth)
    assert partial.status == 422 and partial.json()["accepted"] == 1 and partial.json()["code"] == "invalid_event"
    assert call(shop, "/v1/batch", {"batch": [{"type": "track", "event": "x"}] * 101}, auth).status == 413
    huge = {"type": "track", "event": "x", "properties": {"blob": "x" * 33_000}}
    assert call(shop, "/v1/batch", {"batch": [huge]}, auth).json()["rejected"][0]["field"] == "event"
    over = gzip.compress(json.dumps({"batch": [{"type": "track", "event": "x" * 30_000}] * 18}).encode())
    assert call(shop, "/v1/batch", over, {**auth, "Content-Encoding": "gzip"}).status == 413  # 500 KB after gunzip
    assert call(shop, "/v1/teleport", {}, auth).status == 404
    assert call(shop, "/v1/track", {"event": "x"}).json()["field"] == "writeKey"
    assert isinstance(shop.queue, MemoryQueue)
    shop.queue.available = False
    down = call(shop, "/v1/track", {"event": "x", "userId": "u"}, auth)
    assert down.status == 503 and down.headers["retry-after"] == "5" and down.json()["code"] == "queue_unavailable"


# PostHog


def test_posthog_wire_formats(shop: Ingest) -> None:
    key = shop.site.write_key
    event = {"event": "$pageview", "distinct_id": "d", "uuid": "0192a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b",
             "properties": {"$current_url": "https://shop.example.com/x", "$device_id": "d", "token": key,
                            "$referrer": "$direct", "utm_source": None, "plan": "pro"}}  # fmt: skip
    raw = json.dumps([event]).encode()
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    forms = [
        ("/e", gzip.compress(raw), {"Content-Type": "text/plain"}, {"compression": "gzip-js"}),
        ("/i/v0/e", b"data=" + quote(base64.b64encode(raw)).encode(), form, None),
        ("/e", b"data=" + quote(raw).encode(), form, None),
        ("/batch", json.dumps({"api_key": key, "batch": [event]}).encode(), {}, None),
        ("/capture", json.dumps({**event, "api_key": key}).encode(), {"Content-Encoding": "gzip"}, None),
    ]
    for path, body, headers, query in forms:
        if headers.get("Content-Encoding"):
            body = gzip.compress(body)
        response = call(shop, path, body, headers, query=query)
        assert (response.status, response.json()) == (200, {"status": 1}), (path, response.body)
    events = shop.events()
    assert len(events) == len(forms)
    assert {(e["name"], e["url"], e["referrer"], e["anonymous_id"], e.get("user_id")) for e in events} == {
        ("pageview", "https://shop.example.com/x", None, "d", None)
    }
    assert events[0]["properties"] == {"plan": "pro"} and events[0]["event_id"] == event["uuid"]


def test_posthog_names_identity_and_errors(shop: Ingest) -> None:
    props = {"token": shop.site.write_key, "$current_url": "https://shop.example.com/"}
    batch = [
        {"event": "$identify", "distinct_id": "user-1", "properties": {**props, "$anon_distinct_id": "anon-1"}},
        {"event": "$pageleave", "distinct_id": "user-1",
         "properties": {**props, "$device_id": "anon-1", "$prev_pageview_max_scroll_percentage": 0.5,
                        "$prev_pageview_duration": 2.5}},
        {"event": "$autocapture", "distinct_id": "anon-1",
         "properties": {**props, "$device_id": "anon-1", "$event_type": "click",
                        "$elements_chain": 'button.buy:attr__href="/go"nth-child="1"text="Buy now";div'}},
    ]  # fmt: skip
    assert call(shop, "/e", batch).status == 200
    identify, leave, click = shop.events()
    assert (identify["user_id"], identify["anonymous_id"]) == ("user-1", "anon-1")
    assert leave["name"] == "engagement" and leave["properties"] == {"scroll_depth": 50, "engagement_ms": 2500}
    assert (leave["user_id"], click.get("user_id")) == ("user-1", None)
    assert click["properties"] == {"event_type": "click", "tag": "button", "text": "Buy now", "href": "/go"}
    assert call(shop, "/e", [{"distinct_id": "x", "properties": props}]).json()["field"] == "event"
    assert call(shop, "/e", [{"event": "x"}]).json()["field"] == "api_key"
    assert call(shop, "/e", b"data=%%%", {"Content-Type": "application/x-www-form-urlencoded"}).status == 400
    assert call(shop, "/e", [], {}).status == 422


def test_posthog_configuration_says_no_flags_no_recording(shop: Ingest) -> None:
    script = shop.request("GET", "/array/phc_<script>/config.js", headers={"Accept": "*/*", "Origin": ORIGIN})
    assert script.status == 200 and b"<script>" not in script.body and b'"sessionRecording":false' in script.body
    config = shop.request("GET", "/array/wk_x/config", headers={"Accept": "*/*"}).json()
    assert config["hasFeatureFlags"] is False and config["surveys"] is False and config["token"] == "wk_x"
    flags = call(shop, "/flags", {"token": "wk_x"}, query={"v": "2"}).json()
    assert flags["featureFlags"] == {} and flags["errorsWhileComputingFlags"] is False
    preflight = shop.request("OPTIONS", "/i/v0/e", headers={"Origin": ORIGIN, "Accept": "*/*"})
    assert preflight.status == 204 and preflight.headers["access-control-allow-origin"] == ORIGIN


# Plausible


def test_plausible_events_by_domain(shop: Ingest) -> None:
    tracker = {"n": "pageview", "u": "https://shop.example.com/a#/x", "d": "other.example, www.Shop.example.com",
               "r": "https://news.example.net/", "p": '{"plan":"pro"}',
               "$": {"amount": "9.99", "currency": "EUR"}}  # fmt: skip
    response = call(shop, "/api/event", tracker, {"Content-Type": "text/plain", "Origin": ORIGIN})
    assert (response.status, response.body) == (202, b"ok")
    documented = {"name": "engagement", "url": "https://shop.example.com/a#/x", "domain": "shop.example.com",
                  "hashMode": 1, "sd": 40, "e": 1200, "interactive": False}  # fmt: skip
    assert call(shop, "/api/event", documented).status == 202
    first, second = shop.events()
    assert first["url"] == "https://shop.example.com/a"  # no hash mode: the fragment is no page
    assert first["properties"] == {"plan": "pro", "revenue.amount": "9.99", "revenue.currency": "EUR"}
    assert second["url"] == "https://shop.example.com/a#/x"
    assert second["properties"] == {"scroll_depth": 40, "engagement_ms": 1200, "interactive": False}


def test_plausible_refusals_and_the_relay_that_sets_the_visitor(shop: Ingest) -> None:
    unknown = call(shop, "/api/event", {"n": "pageview", "u": "https://a.example/", "d": "a.example"})
    assert unknown.status == 401 and unknown.json()["errors"] == {"domain": ["no site has the domain 'a.example'"]}
    assert call(shop, "/api/event", {"n": "pageview", "d": "shop.example.com"}).json()["field"] == "url"
    assert call(shop, "/api/event", {"u": "https://shop.example.com/"}).json()["field"] == "domain"
    for garbage in (":\uda16\udd20\u00e6\t\u586e", "a b.example", "\udc00.example", "x" * 300):
        refused = call(shop, "/api/event", {"u": "https://shop.example.com/", "d": garbage})
        assert (refused.status, refused.json()["field"]) == (422, "domain"), garbage  # never looked up
    idn = {"n": "pageview", "u": "https://shop.example.com/", "d": "bücher.example, shop.example.com"}
    assert call(shop, "/api/event", idn).status == 202 and len(shop.events()) == 1  # a valid name, unknown: next
    shop.queue.messages.clear()  # type: ignore[attr-defined]
    foreign = call(shop, "/api/event", {"u": "https://shop.example.com/", "d": "shop.example.com"},
                   {"Origin": "https://evil.example"})  # fmt: skip
    assert foreign.status == 403 and foreign.json()["field"] == "Origin"
    relay = {"Authorization": f"Bearer {shop.secret}", "X-Forwarded-For": "192.0.2.44, 10.0.0.1", "User-Agent": "V/1"}
    assert call(shop, "/api/event", {"u": "https://shop.example.com/", "d": "shop.example.com"}, relay).status == 202
    forged = {"X-Forwarded-For": "192.0.2.99"}
    assert call(shop, "/api/event", {"u": "https://shop.example.com/", "d": "shop.example.com"}, forged).status == 202
    assert [(e["ip"], e["user_agent"]) for e in shop.events()] == [("192.0.2.0", "V/1"), ("203.0.113.0", None)]
