"""Chalice-facing handlers of Tally's own routes: read the request, call the service, shape the
response. The routes of other clients' APIs (Segment, PostHog, Plausible) are in clients/.

Every refusal is an IngestError turned into its status and a JSON body naming the field;
anything unexpected is left to Chalice's global handler, which answers 500 without a trace.
"""

from pathlib import Path
from typing import Any

from chalice.app import Request, Response

from tally_contract.errors import QueueUnavailable, StoreUnavailable

from . import body, cors, edge, observability, runtime
from .errors import IngestError
from .responses import DROPPED, empty_response, error_response, json_response, pixel_response
from .service import accept

PIXEL_FIELDS = ("event_id", "name", "url", "referrer", "time", "sent_at", "user_id", "anonymous_id")
_SCRIPT = Path(__file__).with_name("static") / "t.js"
_script_cache: list[bytes] = []


def post_events(request: Request) -> Response:
    origin = request.headers.get("origin")
    try:
        kind = body.body_kind(request.headers.get("content-type"))
        data = body.decode(edge.raw_body(request), request.headers.get("content-encoding"))
        payload = _payload(request, kind, data)
        outcome = accept(runtime.get(), payload, edge.sender(request, _write_key(request, payload), _secret(request)))
    except IngestError as error:
        observability.record_refusal(error, 1)
        return error_response(error, edge.cors_headers(origin, error))
    observability.record_outcome(outcome)
    headers = edge.cors_headers(origin, None)
    if outcome.dropped:
        return empty_response(outcome.status, {**headers, **DROPPED})
    if outcome.retry_after is not None:
        headers["Retry-After"] = str(outcome.retry_after)
    return json_response(outcome.status, outcome.body(), headers)


def _payload(request: Request, kind: str, data: bytes) -> Any:
    if kind == "json" or body.looks_like_json(data):
        return body.parse_json(data)
    from .clients import form  # an HTML form or curl -d: Rails-style fields, query and body merged

    return form.payload(data, edge.query_lists(request))


def pixel(request: Request) -> Response:
    """GET /i.gif: always a GIF, with the refusal's status when the event was refused."""
    from .clients import form  # the query's fields, properties[plan]=pro style

    try:
        payload = form.pixel_payload(edge.query_lists(request), PIXEL_FIELDS)
        if "url" not in payload and request.headers.get("referer"):
            payload["url"] = request.headers["referer"]
        outcome = accept(runtime.get(), payload, edge.sender(request, edge.query(request).get("key")))
    except IngestError as error:
        observability.record_refusal(error, 1)
        return pixel_response(error.STATUS_CODE)
    observability.record_outcome(outcome)
    return pixel_response(200, DROPPED) if outcome.dropped else pixel_response(outcome.status)


def preflight(request: Request) -> Response:
    origin = request.headers.get("origin")
    key = edge.query(request).get("key")
    site = None
    if key:
        try:
            site = runtime.get().sites.by_write_key(key[:128])
        except StoreUnavailable:
            site = None  # a preflight must not fail on a lookup: the POST checks again
    if origin is None or not cors.preflight_allowed(origin, site):
        return Response(body=b"", status_code=403, headers={"Vary": "Origin"})
    return Response(body=b"", status_code=204, headers=dict(cors.allow_headers(origin)))


def health() -> Response:
    rt = runtime.get()
    try:
        rt.queue.ping()
    except QueueUnavailable as exc:
        return json_response(503, {"status": "unavailable", "queue": str(exc)}, {"Retry-After": "5"})
    return json_response(200, {"status": "ok", "queue": rt.settings.queue_url.split("://", 1)[0]})


def script(request: Request) -> Response:
    """t.js, gzipped for a client that takes gzip (every browser): the bytes a page pays for."""
    if not _script_cache:
        import gzip

        raw = _SCRIPT.read_bytes()
        _script_cache.extend([raw, gzip.compress(raw, 9, mtime=0)])
    headers: dict[str, str | list[str]] = {
        "Content-Type": "application/javascript; charset=utf-8",
        "Cache-Control": "public, max-age=3600",
        "Access-Control-Allow-Origin": "*",
        "Vary": "Accept-Encoding",
    }
    if "gzip" in request.headers.get("accept-encoding", "").lower():
        return Response(body=_script_cache[1], status_code=200, headers={**headers, "Content-Encoding": "gzip"})
    return Response(body=_script_cache[0], status_code=200, headers=headers)


def _write_key(request: Request, payload: Any) -> str | None:
    key = payload.get("key") if isinstance(payload, dict) else None
    from_body = key if isinstance(key, str) else None
    return request.headers.get("x-tally-key") or edge.query(request).get("key") or from_body


def _secret(request: Request) -> str | None:
    return edge.bearer_secret(request)
