"""Bad input over real HTTP (tests/support/local_pipeline.py: the app served on loopback, moto behind
it): what tests/unit/test_ingest_fuzz.py does in process, plus what only a socket can send. Zero
5xx, no stack trace in any answer, and bounded memory in the serving process."""

import base64
import gzip
import http.client
import json
import resource
import time
import tracemalloc
import zlib
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.faults.client import ORIGIN
from tests.support.local_pipeline import LocalPipeline, local_pipeline

pytestmark = pytest.mark.slow
MB = 1024 * 1024


@pytest.fixture(scope="module")
def local() -> Iterator[LocalPipeline]:
    with local_pipeline(ORIGIN) as pipeline:
        yield pipeline


def request(local: LocalPipeline, method: str, path: str, body: bytes | None = None,
            headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:  # fmt: skip
    port = int(local.api.rsplit(":", 1)[1])
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


@contextmanager
def traced() -> Iterator[list[float]]:
    """Peak Python heap (MB) above the starting point while the block runs, every thread
    counted (the server answers in this process); and the process's peak RSS growth."""
    tracemalloc.start()
    start, rss = tracemalloc.get_traced_memory()[0], peak_rss_mb()
    figures: list[float] = []
    try:
        yield figures
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        figures += [(peak - start) / MB, peak_rss_mb() - rss]


def sane(status: int, body: bytes) -> None:
    assert status < 500, body[:300]
    assert b"Traceback" not in body and b'File "' not in body


VALID = {"url": "https://shop.example.com/a", "name": "signup", "properties": {"plan": "pro"}}
json_text = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=15,
).map(lambda value: json.dumps(value, allow_nan=True).encode())


@st.composite
def hostile_bodies(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["json", "truncated", "utf8", "deep", "number", "unknown", "bytes", "gzip"]))
    valid = json.dumps({**VALID, "event_id": str(draw(st.uuids()))}).encode()
    if kind == "json":
        return draw(json_text)
    if kind == "truncated":
        return valid[: draw(st.integers(0, len(valid) - 1))]
    if kind == "utf8":
        at = draw(st.integers(0, len(valid)))
        return valid[:at] + draw(st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xf4\x90\x80\x80"])) + valid[at:]
    if kind == "deep":
        depth = draw(st.integers(100, 200_000))
        return b'{"url":"https://shop.example.com/a","properties":' + b"[" * depth + b"]" * depth + b"}"
    if kind == "number":
        number = draw(st.sampled_from([b"1e999999", b"-1e400", b"9" * 5000, b"1" + b"0" * 4299, b"1e-999999"]))
        return b'{"url":"https://shop.example.com/a","time":' + number + b"}"
    if kind == "unknown":
        key = draw(st.text(min_size=1, max_size=300))
        return json.dumps({**VALID, key: draw(st.integers())}).encode()
    if kind == "gzip":
        return gzip.compress(draw(json_text))[: draw(st.integers(1, 400))]
    return draw(st.binary(max_size=2000))


hostile_headers = st.fixed_dictionaries(
    {},
    optional={
        "Content-Type": st.sampled_from(["application/json", "text/plain", "multipart/form-data; boundary=x",
                                         "application/x-www-form-urlencoded", "application/json; charset=latin-1",
                                         "*/*", "\x7f"]),
        "Content-Encoding": st.sampled_from(["gzip", "deflate", "br", "identity", "gzip, gzip", ""]),
        "Origin": st.sampled_from([ORIGIN, "https://evil.example", "null", "https://shop.example.com.evil.example",
                                   "javascript:alert(1)", "https://" + "a" * 300]),
        "User-Agent": st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=8000),
        "X-Forwarded-For": st.sampled_from(["1.2.3.4", "::1, 10.0.0.1", "not-an-ip", "1.2.3.4" + ", 5.6.7.8" * 200]),
    },
)  # fmt: skip


# Every route that takes a body from a stranger: Tally's own and the other clients' APIs.
BODY_ROUTES = ["/events"] * 6 + ["/v1/batch", "/v1/track", "/batch/", "/capture/", "/e/?compression=gzip-js",
                                 "/i/v0/e/", "/api/event"]  # fmt: skip


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(body=hostile_bodies(), headers=hostile_headers, key=st.booleans(), path=st.sampled_from(BODY_ROUTES),
       method=st.sampled_from(["POST"] * 8 + ["PUT", "PATCH", "DELETE", "GET"]))  # fmt: skip
