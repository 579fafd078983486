"""HTTP responses. Every body is bytes or JSON: the app declares ``*/*`` binary so API Gateway
hands gzip bodies over intact, and Chalice then base64-encodes every response body."""

import json
from collections.abc import Callable, Mapping
from typing import Any

from chalice.app import Response

from .errors import IngestError

# The smallest transparent GIF (43 bytes).
PIXEL = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00"
    b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)
NO_STORE = "no-store, no-cache, must-revalidate, max-age=0"
# On an answer to a request dropped under Do Not Track / Global Privacy Control: 2xx, so no
# client retries what would be dropped again, and this header says nothing was kept.
DROPPED = {"Tally-Dropped": "do-not-track"}
# On every answer, Chalice's own (405, 415, 500) included: nothing the ingest sends is a page,
# so a browser must neither sniff one out of a body nor run or frame anything it loads.
SECURITY_HEADERS = {"X-Content-Type-Options": "nosniff", "Content-Security-Policy": "default-src 'none'"}


def json_response(status: int, body: Any, headers: Mapping[str, str] | None = None) -> Response:
    return Response(
        body=json.dumps(body, separators=(",", ":")).encode("utf-8"),
        status_code=status,
        headers=_headers({"Content-Type": "application/json", "Cache-Control": NO_STORE}, headers),
    )


def empty_response(status: int, headers: Mapping[str, str] | None = None) -> Response:
    return Response(body=b"", status_code=status, headers=_headers({"Cache-Control": NO_STORE}, headers))


def error_response(error: IngestError, headers: Mapping[str, str] | None = None) -> Response:
    extra = dict(headers or {})
    if error.RETRY_AFTER is not None:
        extra["Retry-After"] = str(error.RETRY_AFTER)
    return json_response(error.STATUS_CODE, error.body(), extra)


def pixel_response(status: int, headers: Mapping[str, str] | None = None) -> Response:
    return Response(
        body=PIXEL,
        status_code=status,
        headers=_headers(
            {"Content-Type": "image/gif", "Cache-Control": NO_STORE, "Pragma": "no-cache", "Expires": "0"}, headers
        ),
    )


def _headers(base: dict[str, str], extra: Mapping[str, str] | None) -> dict[str, str | list[str]]:
    merged: dict[str, str | list[str]] = dict(base)
    merged.update(extra or {})
    return merged


def security_headers(request: Any, get_response: Callable[[Any], Response]) -> Response:
    """Chalice HTTP middleware: SECURITY_HEADERS on every response."""
    response = get_response(request)
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response
