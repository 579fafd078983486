"""Plausible's Stats API v1 (``GET /api/v1/stats/...``) for the Plausible clients people already
run: a view of the v2 engine (tally_query/v1.py), with the same Bearer tokens, site scoping,
bounds and errors as ``POST /api/v2/query``. ``GET /api/v1/sites`` lists the sites the token
reads, in the shape of Plausible's Sites API (clients check a key with it)."""

from collections.abc import Callable, Mapping
from typing import Any

from chalice.app import Request, Response

from tally_query import v1
from tally_query.engine import Engine
from tally_query.errors import QueryError
from tally_query.reading import Lagging

from . import params, runtime
from .errors import Forbidden, Unavailable
from .query_api import QueryRefused
from .routes import authenticate, json_response


def aggregate(request: Request) -> Response:
    return _answer(request, v1.aggregate)


def timeseries(request: Request) -> Response:
    return _answer(request, v1.timeseries)


def breakdown(request: Request) -> Response:
    return _answer(request, v1.breakdown)


def realtime(request: Request) -> Response:
    return _answer(request, v1.realtime_visitors)


def site_list(request: Request) -> Response:
    principal, _ = authenticate(request)
    rt = runtime.get()
    ids = rt.stats.sites() if principal.is_admin else sorted(principal.sites)
    settings = rt.stats.site_settings()
    shown = [{"domain": site_id, "timezone": settings[site_id].timezone} for site_id in ids if site_id in settings]
    return json_response(200, {"sites": shown, "meta": {"after": None, "before": None, "limit": len(shown)}})


def _answer(request: Request, view: Callable[[Engine, Mapping[str, str]], Any]) -> Response:
    principal, _ = authenticate(request)
    query = params.query_of(request)
    site = query.get("site_id") or ""
    if not site:
        raise QueryRefused(QueryError("site_id", "is required: the site's id"))
    if not principal.may_read(site):
        raise Forbidden(f"this token may not read site {site!r}")
    rt = runtime.get()
    try:
        return json_response(200, view(Engine(rt.stats.store, rt.site_by_id(), rt.clock), query))
    except Lagging as exc:
        raise Unavailable(str(exc)) from None
    except QueryError as exc:
        raise QueryRefused(exc) from None
