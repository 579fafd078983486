"""Read API and dashboard handlers: one function per route, called from dashboard_app/app.py.

Every handler authenticates first: a session cookie (the dashboard) or ``Authorization:
Bearer`` (scripts). State-changing calls made with the cookie must carry the session's CSRF
token in ``X-CSRF-Token``; a bearer token is never sent by a browser on its own, so it needs none.
"""

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from http.cookies import CookieError, SimpleCookie
from typing import Any

from chalice.app import CaseInsensitiveMapping, Request, Response

from tally_contract.errors import ServiceError

from . import params, runtime
from .auth import AuthError, Principal
from .errors import BadParameter, DashboardError, Forbidden, Unavailable
from .health import health as pipeline_health

Headers = dict[str, str | list[str]]
SESSION_COOKIE = "tally_session"
MAX_BODY = 4096
DEFAULT_HEADERS = {"Content-Type": "application/json", "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"}


def handle(name: str, request: Request) -> Response:
    try:
        return HANDLERS[name](request)
    except ServiceError as exc:  # the store or the queue did not answer: the caller retries
        if not isinstance(exc, DashboardError):
            exc = Unavailable(str(exc), code=exc.code)
        return _refused(exc)
    except DashboardError as exc:
        return _refused(exc)


def _refused(exc: DashboardError) -> Response:
    return json_response(exc.STATUS_CODE, exc.body(), exc.headers())


