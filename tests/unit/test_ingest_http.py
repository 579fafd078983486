"""POST /events through the API Gateway event shape: every status the endpoint can answer."""

import gzip
import ipaddress
import json
import re
import zlib

import pytest

from tally_contract.privacy import visitor_id
from tally_contract.queues.memory_queue import MemoryQueue
from tests.support.ingest_harness import NOW, ORIGIN, Ingest

EVENT = {"url": "https://shop.example.com/pricing", "referrer": "https://news.example.net/x"}
UA = "Mozilla/5.0 (X11; Linux x86_64) Firefox/130.0"


def test_single_event_is_queued_as_a_sidekiq_job(ingest: Ingest) -> None:
    response = ingest.post({**EVENT, "properties": {"plan": "pro"}}, headers={"User-Agent": UA})
    assert response.status == 202
    body = response.json()
    assert body["accepted"] == 1 and re.fullmatch(r"[0-9a-f-]{36}", body["event_id"])
    (job,) = ingest.jobs()
    assert job.job_class == "ProcessRequestJob" and job.queue == "default"
    assert re.fullmatch(r"[0-9a-f]{24}", job.jid)
    assert job.payload["correlation_id"]
    event = job.arguments[0]
    assert event == {
        "event_id": body["event_id"],
        "site": "shop",
        "name": "pageview",
        "url": EVENT["url"],
        "referrer": EVENT["referrer"],
        "time": None,
        "sent_at": None,
        "received_at": "2026-11-23T13:20:00.000Z",
        "event_time": "2026-11-23T13:20:00.000Z",
        "ip": "203.0.113.0",  # the site's IP handling (truncate), applied before queueing
        "user_agent": UA,
        "properties": {"plan": "pro"},
        # From the whole address, before truncation, with the day's salt (the processor's function).
        "visitor_id": visitor_id("shop", ipaddress.ip_address("203.0.113.9"), UA, ingest.salt("2026-11-23")),
    }
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert response.headers["cache-control"].startswith("no-store")


def test_text_plain_beacon_body_is_accepted(ingest: Ingest) -> None:
    response = ingest.post(EVENT, headers={"Content-Type": "text/plain;charset=UTF-8"})
    assert response.status == 202


def test_text_shaped_event_without_base64_is_accepted(ingest: Ingest) -> None:
    assert ingest.post(EVENT, binary=False).status == 202


def test_no_accept_header_still_gets_json(ingest: Ingest) -> None:
    response = ingest.post(EVENT, headers={"Accept": None})
    assert response.status == 202 and response.json()["accepted"] == 1


@pytest.mark.parametrize(
    "encoding, compress",
    [
        ("gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", lambda data: zlib.compress(data)[2:-4]),  # raw deflate, as some clients send
    ],
)
def test_compressed_bodies(ingest: Ingest, encoding: str, compress: object) -> None:
    body = compress(json.dumps({"batch": [EVENT, EVENT]}).encode())  # type: ignore[operator]
    response = ingest.post(body, headers={"Content-Encoding": encoding})
    assert response.status == 202, response.body
    assert response.json()["accepted"] == 2


def test_event_id_and_client_times_with_skew_correction(ingest: Ingest) -> None:
    # The client's clock is 1 hour fast: it says the event happened 10 s before it sent it.
    event = {
        **EVENT,
        "event_id": "6F9619FF-8B86-D011-B42D-00C04FC964FF",
        "time": "2026-11-23T14:19:50Z",
        "sent_at": "2026-11-23T14:20:00Z",
    }
    assert ingest.post(event).status == 202
    stored = ingest.events()[0]
    assert stored["event_id"] == "6f9619ff-8b86-d011-b42d-00c04fc964ff"
    assert stored["time"] == "2026-11-23T14:19:50.000Z"
    assert stored["event_time"] == "2026-11-23T13:19:50.000Z"


def test_a_time_ahead_within_the_clock_skew_allowance_is_clamped(ingest: Ingest) -> None:
    assert ingest.post({**EVENT, "time": NOW + 290}).status == 202
    assert ingest.events()[0]["event_time"] == "2026-11-23T13:20:00.000Z"


