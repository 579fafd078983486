"""Issue 18, least privilege by code path: every answer of the function strangers reach, its
handlers' and Chalice's own (405, 415, 500), says ``X-Content-Type-Options: nosniff`` and a
``default-src 'none'`` Content-Security-Policy: nothing it sends may be sniffed into a page."""

from typing import Any

import pytest

from tests.support.ingest_harness import ORIGIN, Ingest

REQUESTS: list[tuple[str, str, dict[str, Any]]] = [
    ("POST", "/events", {"body": b'{"url": "https://shop.example.com/"}', "query": "key"}),
    ("POST", "/events", {"body": b"not json", "query": "key"}),
    ("POST", "/events", {"body": b"{}", "query": None}),  # 401
    ("GET", "/i.gif", {"query": "key"}),
    ("OPTIONS", "/events", {"query": "key"}),
    ("GET", "/health", {}),
    ("GET", "/t.js", {}),
    ("PUT", "/events", {"body": b"{}"}),  # Chalice's 405
    ("POST", "/events", {"body": b"{}", "content_type": "application/xml"}),
]


@pytest.mark.parametrize(("method", "path", "spec"), REQUESTS)
def test_every_ingest_answer_forbids_sniffing_and_active_content(
    ingest: Ingest, method: str, path: str, spec: dict[str, Any]
) -> None:
    headers = {"Origin": ORIGIN, "Accept": "*/*", "Content-Type": spec.get("content_type", "application/json")}
    query = {"key": ingest.site.write_key, "url": "https://shop.example.com/"} if spec.get("query") else None
    response = ingest.request(method, path, body=spec.get("body"), headers=headers, query=query)
    assert response.headers.get("x-content-type-options") == "nosniff", (response.status, response.headers)
    assert response.headers.get("content-security-policy") == "default-src 'none'", response.status


def test_an_unexpected_error_answers_500_with_the_headers_too(ingest: Ingest, monkeypatch: pytest.MonkeyPatch) -> None:
    from ingest_lambda import handlers

    def broken() -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(handlers, "health", broken)
    response = ingest.request("GET", "/health", headers={"Accept": "*/*"})
    assert response.status == 500 and b"boom" not in response.body
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-security-policy"] == "default-src 'none'"
