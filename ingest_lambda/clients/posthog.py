"""PostHog's capture API: ``POST /batch/``, ``/capture/``, ``/e/`` and ``/i/v0/e/`` (the SDKs'
trailing slash is API Gateway's to drop), and the configuration posthog-js asks for at start.

Bodies: JSON (one event, an array, or ``{"batch": [...]}``), gzip (``Content-Encoding`` or the
``compression=gzip-js`` query parameter posthog-js sends with a text/plain body), and the
``data=`` form, base64 (``compression=base64``) or plain. The project key (``api_key``, or
``token`` among an event's properties) is the site's write key; a server SDK gives
``wk_...:sk_...`` to be a server sender, whose ``$ip`` and ``$raw_user_agent`` are then used.
Answers: 200 ``{"status": 1}`` (posthog-js retries anything else below 400 and from 500), a
4xx naming the field, 503 with Retry-After when the queue did not take the events.

The configuration endpoints (``/flags/``, ``/decide/``, ``/array/<key>/config[.js]``) answer
"no flags, no recording, no surveys": posthog-js then runs with only capture switched on.
"""

import base64
import binascii
import re
import uuid
from typing import Any
from urllib.parse import parse_qs

from chalice.app import Request, Response

from tally_contract import fields
from tally_contract.errors import FieldError

from .. import body, edge, handlers, observability, runtime, service
from ..errors import IngestError, InvalidEvent, MalformedBody, TooLarge
from ..responses import DROPPED, json_response
from . import common

_IDS = uuid.UUID("5b0c7e2a-9d4f-4c1b-8a6e-3f2d1c0b9a87")  # event uuids that are no Tally event id
GZIP_MAGIC = b"\x1f\x8b"
NAMES = {"$pageview": "pageview", "$pageleave": "engagement", "$autocapture": "autocapture", "$identify": "identify"}
CAPTURE_ROUTES = ("batch", "capture", "e", "i")
# posthog-js copies the page URL's campaign parameters onto every event (null when absent).
# Tally reads campaigns from the URL itself (what its allowlist keeps): these are not properties.
CAMPAIGN = frozenset({
    "utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term", "gad_source", "mc_cid", "gclid",
    "gclsrc", "dclid", "gbraid", "wbraid", "fbclid", "msclkid", "twclid", "li_fat_id", "igshid", "ttclid",
    "rdt_cid", "epik", "qclid", "sccid", "oppref", "bfcid", "irclid", "_kx",
})  # fmt: skip


def handle(route: str, request: Request) -> Response:
    if request.method == "OPTIONS":
        return handlers.preflight(request)
    if route in CAPTURE_ROUTES:
        return capture(request)
    from . import posthog_config

    return posthog_config.answer(route, request)


def capture(request: Request) -> Response:
    origin = request.headers.get("origin")
    try:
        payload = _payload(request)
        messages, is_batch = _messages(payload)
        key = payload.get("api_key") if isinstance(payload, dict) else None
        write_key, secret = edge.split_key(common.text(key) or _token(messages))
        sender = edge.sender(request, write_key, secret)
        rt = runtime.get()
        site, server_sender = service.authenticate(rt, sender, key_field="api_key")
        sent_at = payload.get("sent_at") if isinstance(payload, dict) else None
        sent_at = sent_at or _sent_at_param(request)
        batch = service.Batch(messages, is_batch, sent_at, lambda m: to_event(m, server_sender))
        outcome = service.accept_events(rt, site, server_sender, sender, batch)
    except IngestError as error:
        observability.record_refusal(error, 1)
        return _error(error, edge.cors_headers(origin, error))
    observability.record_outcome(outcome)
    return _answer(outcome, edge.cors_headers(origin, None))


def _payload(request: Request) -> Any:
    media = (request.headers.get("content-type") or "").split(";", 1)[0].strip().lower()
    kind = body.body_kind(media)
    data = body.decode(edge.raw_body(request), request.headers.get("content-encoding"))
    compression = (edge.query(request).get("compression") or "").lower()
    if kind == "form" or data.startswith(b"data="):
        data, compression = _form_data(data, compression)
    if compression in ("gzip", "gzip-js") or data[:2] == GZIP_MAGIC:
        data = body.decode(data, "gzip")
    return body.parse_json(data)