def test_batch_answers_per_event_and_queues_the_valid_ones(ingest: Ingest) -> None:
    batch = [EVENT, {"name": "signup", "properties": {"plan": ["a"]}}, {"name": "signup"}, "nope"]
    response = ingest.post({"batch": batch})
    assert response.status == 207
    body = response.json()
    assert body["accepted"] == 2
    assert [(r["index"], r["error"], r.get("field")) for r in body["rejected"]] == [
        (1, "invalid_event", "properties.plan"),
        (3, "invalid_event", "event"),
    ]
    assert [e["name"] for e in ingest.events()] == ["pageview", "signup"]


def test_batch_level_sent_at_applies_to_each_event(ingest: Ingest) -> None:
    batch = {"sent_at": "2026-11-23T13:20:10Z", "batch": [{**EVENT, "time": "2026-11-23T13:20:05Z"}]}
    assert ingest.post(batch).status == 202
    assert ingest.events()[0]["event_time"] == "2026-11-23T13:19:55.000Z"


def test_write_key_in_header_or_body(ingest: Ingest) -> None:
    assert ingest.post(EVENT, key=None, headers={"X-Tally-Key": ingest.site.write_key}).status == 202
    assert ingest.post({**EVENT, "key": ingest.site.write_key}, key=None).status == 202
    assert len(ingest.jobs()) == 2


def test_server_sender_with_secret_may_set_ip_and_user_agent(ingest: Ingest) -> None:
    event = {**EVENT, "ip": "198.51.100.4", "user_agent": "Rails/7"}
    response = ingest.post(event, headers={"Origin": None, "Authorization": f"Bearer {ingest.secret}"})
    assert response.status == 202
    assert (ingest.events()[0]["ip"], ingest.events()[0]["user_agent"]) == ("198.51.100.0", "Rails/7")


def test_browser_may_not_set_ip(ingest: Ingest) -> None:
    response = ingest.post({**EVENT, "ip": "198.51.100.4"})
    assert response.status == 422 and response.json()["field"] == "ip"


@pytest.mark.parametrize(
    "body, field, fragment",
    [
        (b'{"url": "https://a.example/",}', None, "line 1 column 30"),
        (b'{"url": ', None, "malformed JSON"),
        (b"\xff\xfe{}", None, "not valid UTF-8 (byte 0)"),
        (b"", None, "empty"),
        (b"[" * 100_000, None, "nested too deeply"),
        (b'{"url": "https://a.example/", "properties": {"n": NaN}}', None, "NaN"),
        (b'{"n": ' + b"9" * 5000 + b"}", None, "malformed JSON"),
        (gzip.compress(b'{"url": 1}')[:-6], "Content-Encoding:gzip", "truncated"),
    ],
)
def test_400_malformed_bodies_say_where(ingest: Ingest, body: bytes, field: str | None, fragment: str) -> None:
    headers = {"Content-Encoding": "gzip"} if field else {}
    response = ingest.post(body, headers=headers)
    assert response.status == 400, response.body
    assert response.json()["error"] == "malformed_body"
    assert fragment in response.json()["message"]


def test_401_missing_and_unknown_keys(ingest: Ingest) -> None:
    missing = ingest.post(EVENT, key=None)
    unknown = ingest.post(EVENT, key="wk_nope")
    wrong_secret = ingest.post(EVENT, headers={"Authorization": "Bearer sk_wrong"})
    assert [r.status for r in (missing, unknown, wrong_secret)] == [401, 401, 401]
    assert missing.json()["field"] == "key" and wrong_secret.json()["field"] == "Authorization"
    assert ingest.jobs() == []


def test_403_origin_not_allowed_and_subdomain_wildcard(ingest: Ingest) -> None:
    refused = ingest.post(EVENT, headers={"Origin": "https://evil.example.net"})
    assert refused.status == 403 and refused.json()["field"] == "Origin"
    assert "access-control-allow-origin" not in refused.headers
    assert ingest.post(EVENT, headers={"Origin": "https://blog.example.org"}).status == 202


