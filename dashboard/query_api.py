"""``POST /api/v2/query`` (Plausible's Stats API v2) over the query engine (tally_query): the
JSON body in, Plausible's answer out; a query the engine refuses is a 400 naming the field, a
rollup too far behind a 503. Sites are read by id and kept a minute per instance."""

import json
import threading
import time
from collections.abc import Callable
from typing import Any

from tally_contract.sites import Site
from tally_query.engine import Engine
from tally_query.errors import QueryError, TooCostly
from tally_query.parse import parse
from tally_query.reading import Lagging
from tally_store.base import Store

from .errors import DashboardError, Unavailable

MAX_QUERY_BODY = 16 * 1024
SITE_SECONDS = 60.0


class QueryRefused(DashboardError):
    """400 in Plausible's shape (``{"error": message}``), naming the field at fault."""

    CODE = "bad_query"

    def __init__(self, exc: QueryError) -> None:
        super().__init__(str(exc))
        self.exc = exc

    def body(self) -> dict[str, str]:
        found = {"error": self.exc.message, "parameter": self.exc.field}
        return {**found, "bound": "exceeded"} if isinstance(self.exc, TooCostly) else found


class SiteCache:
    """Sites by id for a minute: a query reads its site's time zone, goals and properties."""

    def __init__(self, lookup: Callable[[str], Site | None], clock: Callable[[], float] = time.monotonic) -> None:
        self._lookup, self._clock = lookup, clock
        self._held: dict[str, tuple[float, Site | None]] = {}
        self._lock = threading.Lock()

    def __call__(self, site_id: str) -> Site | None:
        now = self._clock()
        with self._lock:
            hit = self._held.get(site_id)
        if hit is not None and hit[0] > now:
            return hit[1]
        site = self._lookup(site_id)
        with self._lock:
            if len(self._held) > 1024:
                self._held.clear()
            self._held[site_id] = (now + SITE_SECONDS, site)
        return site


def body_of(raw: bytes) -> Any:
    if len(raw) > MAX_QUERY_BODY:
        raise QueryRefused(QueryError("body", f"must be at most {MAX_QUERY_BODY} bytes"))
    try:
        return json.loads(raw or b"null")
    except (ValueError, RecursionError):
        raise QueryRefused(QueryError("body", "must be a JSON object")) from None


def site_of(body: Any) -> str:
    """The site asked for, checked before anything is read (parse names a bad one)."""
    try:
        return parse(body).site_id
    except QueryError as exc:
        raise QueryRefused(exc) from None


def answer(store: Store, sites: Callable[[str], Site | None], body: Any, clock: Callable[[], float] = time.time
           ) -> dict[str, Any]:  # fmt: skip
    try:
        return Engine(store, sites, clock).run(body)
    except Lagging as exc:
        raise Unavailable(str(exc)) from None
    except QueryError as exc:
        raise QueryRefused(exc) from None