def test_hostile_requests_get_no_5xx(local: LocalPipeline, body: bytes, headers: dict[str, str], key: bool,
                                     path: str, method: str) -> None:  # fmt: skip
    if key:
        headers = {**headers, "X-Tally-Key": local.write_key}
    status, answer_headers, answer = request(local, method, path, body, headers)
    sane(status, answer)
    if method != "POST":
        assert status == 405
    elif status >= 400 and answer_headers.get("content-type") == "application/json":
        assert "error" in json.loads(answer), answer  # the refusal says what is wrong
    if headers.get("Origin") not in (None, ORIGIN):
        assert answer_headers.get("access-control-allow-origin") in (None, headers.get("Origin"))
        assert not (status < 300 and answer_headers.get("access-control-allow-origin")), "foreign origin accepted"


def test_out_of_range_numbers_are_422_naming_the_field(local: LocalPipeline) -> None:
    headers = {"X-Tally-Key": local.write_key, "Origin": ORIGIN}
    status, _, body = request(local, "POST", "/events", b'{"url":"https://shop.example.com/","time":1e999}', headers)
    assert status == 422 and json.loads(body)["field"] == "time"
    status, _, body = request(local, "POST", "/events", b'{"batch":[{"url":"https://shop.example.com/"}],'
                              b'"sent_at":-1e999}', headers)  # fmt: skip
    assert status == 422 and json.loads(body)["rejected"][0]["field"] == "sent_at"
    huge = b'{"url":"https://shop.example.com/","time":1' + b"0" * 4000 + b"}"
    status, _, body = request(local, "POST", "/events", huge, headers)
    assert status == 422 and json.loads(body)["field"] == "time"


