"""`tally send` and the local HTTP adapter it posts to, through click's runner and urllib."""

import json
from typing import Any

import pytest

from tests.support.cli_harness import assert_one_line_error, isolated, run

__all__ = ["isolated"]  # the autouse fixture: no local state, an empty config file, restored env


# -- send -----------------------------------------------------------------------------------
@pytest.fixture
def local_api(ingest: Any) -> Any:
    from app import app
    from tally_cli.local.http_server import LocalHttpServer

    server = LocalHttpServer(app, "127.0.0.1", 0, stage="prod")
    server.start()
    yield server, ingest
    server.stop()


def test_send_posts_batches_with_identity(local_api: Any) -> None:
    server, ingest = local_api
    result = run(
        "send", "--api-url", server.base_url, "--key", ingest.site.write_key, "--secret-key", ingest.secret,
        "-n", "45", "--batch-size", "20", "--seed", "7",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "sent 45 events in 3 requests" in result.output and "accepted 45, rejected 0" in result.output
    events = ingest.events()
    assert len(events) == 45
    assert all(e["ip"] and e["user_agent"] and e["url"].startswith("https://shop.example.com/") for e in events)
    assert any("bot" in e["user_agent"].lower() for e in events)
    assert len({e["url"] for e in events}) > 3


def test_send_reports_what_the_aggregates_will_count(local_api: Any) -> None:
    from collections import Counter

    from processor_lambda.useragent import parse

    server, ingest = local_api
    result = run(
        "send", "--api-url", server.base_url, "--key", ingest.site.write_key, "--secret-key", ingest.secret,
        "-n", "150", "--seed", "11", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.strip().splitlines()[-1])
    events = ingest.events()
    bots = [e for e in events if parse(e["user_agent"]).bot]  # the processor's own verdict
    names = Counter(e.get("name") or "pageview" for e in events if not parse(e["user_agent"]).bot)
    assert summary["accepted"] == len(events) == 150 and summary["rejected"] == {}
    assert summary["bots"] == len(bots) > 0
    assert summary["names"] == dict(names) and len(names) > 1
    assert summary["from"] <= summary["to"] and summary["from"].endswith("Z")
    text = run(
        "send", "--api-url", server.base_url, "--key", ingest.site.write_key, "-n", "5", "--seed", "11",
    )  # fmt: skip
    assert "counted: pageview" in text.output and "bots 0 (bot total only)" in text.output


def test_send_reports_rejections_and_bad_input(local_api: Any) -> None:
    server, _ = local_api
    result = run("send", "--api-url", server.base_url, "--key", "wk_unknown", "-n", "3")
    assert_one_line_error(result, "no event was accepted")
    assert "rejected 3: 401 unauthorized" in result.output
    assert_one_line_error(run("send", "--api-url", "ftp://x", "--key", "k"), "--api-url")
    assert_one_line_error(run("send", "-n", "3"), "--api-url is required")
    assert_one_line_error(run("send", "--api-url", "http://127.0.0.1:1/api", "--key", "k"), "cannot reach")
    assert_one_line_error(run("send", "--api-url", server.base_url, "--key", "k", "--batch-size", "101"), "101")


def _http(method: str, url: str, body: bytes | None = None, headers: dict[str, str] | None = None) -> Any:
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, data=body, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def test_local_http_server_speaks_api_gateway(local_api: Any) -> None:
    import gzip

    server, ingest = local_api
    key = ingest.site.write_key
    assert server.base_url.endswith("/prod")  # the stage's prefix, as API Gateway names it (.chalice/config.json)
    body = gzip.compress(json.dumps({"batch": [{"url": "https://shop.example.com/a"}, {"name": "signup"}]}).encode())
    status, _, answer = _http("POST", f"{server.base_url}/events?key={key}", body,
                              {"Content-Type": "application/json", "Content-Encoding": "gzip"})  # fmt: skip
    assert status == 202 and json.loads(answer)["accepted"] == 2  # the gzip body arrived as bytes
    status, headers, gif = _http("GET", f"{server.base_url}/i.gif?key={key}&url=https%3A%2F%2Fshop.example.com%2Fp")
    assert status == 202 and headers["Content-Type"] == "image/gif" and gif.startswith(b"GIF")
    status, headers, script = _http("GET", f"{server.base_url.removesuffix('/prod')}/t.js")  # no stage prefix
    assert status == 200 and b"sendBeacon" in script
    preflight = {"Origin": "https://shop.example.com", "Access-Control-Request-Method": "POST"}
    status, headers, _ = _http("OPTIONS", f"{server.base_url}/events?key={key}", headers=preflight)
    assert status in (200, 204) and headers["Access-Control-Allow-Origin"] == "https://shop.example.com"
    assert _http("GET", f"{server.base_url}/nope")[0] == 403  # API Gateway's answer to an unknown route
    assert _http("DELETE", f"{server.base_url}/events")[0] == 405
    assert [e["url"] for e in ingest.events()][:1] == ["https://shop.example.com/a"]
    assert len(ingest.events()) == 3
