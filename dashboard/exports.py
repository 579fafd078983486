"""Downloads, with the read API's access (a session, or a Bearer token that may read the site):
``GET /api/export/csv``, the dashboard's panels for a range and filters as a zip of CSV files
(tally_export/csv_zip.py), and ``GET /api/export/events``, a range's raw events as NDJSON.gz in
bounded parts, each naming the next in ``Tally-Next-Cursor`` and ``Link: <...>; rel="next"``
(tally_export/parts.py). Bounds: docs/dashboard.md, "Exports"."""

import json
import re
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from chalice.app import Request, Response

from tally_export import csv_zip, parts
from tally_query.engine import Engine
from tally_query.errors import QueryError
from tally_query.reading import Lagging

from . import params, runtime
from .errors import BadParameter, Forbidden, Unavailable
from .query_api import MAX_QUERY_BODY, QueryRefused
from .routes import authenticate

UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def export_csv(request: Request) -> Response:
    query, site_id = _reader(request)
    rt = runtime.get()
    try:
        date_range = csv_zip.checked_range(params.text("date_range", query.get("date_range", "30d")))
        filters = _filters(query.get("filters", ""))
        site = rt.site_by_id()(site_id)
        if site is None:
            raise QueryError("site_id", f"no site {site_id!r}")
        body = csv_zip.build(Engine(rt.stats.store, rt.site_by_id(), rt.clock), site, date_range, filters)
    except Lagging as exc:
        raise Unavailable(str(exc)) from None
    except QueryError as exc:
        raise QueryRefused(exc) from None
    shown = UNSAFE.sub("_", query.get("date_range", "30d"))[:40]
    return _download(body, "application/zip", f"tally-{site_id}-{shown}.zip", {})


def export_events(request: Request) -> Response:
    query, site_id = _reader(request)
    window = _window(query)
    try:
        at = parts.position_of(query["cursor"], *window) if query.get("cursor") else None
    except parts.BadCursor as exc:
        raise BadParameter("cursor", str(exc)) from None
    rt = runtime.get()
    made = parts.part(rt.stats.store, site_id, window, at, clock=rt.clock)
    headers = {"Tally-Events": str(made.events)}
    if made.next is not None:
        cursor = made.next.cursor()
        following = {"site_id": site_id, "from": query["from"], "to": query["to"], "cursor": cursor}
        headers |= {"Tally-Next-Cursor": cursor, "Link": f'<?{urlencode(following)}>; rel="next"'}
    name = f"tally-{site_id}-{UNSAFE.sub('_', query['from'])}-{UNSAFE.sub('_', query['to'])}.ndjson.gz"
    return _download(made.body, "application/gzip", name, headers)


def _reader(request: Request) -> tuple[dict[str, str], str]:
    principal, _ = authenticate(request)
    query = params.query_of(request)
    try:
        site_id = params.site({"site": query.get("site_id", "")})
    except BadParameter as exc:
        raise BadParameter("site_id", exc.message) from None
    if not principal.may_read(site_id):
        raise Forbidden(f"this token may not read site {site_id!r}")
    return query, site_id


def _window(query: dict[str, str]) -> tuple[datetime, datetime]:
    for name in ("from", "to"):
        if not query.get(name):
            raise BadParameter(name, "is required: an ISO date or time in UTC")
    try:
        return parts.window_of(params.text("from", query["from"]), params.text("to", query["to"]))
    except parts.BadWindow as exc:
        raise BadParameter(exc.field, exc.message) from None


def _filters(text: str) -> Any:
    if not text:
        return []
    if len(text) > MAX_QUERY_BODY:
        raise QueryError("filters", f"must be at most {MAX_QUERY_BODY} characters")
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        raise QueryError("filters", "must be the Stats API's filters as JSON") from None


def _download(body: bytes, content_type: str, name: str, headers: dict[str, str]) -> Response:
    return Response(body=body, status_code=200, headers={
        "Content-Type": content_type, "Content-Disposition": f'attachment; filename="{name}"',
        "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff", **headers,
    })  # fmt: skip