def _form_data(data: bytes, compression: str) -> tuple[bytes, str]:
    """``data=<base64 or JSON>`` (with ``compression=base64`` in the form or the query)."""
    try:
        form = parse_qs(data.decode("ascii"), max_num_fields=10)
    except (UnicodeDecodeError, ValueError):
        raise MalformedBody("form body is not data=<base64 or JSON>") from None
    if "data" not in form:
        raise InvalidEvent("form body has no data field", field="data")
    value = form["data"][-1].encode("utf-8", "surrogatepass")
    compression = (form.get("compression", [compression])[-1] or "").lower()
    if compression == "base64" or not body.looks_like_json(value):
        value = value.replace(b" ", b"+")  # an unescaped "+" of base64 reads as a space in a form
        try:
            value = base64.b64decode(value + b"=" * (-len(value) % 4), altchars=b"-_" if b"-" in value else None)
        except (binascii.Error, ValueError):
            raise MalformedBody("data is neither JSON nor base64", field="data") from None
        compression = ""
    return value, compression


def _messages(payload: Any) -> tuple[list[Any], bool]:
    if isinstance(payload, dict) and "batch" in payload:
        payload = payload["batch"]
        if not isinstance(payload, list):
            raise InvalidEvent("batch must be an array of events", field="batch")
    if isinstance(payload, list):
        if not payload:
            raise InvalidEvent("batch is empty", field="batch")
        if len(payload) > service.MAX_BATCH:
            raise TooLarge(f"batch has {len(payload)} events; the limit is {service.MAX_BATCH}", field="batch")
        return payload, True
    if not isinstance(payload, dict):
        raise InvalidEvent('body must be an event, an array of events or {"batch": [...]}', field="body")
    return [payload], False


def _token(messages: list[Any]) -> str | None:
    for message in messages:
        props = message.get("properties") if isinstance(message, dict) else None
        found = (isinstance(message, dict) and common.text(message.get("api_key"))) or (
            isinstance(props, dict) and common.text(props.get("token"))
        )
        if found:
            return found
    return None


def _sent_at_param(request: Request) -> Any:
    stamp = edge.query(request).get("_")  # posthog-js: the send time, epoch milliseconds
    return int(stamp) if stamp and stamp.isdigit() and len(stamp) < 16 else None


def to_event(message: Any, server_sender: bool) -> dict[str, Any]:
    """One PostHog event as a Tally event dict (event.build validates it)."""
    if not isinstance(message, dict):
        raise FieldError("event", "must be an object")
    name = message.get("event")
    if not isinstance(name, str) or not name:
        raise FieldError("event", "is required")
    props = common.obj(message.get("properties"))
    user_id, anonymous_id = _identity(name, message, props)
    referrer = props.get("$referrer")
    event: dict[str, Any] = {
        "name": NAMES.get(name, name),
        "url": props.get("$current_url") or None,
        "referrer": None if referrer in (None, "", "$direct") else referrer,
        "time": message.get("timestamp"),
        "properties": {**common.properties(props, _internal), **_derived(name, props)},
        "user_id": user_id,
        "anonymous_id": anonymous_id,
    }
    if message.get("uuid") is not None:
        event["event_id"] = _event_id(message["uuid"])
    if server_sender:
        event["ip"] = common.text(props.get("$ip"))
        event["user_agent"] = common.text(props.get("$raw_user_agent"))
    return event


def _internal(key: str) -> bool:
    # PostHog's own properties: Tally derives browser, OS, device and campaign itself.
    return key.startswith("$") or key in ("token", "distinct_id") or key in CAMPAIGN


