"""Segment's (and RudderStack's) HTTP Tracking API: ``POST /v1/batch`` and the single-message
``/v1/track``, ``/v1/page``, ``/v1/screen``, ``/v1/identify``, ``/v1/group``, ``/v1/alias``.

The write key is Basic auth's user name or the body's ``writeKey``; a server sender puts the
secret key in Basic auth's password, which an SDK taking one key string sends when given
``wk_...:sk_...``. Answers follow what the SDKs expect: 200 ``{"success": true}``; a 4xx (not
retried) naming the field of the first refused message; 503 with Retry-After only when the
queue did not take the events (the SDKs retry then, and ``messageId`` being the event id, a
retried message is stored once). Limits: 500 KB a batch (after decompression), 32 KB a
message, 100 messages a batch. How each field maps is in docs/event-contract.md.
"""

import uuid
from typing import Any
from urllib.parse import quote

from chalice.app import Request, Response

from tally_contract import fields
from tally_contract.errors import FieldError

from .. import edge, observability, runtime, service
from ..errors import IngestError, InvalidEvent, NotFound, TooLarge
from ..responses import DROPPED, json_response
from . import common

MAX_BATCH_BYTES = 500 * 1024
TYPES = ("track", "page", "screen", "identify", "group", "alias")
# The UTM tag each context.campaign key becomes on the page URL, where the processor reads them.
CAMPAIGN = {"source": "utm_source", "medium": "utm_medium", "name": "utm_campaign", "term": "utm_term",
            "content": "utm_content"}  # fmt: skip
PAGE_PROPERTIES = frozenset({"url", "referrer", "path", "search"})  # carried by url and referrer
_IDS = uuid.UUID("d1b3c8a4-5e0f-4b6a-9c2d-7e8f9a0b1c2d")  # messageIds that are no Tally event id


def handle(route: str, request: Request) -> Response:
    origin = request.headers.get("origin")
    try:
        if route != "batch" and route not in TYPES:
            raise NotFound(f"/v1/{route[:40]} is no tracking API call; use batch or one of {', '.join(TYPES)}")
        payload = edge.json_object(common.json_body(request, MAX_BATCH_BYTES))
        messages, is_batch = _messages(route, payload)
        user, password = edge.basic_credentials(request)
        write_key, secret = edge.split_key(user or common.text(payload.get("writeKey")))
        sender = edge.sender(request, write_key, password or secret)
        rt = runtime.get()
        site, server_sender = service.authenticate(rt, sender, key_field="writeKey")
        shared = common.obj(payload.get("context")) if is_batch else {}
        batch = service.Batch(messages, is_batch, payload.get("sentAt"), lambda m: to_event(m, server_sender, shared))
        outcome = service.accept_events(rt, site, server_sender, sender, batch)
    except IngestError as error:
        observability.record_refusal(error, 1)
        return _error(error, edge.cors_headers(origin, error))
    observability.record_outcome(outcome)
    return answer(outcome, edge.cors_headers(origin, None))


def _messages(route: str, payload: dict[str, Any]) -> tuple[list[Any], bool]:
    if route != "batch":
        return [{**payload, "type": route}], False
    batch = payload.get("batch")
    if not isinstance(batch, list) or not batch:
        raise InvalidEvent("batch must be a non-empty array of messages", field="batch")
    if len(batch) > service.MAX_BATCH:
        raise TooLarge(f"batch has {len(batch)} messages; the limit is {service.MAX_BATCH}", field="batch")
    return batch, True


