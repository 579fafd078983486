"""The dashboard's HTML: login, invitations, the page, their static assets. All from the
package: no CDN."""

import html
import math
import secrets
from pathlib import Path
from urllib.parse import parse_qs

from chalice.app import Request, Response

from tally_contract.clientip import client_ip

from . import runtime
from .accounts import AccountError, NotFound, session_credential
from .auth import AuthError, same
from .routes import SESSION_COOKIE, Headers, authenticate, cookies, raw_body
from .sessions import DEVICE_SECONDS, SESSION_SECONDS, Claim, client_key, new_device

STATIC = Path(__file__).resolve().parent / "static"
# The page's scripts, small files loaded in order (index.html): no bundler, no build step.
SCRIPTS = ("api", "state", "headline", "chart", "panels", "events", "export", "admin", "app")
ASSETS = {**{f"{name}.js": "text/javascript; charset=utf-8" for name in SCRIPTS}, "app.css": "text/css; charset=utf-8"}
LOGIN_COOKIE = "tally_login"
DEVICE_COOKIE = "tally_device"
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


def _redirect(location: str, *set_cookies: str) -> Response:
    headers: Headers = {"Location": location, "Cache-Control": "no-store"}
    if set_cookies:
        headers["Set-Cookie"] = set_cookies[0] if len(set_cookies) == 1 else list(set_cookies)
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
    return _form_page("login.html", status, error, headers)


def _form_page(template: str, status: int, error: str, headers: dict[str, str] | None, **fields: str) -> Response:
    nonce = secrets.token_urlsafe(16)
    csrf = runtime.get().authenticator().login_csrf(nonce)
    text = (STATIC / template).read_text()
    for name, value in {"csrf": csrf, "error": error, **fields}.items():
        text = text.replace("{{" + name + "}}", html.escape(value))
    return _html(status, text, {"Set-Cookie": _cookie(LOGIN_COOKIE, nonce, 600), **(headers or {})})


def _claim(request: Request, form: dict[str, str]) -> Claim | float | None:
    """A claim to check the form's credential (the login backoff), the seconds to wait, or
    None when the form's CSRF token is wrong."""
    rt = runtime.get()
    auth = rt.authenticator()
    jar = cookies(request)
    nonce = jar.get(LOGIN_COOKIE, "")
    if not nonce or not same(auth.login_csrf(nonce), form.get("csrf", "")):
        return None
    return rt.backoff().begin(client_key(auth, jar.get(DEVICE_COOKIE), _address(request)))


def login(request: Request) -> Response:
    form = _form(request)
    claim = _claim(request, form)
    if claim is None:
        return login_form(request, 403, "The form expired. Please try again.")
    if isinstance(claim, float):
        retry = str(max(1, math.ceil(claim)))
        return login_form(request, 429, f"Too many failed attempts. Try again in {retry} s.", {"Retry-After": retry})
    rt = runtime.get()
    credential = _credential(form)
    if credential is None:
        rt.backoff().failed(claim)
        return login_form(request, 401, "Wrong name, password or token.")
    rt.backoff().succeeded(claim)
    return _signed_in(request, *credential)


def _signed_in(request: Request, scope: str, opened_by: str, expires: float | None, who: str, admin: bool) -> Response:
    rt = runtime.get()
    auth = rt.authenticator()
    session = rt.sessions().open(auth, scope, opened_by, expires)
    rt.accounts().record(who, "sign-in", opened_by.rpartition(":")[0] or opened_by, rt.clock())
    lifetime = int(min(SESSION_SECONDS, (expires or float("inf")) - rt.clock()))
    set_cookies = [_cookie(SESSION_COOKIE, session, max(lifetime, 1))]
    if admin and not opened_by.startswith("token:"):  # only admins' own browsers escape their address's backoff
        set_cookies.append(
            _cookie(DEVICE_COOKIE, new_device(auth, cookies(request).get(DEVICE_COOKIE)), DEVICE_SECONDS)
        )
    return _redirect(HOME, *set_cookies)


def _credential(form: dict[str, str]) -> tuple[str, str, float | None, str, bool] | None:
    """(scope, what opened the session, when that credential expires, who, an admin?), or None."""
    rt = runtime.get()
    if form.get("name") and form.get("password"):
        user = rt.accounts().sign_in(form["name"], form["password"])
        if user is None:
            return None
        return user.scope, session_credential(user), None, f"user:{user.name}", user.role == "admin"
    if form.get("password"):
        if not rt.authenticator().check_password(form["password"]):
            return None
        return "admin", "password", None, "admin", True
    if form.get("token"):
        token = rt.accounts().bearer(form["token"], rt.clock())
        if token is None:
            return None
        return token.principal().scope, f"token:{token.id}", token.expires_at, f"token:{token.id}", False
    return None


def invite_form(request: Request) -> Response:
    code = str(dict(request.query_params or {}).get("code", ""))
    name = runtime.get().accounts().invited(code, runtime.get().clock())
    if name is None:
        return _html(404, "<p>This invitation is unknown, used or expired. Ask an admin for a new one.</p>")
    return _form_page("invite.html", 200, "", None, name=name, code=code)


def invite(request: Request) -> Response:
    """Accept an invitation: the user's own password, then a session."""
    form = _form(request)
    claim = _claim(request, form)
    if not isinstance(claim, Claim):
        return _html(403 if claim is None else 429, "<p>The form expired, or too many attempts: try again.</p>")
    rt = runtime.get()
    code, password = form.get("code", ""), form.get("password", "")
    if password != form.get("confirm", ""):
        rt.backoff().succeeded(claim)
        return _form_page("invite.html", 400, "The passwords differ.", None, name=form.get("name", ""), code=code)
    try:
        user = rt.accounts().accept(code, password, rt.clock())
    except NotFound:
        rt.backoff().failed(claim)
        return _html(404, "<p>This invitation is unknown, used or expired. Ask an admin for a new one.</p>")
    except AccountError as exc:
        rt.backoff().succeeded(claim)
        return _form_page("invite.html", 400, exc.message, None, name=form.get("name", ""), code=code)
    rt.backoff().succeeded(claim)
    return _signed_in(request, user.scope, session_credential(user), None, f"user:{user.name}", user.role == "admin")


def _address(request: Request) -> str | None:
    source = (request.context.get("identity") or {}).get("sourceIp")
    return client_ip(source, request.headers.get("x-forwarded-for"), runtime.get().trusted_proxies)


def _form(request: Request) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(raw_body(request)[:MAX_FORM].decode("utf-8", "replace")).items()}


def logout(request: Request) -> Response:
    try:
        principal, _ = authenticate(request)
    except AuthError:
        return _redirect("login")
    rt = runtime.get()
    if not rt.authenticator().csrf_ok(principal, _form(request).get("csrf")):
        return _html(403, "<p>Missing or wrong CSRF token.</p>")
    rt.sessions().close(rt.authenticator(), cookies(request).get(SESSION_COOKIE, ""))
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