def _identity(name: str, message: dict[str, Any], props: dict[str, Any]) -> tuple[str | None, str | None]:
    """(user id, anonymous id). posthog-js's anonymous distinct_id is its device id."""
    distinct = common.text(message.get("distinct_id") or props.get("distinct_id"))
    device = common.text(props.get("$device_id"))
    if name == "$identify" or props.get("$anon_distinct_id"):
        return distinct, common.text(props.get("$anon_distinct_id")) or device
    if device is not None:
        return (distinct if distinct != device else None), device
    return distinct, None  # a server SDK: the distinct_id is the user's


def _derived(name: str, props: dict[str, Any]) -> dict[str, Any]:
    if name == "$pageleave":
        depth = _number(props.get("$prev_pageview_max_scroll_percentage"))
        seconds = _number(props.get("$prev_pageview_duration"))
        out = {"scroll_depth": None if depth is None else round(100 * depth),
               "engagement_ms": None if seconds is None else round(1000 * seconds)}  # fmt: skip
        return {k: v for k, v in out.items() if v is not None}
    if name == "$autocapture":
        return {k: v for k, v in _element(props).items() if v is not None}
    return {}


def _number(value: Any) -> float | None:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and abs(value) < 1e9
    return float(value) if ok else None


_CHAIN_TEXT = re.compile(r'(?:^|[":;])text="((?:\\.|[^"\\])*)"')
_CHAIN_HREF = re.compile(r'attr__href="((?:\\.|[^"\\])*)"')


def _element(props: dict[str, Any]) -> dict[str, Any]:
    """What was clicked: ``$event_type`` and the first of ``$elements`` (or ``$elements_chain``)."""
    out: dict[str, Any] = {"event_type": common.text(props.get("$event_type"))}
    elements = props.get("$elements")
    if isinstance(elements, list) and elements and isinstance(elements[0], dict):
        first = elements[0]
        out.update(tag=common.text(first.get("tag_name")), text=common.text(first.get("$el_text")),
                   href=common.text(first.get("attr__href")))  # fmt: skip
    elif isinstance(props.get("$elements_chain"), str):
        chain = props["$elements_chain"][:4096].split(";", 1)[0]
        text, href = _CHAIN_TEXT.search(chain), _CHAIN_HREF.search(chain)
        out.update(tag=re.match(r"[A-Za-z0-9-]*", chain).group(0) or None,  # type: ignore[union-attr]
                   text=text.group(1) if text else None, href=href.group(1) if href else None)  # fmt: skip
    return {k: (v[: fields.MAX_PROPERTY_VALUE] if isinstance(v, str) else v) for k, v in out.items()}


def _event_id(value: Any) -> str:
    text = common.text(value) or ""
    try:
        return fields.event_id(text)
    except FieldError:
        return str(uuid.uuid5(_IDS, text))


def _answer(outcome: service.Outcome, headers: dict[str, str]) -> Response:
    if outcome.dropped:
        return json_response(200, {"status": 1}, {**headers, **DROPPED})
    if not outcome.rejected:
        return json_response(200, {"status": 1}, headers)
    retry = outcome.retry_after
    index, first = next(((i, e) for i, e in outcome.rejected if e.RETRY_AFTER), outcome.rejected[0])
    answer = {**_body(first, f"event {index}: {first.message}"), "accepted": len(outcome.accepted),
              "rejected": [{"index": i, **e.body()} for i, e in outcome.rejected]}  # fmt: skip
    extra = {**headers, "Retry-After": str(retry)} if retry else headers
    return json_response(503 if retry else first.STATUS_CODE, answer, extra)


def _error(error: IngestError, headers: dict[str, str]) -> Response:
    extra = {**headers, "Retry-After": str(error.RETRY_AFTER)} if error.RETRY_AFTER else headers
    return json_response(error.STATUS_CODE, _body(error, error.message), extra)


def _body(error: IngestError, message: str) -> dict[str, Any]:
    # PostHog's SDKs read "detail" (posthog.request.APIError); "type" as PostHog's API has it.
    kind = "server_error" if error.STATUS_CODE >= 500 else "validation_error"
    return {"type": kind, "code": error.CODE, "detail": message, **error.body()}