def http_defaults(request: Request, get_response: Callable[[Request], Response]) -> Response:
    """Chalice HTTP middleware. The app declares every type binary, and Chalice then answers 400
    to a request without an Accept header; RFC 9110 12.5.1 reads a missing Accept as any. And
    Chalice's own answers (405, 415, 500) name no Content-Type: they are JSON, not to be sniffed."""
    if "accept" not in request.headers:
        request.headers = CaseInsensitiveMapping({**request.headers, "accept": "*/*"})
    response = get_response(request)
    for name, value in DEFAULT_HEADERS.items():
        if name.lower() not in {key.lower() for key in response.headers}:
            response.headers[name] = value
    return response


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    base = {"Content-Type": "application/json", "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
    return Response(
        body=json.dumps(body, separators=(",", ":")).encode(), status_code=status, headers={**base, **(headers or {})}
    )


def cookies(request: Request) -> dict[str, str]:
    try:
        jar = SimpleCookie(request.headers.get("cookie") or "")
    except CookieError:
        return {}
    return {name: morsel.value for name, morsel in jar.items()}


def authenticate(request: Request) -> tuple[Principal, bool]:
    """The caller and whether it came by cookie (then CSRF applies)."""
    header = request.headers.get("authorization") or ""
    if header.lower().startswith("bearer "):  # an API token: one read of its record (accounts.py)
        rt = runtime.get()
        token = rt.accounts().bearer(header[7:].strip(), rt.clock())
        if token is None:
            raise AuthError("unknown, revoked or expired token")
        return token.principal(), False
    session = cookies(request).get(SESSION_COOKIE)
    if session:
        rt = runtime.get()
        return rt.sessions().resolve(rt.authenticator(), session), True
    raise AuthError("sign in, or send Authorization: Bearer <token>")


def _reader(request: Request) -> tuple[dict[str, str], str]:
    principal, _ = authenticate(request)
    query = params.query_of(request)
    site = params.site(query)
    if not principal.may_read(site):
        raise Forbidden(f"this token may not read site {site!r}")
    return query, site


def require_admin(request: Request, changes_state: bool = False) -> Principal:
    principal, by_cookie = authenticate(request)
    if not principal.is_admin:
        raise Forbidden("for admins only")
    if (
        changes_state
        and by_cookie
        and not runtime.get().authenticator().csrf_ok(principal, request.headers.get("x-csrf-token"))
    ):
        raise Forbidden("missing or wrong X-CSRF-Token")
    return principal


def sites(request: Request) -> Response:
    principal, _ = authenticate(request)
    stats = runtime.get().stats
    ids = stats.sites() if principal.is_admin else sorted(principal.sites)
    # The one site the page shows (?site=, else the first): its time zone, goals and property keys.
    wanted = params.query_of(request).get("site")
    shown = wanted if wanted in ids else (ids[0] if ids else None)
    return json_response(200, {"sites": ids, "site": stats.about(shown) if shown else None})


def events(request: Request) -> Response:
    query, site = _reader(request)
    limit = params.integer(query, "limit", 50, 1, 200)
    ceiling = params.moment(query, "to", _now() + timedelta(minutes=5))
    floor = params.moment(query, "from", ceiling - timedelta(days=7))
    filters = {}
    if query.get("name"):
        filters["name"] = params.text("name", query["name"])
    if query.get("page"):
        filters["path"] = params.text("page", query["page"])
    cursor = query.get("cursor") or None
    return json_response(200, runtime.get().stats.events(site, cursor, (floor, ceiling), limit, filters))


def query_v2(request: Request) -> Response:
    """Plausible's Stats API v2: the viewer's own site, or any for the admin."""
    from . import query_api

    principal, _ = authenticate(request)
    body = query_api.body_of(raw_body(request))
    site = query_api.site_of(body)
    if not principal.may_read(site):
        raise Forbidden(f"this token may not read site {site!r}")
    rt = runtime.get()
    return json_response(200, query_api.answer(rt.stats.store, rt.site_by_id(), body, rt.clock))


def health(request: Request) -> Response:
    require_admin(request)
    rt = runtime.get()
    return json_response(200, pipeline_health(rt.queue_pipeline(), rt.stats.store))


def dlq(request: Request) -> Response:
    require_admin(request)
    limit = params.integer(params.query_of(request), "limit", 10, 1, 10)
    from .dead_letters import as_stored

    rt = runtime.get()
    messages = rt.queue_pipeline().inspect(limit)
    sites = rt.stats.site_settings() if messages else {}
    return json_response(200, {"messages": as_stored(messages, sites)})


def redrive(request: Request) -> Response:
    principal = require_admin(request, changes_state=True)
    body = json_body(request)
    limit = params.integer({k: str(v) for k, v in body.items()}, "limit", 100, 1, 1000)
    moved = runtime.get().queue_pipeline().redrive(limit)
    rt = runtime.get()
    rt.accounts().record(principal.who, "dlq.redrive", f"{moved['moved']} moved", rt.clock())
    return json_response(200, moved)


def json_body(request: Request) -> dict[str, Any]:
    raw = raw_body(request) or b"{}"
    if len(raw) > MAX_BODY:
        raise BadParameter("body", f"must be at most {MAX_BODY} bytes")
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError) as exc:  # RecursionError: nested deeper than the parser goes
        raise BadParameter("body", "must be a JSON object") from exc
    if not isinstance(body, dict):
        raise BadParameter("body", "must be a JSON object")
    return body


def raw_body(request: Request) -> bytes:
    raw = request.raw_body or b""
    return raw.encode() if isinstance(raw, str) else raw


def _now() -> datetime:
    return datetime.now(UTC)


def _in(module: str, name: str) -> Callable[[Request], Response]:
    """A handler of web.py (pages) or admin.py (sites, users, tokens), imported on first use."""

    def call(request: Request) -> Response:
        import importlib

        handler: Callable[[Request], Response] = getattr(importlib.import_module(f"dashboard.{module}"), name)
        return handler(request)

    return call


HANDLERS: dict[str, Callable[[Request], Response]] = {
    "sites": sites, "events": events, "query": query_v2, "health": health,
    "dlq": dlq,
    "redrive": redrive,
    **{name: _in("web", name) for name in ("page", "login_form", "login", "logout", "static",
                                            "invite_form", "invite")},
    **{name: _in("admin", name) for name in ("site_list", "site_create", "site_edit", "site_delete", "user_list",
                                              "user_invite", "user_edit", "user_remove", "token_list", "token_mint",
                                              "token_revoke", "audit")},
    **{f"v1_{name}": _in("v1_api", name) for name in ("aggregate", "timeseries", "breakdown", "realtime")},
    "v1_sites": _in("v1_api", "site_list"),
    **{name: _in("exports", name) for name in ("export_csv", "export_events")},
}  # fmt: skip
