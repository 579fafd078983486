"""The dashboard's HTML: login, the page, its static assets. All from the package: no CDN."""

import html
import secrets
from pathlib import Path
from urllib.parse import parse_qs

from chalice.app import Request, Response

from . import runtime
from .auth import SESSION_SECONDS, AuthError
from .routes import SESSION_COOKIE, Headers, authenticate, cookies, raw_body

STATIC = Path(__file__).resolve().parent / "static"
ASSETS = {"app.js": "text/javascript; charset=utf-8", "app.css": "text/css; charset=utf-8"}
LOGIN_COOKIE = "tally_login"
MAX_FORM = 2048
SECURITY = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
# Relative links: the page lives at <stage>/dashboard, whatever the API Gateway stage prefix is.
HOME = "../dashboard"


def _cookie(name: str, value: str, max_age: int) -> str:
    return f"{name}={value}; Path=/; Max-Age={max_age}; HttpOnly; Secure; SameSite=Strict"


def _html(status: int, body: str, headers: dict[str, str] | None = None) -> Response:
    base: Headers = {"Content-Type": "text/html; charset=utf-8", **SECURITY}
    return Response(body=body.encode(), status_code=status, headers={**base, **(headers or {})})


def _redirect(location: str, cookie: str | None = None) -> Response:
    headers: Headers = {"Location": location, "Cache-Control": "no-store"}
    if cookie:
        headers["Set-Cookie"] = cookie
    return Response(body=b"", status_code=303, headers=headers)


def page(request: Request) -> Response:
    try:
        principal, _ = authenticate(request)
    except AuthError:
        return _redirect("dashboard/login")
    csrf = runtime.get().authenticator().csrf_token(principal)
    text = (STATIC / "index.html").read_text()
    text = text.replace("{{csrf}}", html.escape(csrf)).replace("{{scope}}", html.escape(principal.scope))
    return _html(200, text)


def login_form(request: Request, status: int = 200, error: str = "", headers: dict[str, str] | None = None) -> Response:
    nonce = secrets.token_urlsafe(16)
    csrf = runtime.get().authenticator().login_csrf(nonce)
    text = (STATIC / "login.html").read_text()
    text = text.replace("{{csrf}}", html.escape(csrf)).replace("{{error}}", html.escape(error))
    return _html(status, text, {"Set-Cookie": _cookie(LOGIN_COOKIE, nonce, 600), **(headers or {})})


def login(request: Request) -> Response:
    rt = runtime.get()
    auth = rt.authenticator()
    raw = raw_body(request)
    form = {k: v[0] for k, v in parse_qs(raw[:MAX_FORM].decode("utf-8", "replace")).items()}
    nonce = cookies(request).get(LOGIN_COOKIE, "")
    if not nonce or not secrets.compare_digest(auth.login_csrf(nonce), form.get("csrf", "")):
        return login_form(request, 403, "The form expired. Please try again.")
    client = str((request.context.get("identity") or {}).get("sourceIp") or "unknown")
    wait = rt.throttle.wait_for(client)
    if wait > 0:
        retry = str(int(wait) + 1)
        return login_form(request, 429, f"Too many failed attempts. Try again in {retry} s.", {"Retry-After": retry})
    scope = _scope(form)
    if scope is None:
        rt.throttle.failed(client)
        return login_form(request, 401, "Wrong password or token.")
    rt.throttle.succeeded(client)
    session = auth.issue("s", scope, SESSION_SECONDS)
    return _redirect(HOME, _cookie(SESSION_COOKIE, session, SESSION_SECONDS))


def _scope(form: dict[str, str]) -> str | None:
    auth = runtime.get().authenticator()
    if form.get("password"):
        return "admin" if auth.check_password(form["password"]) else None
    if form.get("token"):
        try:
            return auth.verify(form["token"], "t").scope
        except AuthError:
            return None
    return None


def logout(request: Request) -> Response:
    try:
        principal, _ = authenticate(request)
    except AuthError:
        return _redirect("login")
    form = {k: v[0] for k, v in parse_qs(raw_body(request)[:MAX_FORM].decode("utf-8", "replace")).items()}
    if not runtime.get().authenticator().csrf_ok(principal, form.get("csrf")):
        return _html(403, "<p>Missing or wrong CSRF token.</p>")
    return _redirect("login", _cookie(SESSION_COOKIE, "", 0))


def static(request: Request) -> Response:
    name = (request.uri_params or {}).get("name", "")
    if name not in ASSETS:
        return Response(body=b"not found", status_code=404, headers={"Content-Type": "text/plain"})
    headers: Headers = {
        "Content-Type": ASSETS[name],
        "Cache-Control": "public, max-age=300",
        "X-Content-Type-Options": "nosniff",
    }
    return Response(body=(STATIC / name).read_bytes(), status_code=200, headers=headers)