def to_event(message: Any, server_sender: bool, shared: dict[str, Any]) -> dict[str, Any]:
    """One Segment message as a Tally event dict (event.build validates it)."""
    if not isinstance(message, dict):
        raise FieldError("message", "must be an object")
    kind = message.get("type")
    if kind not in TYPES:
        raise FieldError("type", f"must be one of {', '.join(TYPES)}")
    context = {**shared, **common.obj(message.get("context"))}
    page = common.obj(context.get("page"))
    given = common.obj(message.get("properties"))
    event: dict[str, Any] = {
        "name": _name(kind, message),
        "url": given.get("url") if kind == "page" and given.get("url") else page.get("url"),
        "referrer": given.get("referrer") if kind == "page" and given.get("referrer") else page.get("referrer"),
        "time": message.get("originalTimestamp") or message.get("timestamp"),
        "properties": _properties(kind, message, given),
        "user_id": common.text(message.get("userId")),
        "anonymous_id": common.text(message.get("anonymousId")),
    }
    if message.get("sentAt") is not None:
        event["sent_at"] = message["sentAt"]
    if message.get("messageId") is not None:
        event["event_id"] = _event_id(message["messageId"])
    if isinstance(event["url"], str) and isinstance(context.get("campaign"), dict):
        event["url"] = _with_campaign(event["url"], context["campaign"])
    if server_sender:  # what a server knows of its visitor; from anyone else, the request's own
        event["ip"] = common.text(context.get("ip"))
        event["user_agent"] = common.text(context.get("userAgent"))
    return event


def _name(kind: str, message: dict[str, Any]) -> Any:
    if kind == "track":
        if message.get("event") in (None, ""):
            raise FieldError("event", "is required for a track call")
        return message["event"]
    return "pageview" if kind == "page" else kind


def _properties(kind: str, message: dict[str, Any], given: dict[str, Any]) -> dict[str, Any]:
    skip = (lambda key: key in PAGE_PROPERTIES) if kind == "page" else None
    found = common.properties(given, skip) if kind in ("track", "page", "screen") else {}
    extra = {"page": "name", "screen": "name", "group": "groupId", "alias": "previousId"}.get(kind)
    if extra and common.text(message.get(extra)) is not None:
        found[{"name": "name", "groupId": "group_id", "previousId": "previous_id"}[extra]] = common.text(message[extra])
    return found


def _event_id(message_id: Any) -> str:
    """The messageId, when it is a Tally event id; else a UUID derived from it, the same on
    every retry of the message."""
    text = common.text(message_id) or ""
    try:
        return fields.event_id(text)
    except FieldError:
        return str(uuid.uuid5(_IDS, text))


def _with_campaign(url: str, campaign: dict[str, Any]) -> str:
    tags = [(CAMPAIGN[k], common.text(v)) for k, v in campaign.items() if k in CAMPAIGN and common.text(v)]
    missing = [(tag, value) for tag, value in tags if f"{tag}=" not in url]
    if not missing:
        return url
    base, hashed, fragment = url.partition("#")
    joined = "&".join(f"{tag}={quote(str(value), safe='')}" for tag, value in missing)
    return f"{base}{'&' if '?' in base else '?'}{joined}{hashed}{fragment}"


def answer(outcome: service.Outcome, headers: dict[str, str]) -> Response:
    if outcome.dropped:
        return json_response(200, {"success": True}, {**headers, **DROPPED})
    if not outcome.rejected:
        return json_response(200, {"success": True}, headers)
    retry = outcome.retry_after
    index, first = next(((i, e) for i, e in outcome.rejected if e.RETRY_AFTER), outcome.rejected[0])
    body = {**_body(first, f"message {index}: {first.message}"), "accepted": len(outcome.accepted),
            "rejected": [{"index": i, **e.body()} for i, e in outcome.rejected]}  # fmt: skip
    return json_response(503 if retry else first.STATUS_CODE, body, _retry(headers, retry))


def _error(error: IngestError, headers: dict[str, str]) -> Response:
    return json_response(error.STATUS_CODE, _body(error, error.message), _retry(headers, error.RETRY_AFTER))


def _body(error: IngestError, message: str) -> dict[str, Any]:
    # The SDKs read "code" and "message" from an error (segment.analytics.request.APIError).
    return {"success": False, "code": error.CODE, **error.body(), "message": message}


def _retry(headers: dict[str, str], seconds: int | None) -> dict[str, str]:
    return {**headers, "Retry-After": str(seconds)} if seconds else headers
