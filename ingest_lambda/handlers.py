"""Chalice-facing handlers: read the request, call the service, shape the response.

Every refusal is an IngestError turned into its status and a JSON body naming the field;
anything unexpected is left to Chalice's global handler, which answers 500 without a trace.
"""

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from chalice.app import Request, Response

from tally_contract.clientip import client_ip
from tally_contract.errors import QueueUnavailable, StoreUnavailable

from . import body, cors, observability, runtime
from .errors import IngestError, OriginNotAllowed
from .responses import error_response, json_response, pixel_response
from .service import Sender, accept

PIXEL_FIELDS = ("event_id", "name", "url", "referrer", "time", "sent_at")
_SCRIPT = Path(__file__).with_name("static") / "t.js"
_script_cache: list[bytes] = []


def post_events(request: Request) -> Response:
    origin = request.headers.get("origin")
    try:
        body.check_content_type(request.headers.get("content-type"))
        raw = request.raw_body if isinstance(request.raw_body, bytes) else request.raw_body.encode()
        payload = body.parse_json(body.decode(raw, request.headers.get("content-encoding")))
        outcome = accept(runtime.get(), payload, _sender(request, _body_key(payload)))
    except IngestError as error:
        observability.record_refusal(error, 1)
        return error_response(error, _cors(origin, error))
    observability.record_outcome(outcome)
    headers = _cors(origin, None)
    if outcome.retry_after is not None:
        headers["Retry-After"] = str(outcome.retry_after)
    return json_response(outcome.status, outcome.body(), headers)


def pixel(request: Request) -> Response:
    """GET /i.gif: always a GIF, with the refusal's status when the event was refused."""
    params = _query(request)
    payload: dict[str, Any] = {name: params[name] for name in PIXEL_FIELDS if name in params}
    if "url" not in payload and request.headers.get("referer"):
        payload["url"] = request.headers["referer"]
    try:
        if "properties" in params:
            payload["properties"] = body.parse_json(params["properties"].encode("utf-8", "surrogatepass"))
        outcome = accept(runtime.get(), payload, _sender(request, None))
    except IngestError as error:
        observability.record_refusal(error, 1)
        return pixel_response(error.STATUS_CODE)
    observability.record_outcome(outcome)
    return pixel_response(outcome.status)


def preflight(request: Request) -> Response:
    origin = request.headers.get("origin")
    key = _query(request).get("key")
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


def script() -> Response:
    if not _script_cache:
        _script_cache.append(_SCRIPT.read_bytes())
    return Response(
        body=_script_cache[0],
        status_code=200,
        headers={
            "Content-Type": "application/javascript; charset=utf-8",
            "Cache-Control": "public, max-age=3600",
            "Access-Control-Allow-Origin": "*",
        },
    )


def _sender(request: Request, body_key: str | None) -> Sender:
    headers = request.headers
    params = _query(request)
    identity = request.context.get("identity") or {}
    rt = runtime.get()
    authorization = headers.get("authorization", "")
    secret = authorization[7:].strip() if authorization[:7].lower() == "bearer " else None
    return Sender(
        write_key=headers.get("x-tally-key") or params.get("key") or body_key,
        secret=secret or None,
        origin=headers.get("origin"),
        ip=client_ip(identity.get("sourceIp"), headers.get("x-forwarded-for"), rt.settings.trusted_proxies),
        user_agent=headers.get("user-agent"),
        request_id=request.context.get("requestId"),
    )


def _query(request: Request) -> Mapping[str, str]:
    return request.query_params or {}


def _body_key(payload: Any) -> str | None:
    key = payload.get("key") if isinstance(payload, dict) else None
    return key if isinstance(key, str) else None


def _cors(origin: str | None, error: IngestError | None) -> dict[str, str]:
    if origin is None or not cors.is_valid_origin(origin) or isinstance(error, OriginNotAllowed):
        return {}
    return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}