def bomb(size: int) -> bytes:
    """gzip of ``size`` zero bytes, built a megabyte at a time (never holding ``size`` bytes)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    chunk = bytes(MB)
    return b"".join(packer.compress(chunk) for _ in range(size // MB)) + packer.flush()


def test_gzip_bomb_is_413_fast_with_bounded_memory(local: LocalPipeline) -> None:
    body = bomb(100 * MB)
    assert len(body) < 200 * 1024
    headers = {"X-Tally-Key": local.write_key, "Origin": ORIGIN, "Content-Encoding": "gzip"}
    started = time.perf_counter()
    with traced() as memory:
        for _ in range(5):
            status, _, answer = request(local, "POST", "/events", body, headers)
            assert status == 413, answer
            assert json.loads(answer)["error"] == "too_large"
    elapsed = (time.perf_counter() - started) / 5
    heap, rss = memory
    print(f"\n[bad input] gzip bomb: {len(body)} bytes -> 100 MB: 413 in {elapsed * 1000:.0f} ms, "
          f"peak heap +{heap:.1f} MB, peak RSS +{rss:.1f} MB")  # fmt: skip
    assert elapsed < 1.0
    assert heap < 8, f"the heap peaked {heap:.1f} MB above start for a bomb refused after 512 KiB"
    assert rss < 20


@pytest.mark.parametrize("path, extra", [("/v1/batch", {"Content-Encoding": "gzip"}), ("/e/?compression=gzip-js", {}),
                                         ("/api/event", {"Content-Encoding": "gzip"})])  # fmt: skip
def test_gzip_bombs_on_the_client_routes_are_413(local: LocalPipeline, path: str, extra: dict[str, str]) -> None:
    body = bomb(50 * MB)
    headers = {"Content-Type": "text/plain", "Authorization": "Basic " + base64.b64encode(
        f"{local.write_key}:".encode()).decode(), **extra}  # fmt: skip
    started = time.perf_counter()
    status, _, answer = request(local, "POST", path, body, headers)
    assert status == 413 and json.loads(answer)["error"] == "too_large", answer
    assert time.perf_counter() - started < 1.0


def test_bodies_over_the_gateway_limit_are_413(local: LocalPipeline) -> None:
    # Announce 11 MB and send none of it: the answer must come from the headers alone.
    connection = http.client.HTTPConnection("127.0.0.1", int(local.api.rsplit(":", 1)[1]), timeout=10)
    connection.putrequest("POST", "/events")
    connection.putheader("Content-Length", str(11 * MB))
    connection.endheaders()
    assert connection.getresponse().status == 413
    connection.close()
    status, _, body = request(local, "POST", "/events", b" " * (600 * 1024), {"X-Tally-Key": local.write_key})
    assert status == 413 and json.loads(body)["error"] == "too_large"


def test_oversized_and_numerous_headers_are_refused_not_crashed(local: LocalPipeline) -> None:
    headers = {"X-Tally-Key": local.write_key, "Origin": ORIGIN, "User-Agent": "u" * 60_000}
    status, _, body = request(local, "POST", "/events", json.dumps(VALID).encode(), headers)
    sane(status, body)
    assert status == 202  # long but legal: the event is stored with its user agent cut short
    status, _, body = request(local, "POST", "/events", b"{}", {"X-Big": "b" * 70_000})
    assert status == 431
    status, _, body = request(local, "POST", "/events", b"{}", {f"X-H{i}": "v" for i in range(150)})
    assert status == 431


def test_cors_abuse(local: LocalPipeline) -> None:
    key = f"/events?key={local.write_key}"
    status, headers, _ = request(local, "OPTIONS", key, None, {"Origin": "https://evil.example",
                                                                 "Access-Control-Request-Method": "POST"})  # fmt: skip
    assert status == 403 and "access-control-allow-origin" not in headers
    odd = {"Origin": ORIGIN, "Access-Control-Request-Method": "DELETE",
           "Access-Control-Request-Headers": "x-evil, cookie, " + "x" * 5000}  # fmt: skip
    status, headers, _ = request(local, "OPTIONS", key, None, odd)
    assert status == 204 and "DELETE" not in headers["access-control-allow-methods"]
    assert "x-evil" not in headers["access-control-allow-headers"].lower()
    assert "access-control-allow-credentials" not in headers
    for origin in ("javascript:alert(1)", "https://a\r\nSet-Cookie: x=1", "https://" + "a" * 300):
        status, headers, _ = (
            request(local, "OPTIONS", key, None, {"Origin": origin[:8000]}) if "\r" not in origin else (403, {}, b"")
        )  # http.client refuses CR/LF in a header itself
        assert status == 403 and "access-control-allow-origin" not in headers
    status, headers, body = request(local, "POST", "/events", json.dumps(VALID).encode(),
                                    {"X-Tally-Key": local.write_key, "Origin": "https://evil.example"})  # fmt: skip
    assert status == 403 and json.loads(body)["field"] == "Origin" and "access-control-allow-origin" not in headers


def test_wrong_methods_and_routes(local: LocalPipeline) -> None:
    for method, path in [("PUT", "/events"), ("DELETE", "/events"), ("GET", "/events"), ("POST", "/health"),
                         ("POST", "/i.gif"), ("PATCH", "/t.js"), ("GET", "/nope")]:  # fmt: skip
        status, _, body = request(local, method, path, b"{}" if method != "GET" else None)
        sane(status, body)
        assert status in (403, 404, 405), (method, path, status)


def test_memory_stays_bounded_over_many_hostile_requests(local: LocalPipeline) -> None:
    headers = {"X-Tally-Key": local.write_key, "Origin": ORIGIN}
    deep = b'{"url":"https://shop.example.com/a","properties":' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    request(local, "POST", "/events", deep, headers)  # warm up: first-use allocations
    bodies = [deep, bomb(8 * MB), b"\xff" * 100_000, b"9" * 400_000]
    with traced() as memory:
        for i in range(200):
            encoding = {"Content-Encoding": "gzip"} if i % 4 == 1 else {}
            status, _, answer = request(local, "POST", "/events", bodies[i % 4], {**headers, **encoding})
            sane(status, answer)
    heap, rss = memory
    print(f"\n[bad input] 200 hostile requests: peak heap +{heap:.1f} MB, peak RSS +{rss:.1f} MB")
    assert heap < 64 and rss < 64