def test_413_limits_after_decompression(ingest: Ingest) -> None:
    big_event = {**EVENT, "properties": {f"k{i}": "x" * 1000 for i in range(40)}}
    assert ingest.post(big_event).status == 413
    too_many = ingest.post({"batch": [EVENT] * 101})
    assert too_many.status == 413 and too_many.json()["field"] == "batch"
    bomb = gzip.compress(b'{"batch": [' + b" " * 50_000_000 + b"]}")
    response = ingest.post(bomb, headers={"Content-Encoding": "gzip"})
    assert response.status == 413 and "decompressed" in response.json()["message"]
    assert ingest.jobs() == []


def test_413_oversized_event_inside_a_batch_is_rejected_alone(ingest: Ingest) -> None:
    big = {**EVENT, "properties": {f"k{i}": "x" * 1000 for i in range(40)}}
    response = ingest.post({"batch": [EVENT, big]})
    assert response.status == 207
    assert response.json()["rejected"] == [
        {"index": 1, "error": "too_large", "message": response.json()["rejected"][0]["message"], "field": "event"}
    ]


def test_415_unsupported_encoding_and_type(ingest: Ingest) -> None:
    br = ingest.post(b"\x00", headers={"Content-Encoding": "br"})
    form = ingest.post(b"a=b", headers={"Content-Type": "multipart/form-data; boundary=x"})
    assert (br.status, br.json()["field"]) == (415, "Content-Encoding")
    assert (form.status, form.json()["field"]) == (415, "Content-Type")


@pytest.mark.parametrize(
    "event, field",
    [
        ({"name": "pageview"}, "url"),
        ({"url": "not a url"}, "url"),
        ({**EVENT, "referrer": 5}, "referrer"),
        ({**EVENT, "time": "yesterday"}, "time"),
        ({**EVENT, "sent_at": True}, "sent_at"),
        ({**EVENT, "event_id": "has spaces"}, "event_id"),
        ({**EVENT, "name": ""}, "name"),
        ({**EVENT, "name": "x" * 201}, "name"),
        ({**EVENT, "properties": []}, "properties"),
        ({**EVENT, "properties": {str(i): i for i in range(51)}}, "properties"),
        ({**EVENT, "properties": {"big": 2**60}}, "properties.big"),
        ({**EVENT, "properties": {"s": "\ud800"}}, "properties.s"),
        ({**EVENT, "nmae": "typo"}, "nmae"),
    ],
)
def test_422_names_the_field(ingest: Ingest, event: dict[str, object], field: str) -> None:
    response = ingest.post(event)
    assert response.status == 422, response.body
    assert response.json()["field"] == field
    assert response.json()["error"] == "invalid_event"


def test_429_with_retry_after_when_the_site_is_over_its_rate() -> None:
    from ingest_lambda import runtime
    from tests.support.ingest_harness import make_ingest

    harness = make_ingest(rate_limit=5)
    try:
        statuses = [harness.post(EVENT).status for _ in range(12)]
        assert statuses[:10] == [202] * 10 and statuses[10:] == [429, 429]
        refused = harness.post(EVENT)
        assert refused.headers["retry-after"] == "1" and refused.json()["error"] == "rate_limited"
        harness.now[0] += 1  # one second refills five tokens
        assert [harness.post(EVENT).status for _ in range(6)] == [202] * 5 + [429]
    finally:
        runtime.reset()


def test_503_with_retry_after_when_the_queue_refuses(ingest: Ingest) -> None:
    assert isinstance(ingest.queue, MemoryQueue)
    ingest.queue.available = False
    single = ingest.post(EVENT)
    batch = ingest.post({"batch": [EVENT, {"url": "bad"}]})
    assert single.status == 503 and single.headers["retry-after"] == "5"
    assert batch.status == 503 and batch.json()["accepted"] == 0
    assert [r["error"] for r in batch.json()["rejected"]] == ["queue_unavailable", "invalid_event"]


def test_unexpected_failure_is_a_500_without_a_trace(ingest: Ingest) -> None:
    class Broken(MemoryQueue):
        def push(self, queue, payloads):  # type: ignore[no-untyped-def]
            raise ZeroDivisionError("secret detail")

    from ingest_lambda import runtime

    runtime.get().queue = Broken()
    response = ingest.post(EVENT)
    assert response.status == 500
    assert b"secret detail" not in response.body and b"Traceback" not in response.body


def test_wrong_method_is_405(ingest: Ingest) -> None:
    assert ingest.request("DELETE", "/events").status == 405
