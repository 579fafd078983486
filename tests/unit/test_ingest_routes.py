"""The pixel, CORS preflight, health and the tracking script."""

from typing import Any

from tally_contract.queues.memory_queue import MemoryQueue
from tests.support.ingest_harness import ORIGIN, Ingest

PAGE = "https://shop.example.com/cart"


def test_pixel_queues_the_event_and_answers_a_no_cache_gif(ingest: Ingest) -> None:
    query = {"key": ingest.site.write_key, "url": PAGE, "name": "view_cart", "properties": '{"items": 3}'}
    response = ingest.request("GET", "/i.gif", query=query, headers={"Accept": "image/*"})
    assert response.status == 202
    assert response.body.startswith(b"GIF89a") and len(response.body) == 43
    assert response.headers["content-type"] == "image/gif"
    assert "no-store" in response.headers["cache-control"]
    (event,) = ingest.events()
    assert (event["name"], event["url"], event["properties"]) == ("view_cart", PAGE, {"items": 3})


def test_pixel_takes_the_url_from_referer_and_works_without_accept(ingest: Ingest) -> None:
    response = ingest.request("GET", "/i.gif", query={"key": ingest.site.write_key}, headers={"Referer": PAGE})
    assert response.status == 202 and response.body.startswith(b"GIF89a")
    assert ingest.events()[0]["url"] == PAGE


def test_pixel_refusals_keep_their_status_and_still_send_a_gif(ingest: Ingest) -> None:
    cases: list[tuple[dict[str, str], int]] = [
        ({"url": PAGE}, 401),
        ({"key": ingest.site.write_key}, 422),
        ({"key": ingest.site.write_key, "url": PAGE, "properties": "{bad"}, 400),
    ]
    for query, status in cases:
        response = ingest.request("GET", "/i.gif", query=query)
        assert (response.status, response.body[:6]) == (status, b"GIF89a")
    assert isinstance(ingest.queue, MemoryQueue)
    ingest.queue.available = False
    down = ingest.request("GET", "/i.gif", query={"key": ingest.site.write_key, "url": PAGE})
    assert down.status == 503 and down.body.startswith(b"GIF89a")


def test_preflight_follows_the_sites_origins(ingest: Ingest) -> None:
    headers = {"Origin": ORIGIN, "Access-Control-Request-Method": "POST"}
    allowed = ingest.request("OPTIONS", "/events", headers=headers, query={"key": ingest.site.write_key})
    assert allowed.status == 204
    assert allowed.headers["access-control-allow-origin"] == ORIGIN
    assert "Content-Encoding" in allowed.headers["access-control-allow-headers"]
    assert allowed.headers["vary"] == "Origin"
    evil = {"Origin": "https://evil.example.net"}
    refused = ingest.request("OPTIONS", "/events", headers=evil, query={"key": ingest.site.write_key})
    assert refused.status == 403 and "access-control-allow-origin" not in refused.headers
    keyless = ingest.request("OPTIONS", "/events", headers=evil)
    assert keyless.status == 204  # no site to ask: the POST itself checks the origin
    assert ingest.request("OPTIONS", "/events").status == 403  # not a CORS request at all


def test_health_reflects_the_queue(ingest: Ingest) -> None:
    ok = ingest.request("GET", "/health")
    assert (ok.status, ok.json()["status"]) == (200, "ok")
    assert isinstance(ingest.queue, MemoryQueue)
    ingest.queue.available = False
    down = ingest.request("GET", "/health")
    assert down.status == 503 and down.headers["retry-after"] == "5"


def test_tracking_script_is_small_and_complete(ingest: Ingest) -> None:
    import gzip

    response = ingest.request("GET", "/t.js", headers={"Accept": "*/*", "Accept-Encoding": "gzip, br"})
    assert response.status == 200 and response.headers["content-encoding"] == "gzip"
    assert response.headers["content-type"].startswith("application/javascript")
    assert len(response.body) < 3 * 1024, f"t.js is {len(response.body)} bytes gzipped"
    script = gzip.decompress(response.body).decode()
    plain = ingest.request("GET", "/t.js", headers={"Accept": "*/*"})
    assert "content-encoding" not in plain.headers and plain.body.decode() == script
    for needle in (
        "sendBeacon",
        "keepalive",
        "pushState",
        "popstate",
        "doNotTrack",
        "event_id",
        "sent_at",
        "outbound_link",
        "file_download",
        "data-tally-event",
        "hashchange",
        "engagement",
        '"404"',
    ):
        assert needle in script, needle


def test_emf_metrics_for_a_request(ingest: Ingest, capsys: Any) -> None:
    import json

    ingest.post({"batch": [{"url": PAGE}, {"url": "nope"}]})
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith('{"_aws"')]
    metrics = {}
    for line in lines:
        for definition in line["_aws"]["CloudWatchMetrics"]:
            for metric in definition["Metrics"]:
                metrics[metric["Name"]] = (line[metric["Name"]], definition["Dimensions"], line.get("reason"))
    assert metrics["EventsAccepted"][0] == [1.0]
    assert metrics["EventsRejected"][0] == [1.0]
    assert metrics["EventsRejectedByReason"][2] == "invalid_event"
    assert metrics["EventsRejectedByReason"][1] == [["stage", "service", "reason"]]
    assert metrics["EventsAccepted"][1] == [["stage", "service"]]
    assert "EnqueueLatency" in metrics
    assert all(line["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "Tally" for line in lines)
