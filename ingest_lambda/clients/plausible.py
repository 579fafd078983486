"""Plausible's Events API: ``POST /api/event``, as Plausible's own tracker script sends it
(``{"n": "pageview", "u": ..., "d": ..., "r": ..., "p": {...}, "$": {...}, "h": 1}``) and as
its documentation writes it for servers (``name``, ``url``, ``domain``, ``referrer``,
``props``, ``revenue``, ``interactive``).

No key: the site is the one whose domain is ``domain`` (the first of a comma-separated list
that Tally knows), and a browser's Origin must be among that site's origins. The visitor is
the request's: its User-Agent, and its address as on /events. A server relaying visitors'
events (Plausible's documented X-Forwarded-For use) proves itself with the site's secret key
(``Authorization: Bearer sk_...``); the leftmost X-Forwarded-For address is then the visitor.
Answers as Plausible does: 202 ``ok``; refusals are JSON naming the field.
"""

import ipaddress
from typing import Any

from chalice.app import Request, Response

from tally_contract.errors import FieldError
from tally_contract.sites import is_domain_name, normalise_domain

from .. import body, edge, observability, runtime, service
from ..errors import IngestError, InvalidEvent
from ..responses import DROPPED, json_response
from . import common

MAX_DOMAINS = 10
# The tracker's short names, the documented long ones.
FIELDS = {"n": "name", "u": "url", "d": "domain", "r": "referrer", "p": "props", "$": "revenue",
          "i": "interactive", "h": "hashMode", "sd": "scroll_depth", "e": "engagement_ms"}  # fmt: skip


def handle(route: str, request: Request) -> Response:
    origin = request.headers.get("origin")
    try:
        message = _long_names(edge.json_object(common.json_body(request)))
        sender = edge.sender(request, None, edge.bearer_secret(request))
        rt = runtime.get()
        site, server_sender = _site(rt, message.get("domain"), sender)
        visitor_ip = _forwarded_for(request) if server_sender else None
        batch = service.Batch([message], False, None, lambda m: to_event(m, visitor_ip))
        outcome = service.accept_events(rt, site, server_sender, sender, batch)
    except IngestError as error:
        observability.record_refusal(error, 1)
        return _refusal(error, edge.cors_headers(origin, error))
    observability.record_outcome(outcome)
    headers = edge.cors_headers(origin, None)
    if outcome.dropped:
        return _ok({**headers, **DROPPED, "X-Plausible-Dropped": "1"})
    if outcome.rejected:
        return _refusal(outcome.rejected[0][1], headers)
    return _ok(headers)


def _long_names(message: dict[str, Any]) -> dict[str, Any]:
    return {FIELDS.get(name, name): value for name, value in message.items()}


def _site(rt: runtime.Runtime, domains: Any, sender: service.Sender) -> tuple[Any, bool]:
    if not isinstance(domains, str) or not domains.strip():
        raise InvalidEvent("is required: the site's domain", field="domain")
    names = [normalise_domain(name) for name in domains.split(",")[:MAX_DOMAINS] if name.strip()]
    names = [name for name in names if is_domain_name(name)]
    if not names:
        raise InvalidEvent("is not a domain name (a site's domain, as shop.example.com)", field="domain")
    for name in names[:-1]:
        try:
            return service.authenticate_domain(rt, name, sender)
        except IngestError as error:
            if error.field != "domain":
                raise
    return service.authenticate_domain(rt, names[-1] if names else "", sender)


def _forwarded_for(request: Request) -> str | None:
    for hop in (request.headers.get("x-forwarded-for") or "").split(",")[:1]:
        try:
            return str(ipaddress.ip_address(hop.strip()))
        except ValueError:
            return None
    return None


def to_event(message: dict[str, Any], visitor_ip: str | None) -> dict[str, Any]:
    """One Plausible event as a Tally event dict (event.build validates it)."""
    url = message.get("url")
    if not isinstance(url, str) or not url:
        raise FieldError("url", "is required")
    if not message.get("hashMode"):
        url = url.partition("#")[0]  # the fragment is a page only in hash mode, as in Plausible
    props = _object(message.get("props"), "props")
    revenue = _object(message.get("revenue"), "revenue")
    properties = {**common.properties(props), **common.properties({"revenue": revenue} if revenue else {})}
    for name in ("scroll_depth", "engagement_ms"):
        if isinstance(message.get(name), int | float) and not isinstance(message.get(name), bool):
            properties[name] = message[name]
    if message.get("interactive") is False:
        properties["interactive"] = False
    event: dict[str, Any] = {
        "name": message.get("name") or "pageview",
        "url": url,
        "referrer": message.get("referrer") or None,
        "properties": properties,
    }
    if visitor_ip is not None:
        event["ip"] = visitor_ip
    return event


def _object(value: Any, field: str) -> dict[str, Any]:
    """Older trackers send props and revenue as a JSON string of the object."""
    if isinstance(value, str) and value.strip():
        try:
            value = body.parse_json(value.encode("utf-8", "surrogatepass"))
        except IngestError as error:
            raise FieldError(field, error.message) from None
    if value is not None and not isinstance(value, dict):
        raise FieldError(field, "must be an object")
    return value or {}


def _ok(headers: dict[str, str]) -> Response:
    return Response(body=b"ok", status_code=202, headers={**headers, "Content-Type": "text/plain; charset=utf-8"})


def _refusal(error: IngestError, headers: dict[str, str]) -> Response:
    extra = {**headers, "Retry-After": str(error.RETRY_AFTER)} if error.RETRY_AFTER else headers
    errors = {error.field or "body": [error.message]}  # Plausible's own error shape, beside Tally's
    return json_response(error.STATUS_CODE, {"errors": errors, **error.body()}, extra)
