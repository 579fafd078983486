"""The admin API: sites, users, API tokens and the audit log (docs/dashboard.md, "Endpoints").

Admin only; with the session cookie, every change needs the session's CSRF token. Each handler
checks its input (a 400 naming the field), does one thing through the site store or the
accounts (accounts.py), and notes it in the audit log.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict

from chalice.app import Request, Response

from tally_contract import sites as site_model
from tally_contract.sites import NoSuchSite, SiteExists

from . import params, runtime
from .accounts import AccountError, NotFound
from .auth import Principal
from .errors import BadParameter, Conflict, Missing
from .routes import json_body, json_response, require_admin
from .site_settings import SettingError, edited, parse, shown, site_id

# How long after a deletion the purge has removed the site's data (dashboard/purge.py).
PURGE_NOTE = "its data is deleted by the purge function within about 15 minutes"


@contextmanager
def _checked() -> Iterator[None]:
    """The site store's and the accounts' refusals as the HTTP answers they are."""
    try:
        yield
    except NotFound as exc:
        raise Missing(str(exc)) from None
    except (AccountError, SettingError) as exc:
        raise BadParameter(exc.field, exc.message) from None
    except SiteExists as exc:
        raise Conflict(f"site {exc} exists, or is still being deleted") from None
    except NoSuchSite as exc:
        raise Missing(f"no site {exc}") from None


def _did(principal: Principal, action: str, target: str) -> None:
    rt = runtime.get()
    rt.accounts().record(principal.who, action, target, rt.clock())


def _path(request: Request, name: str) -> str:
    return str((request.uri_params or {}).get(name, ""))


def _site_of(request: Request) -> str:
    with _checked():
        return site_id(_path(request, "site"))


def _known(sites: object) -> list[str]:
    """Sites a user or token is given: each must exist."""
    if not isinstance(sites, list) or not all(isinstance(site, str) for site in sites):
        raise BadParameter("sites", "must be a list of site ids")
    live = set(runtime.get().stats.sites())
    unknown = [site for site in sites if site not in live]
    if unknown:
        raise BadParameter("sites", f"no site {str(unknown[0])[:64]!r}")
    return sites


def site_list(request: Request) -> Response:
    require_admin(request)
    live, gone = runtime.get().site_admin().listing()
    deletions = [{**asdict(d), "resume": None} for d in gone]
    return json_response(200, {"sites": [shown(site) for site in live], "deletions": deletions})


def site_create(request: Request) -> Response:
    principal = require_admin(request, changes_state=True)
    body = json_body(request)
    with _checked():
        new_id = site_id(body.pop("site", None))
        created = site_model.create(new_id, **parse(body))
        runtime.get().site_admin().create(created.site)
    _did(principal, "site.create", new_id)
    return json_response(201, {**shown(created.site), "secret_key": created.secret_key})


def site_edit(request: Request) -> Response:
    principal = require_admin(request, changes_state=True)
    chosen, body = _site_of(request), json_body(request)
    store = runtime.get().site_admin()
    site = store.by_id(chosen)
    if site is None or site.deleted_at is not None:
        raise Missing(f"no site {chosen!r}")
    with _checked():
        changed = edited(site, body)
        store.update(changed)
    _did(principal, "site.edit", f"{chosen}: {', '.join(sorted(body))}")
    return json_response(200, shown(changed))


def site_delete(request: Request) -> Response:
    principal = require_admin(request, changes_state=True)
    chosen = _site_of(request)
    rt = runtime.get()
    at = rt.clock()
    with _checked():
        rt.site_admin().delete(chosen, at)
    rt.accounts().forget_site(chosen)
    _did(principal, "site.delete", chosen)
    return json_response(202, {"site": chosen, "deleted_at": at, "note": PURGE_NOTE})


def user_list(request: Request) -> Response:
    require_admin(request)
    return json_response(200, {"users": [user.shown() for user in runtime.get().accounts().users()]})


def user_invite(request: Request) -> Response:
    principal = require_admin(request, changes_state=True)
    body = json_body(request)
    role = body.get("role", "viewer")
    sites = _known(body.get("sites", [])) if role == "viewer" else []
    rt = runtime.get()
    with _checked():
        code = rt.accounts().invite(str(body.get("name", "")), role, sites, principal.who, rt.clock())
        user = rt.accounts().user(str(body.get("name", "")).lower())
    assert user is not None
    _did(principal, "user.invite", user.name)
    return json_response(201, {**user.shown(), "invitation": f"dashboard/invite?code={code}"})


def user_edit(request: Request) -> Response:
    principal = require_admin(request, changes_state=True)
    body = json_body(request)
    sites = _known(body["sites"]) if "sites" in body else None
    with _checked():
        user = runtime.get().accounts().change(_path(request, "name"), body.get("role"), sites)
    _did(principal, "user.edit", user.name)
    return json_response(200, user.shown())


def user_remove(request: Request) -> Response:
    principal = require_admin(request, changes_state=True)
    name = _path(request, "name")
    with _checked():
        removed = runtime.get().accounts().remove(name)
    if not removed:
        raise Missing(f"no user {name[:64]!r}")
    _did(principal, "user.remove", name)
    return json_response(200, {"removed": name})


def token_list(request: Request) -> Response:
    require_admin(request)
    return json_response(200, {"tokens": [token.shown() for token in runtime.get().accounts().tokens()]})


def token_mint(request: Request) -> Response:
    """A new API token, shown once. ``{"site": "shop"}`` alone: a read token of that site."""
    principal = require_admin(request, changes_state=True)
    body = json_body(request)
    if set(body) == {"site"}:
        body = {"name": f"viewer of {str(body['site'])[:64]}", "scope": "read", "sites": [body["site"]]}
    scope = body.get("scope", "read")
    sites = _known(body.get("sites", [])) if scope == "read" else []
    rt = runtime.get()
    with _checked():
        token, secret = rt.accounts().mint(str(body.get("name", "")), scope, sites, principal.who, rt.clock(),
                                           body.get("expires_days"))  # fmt: skip
    _did(principal, "token.mint", f"{token.id} ({token.name})")
    return json_response(201, {**token.shown(), "token": secret})


def token_revoke(request: Request) -> Response:
    principal = require_admin(request, changes_state=True)
    token_id = _path(request, "token_id")
    if not runtime.get().accounts().revoke(token_id):
        raise Missing(f"no token {token_id[:64]!r}")
    _did(principal, "token.revoke", token_id)
    return json_response(200, {"revoked": token_id})


def audit(request: Request) -> Response:
    require_admin(request)
    limit = params.integer(params.query_of(request), "limit", 100, 1, 500)
    return json_response(200, {"entries": runtime.get().accounts().log(limit)})
