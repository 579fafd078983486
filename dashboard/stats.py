"""What the read API answers besides the query engine: the site list, a site's settings and
its raw events (raw_events.py, a listing, not an aggregate read) over the store."""

import base64
from datetime import datetime
from typing import Any, Protocol

from tally_contract.sites import Site
from tally_store.base import Store

from . import params, raw_events
from .errors import BadParameter

SHOWN_FIELDS = ("event_id", "event_time", "name", "path", "url", "referrer_host", "browser", "os", "device",
                "utm_source", "visitor_id", "properties")  # fmt: skip


class SiteList(Protocol):
    def site_ids(self) -> list[str]: ...

    def by_id(self, site_id: str) -> Site | None: ...

    def all_sites(self) -> list[Site]: ...


class Stats:
    def __init__(self, store: Store, sites: SiteList) -> None:
        self.store = store
        self.site_list = sites

    def events(
        self, site: str, cursor: str | None, window: tuple[datetime, datetime], limit: int, filters: dict[str, str]
    ) -> dict[str, Any]:
        """Newest first, below ``cursor`` (or the window's end), not older than its start: at
        most raw_events.MAX_WINDOWS reads (docs/dashboard.md)."""
        floor, ceiling = window
        below = _decode_cursor(cursor) if cursor else raw_events.after(ceiling)
        found, more = raw_events.Reader(self.store).newest(site, below, floor, limit, filters)
        return {"site": site, "events": raw_events.shown(found, SHOWN_FIELDS),
                "cursor": _encode_cursor(more) if more else None}  # fmt: skip

    def sites(self) -> list[str]:
        return self.site_list.site_ids()

    def about(self, site_id: str) -> dict[str, Any] | None:
        """What the dashboard reports a site in: its time zone, goals and declared property keys."""
        site = self.site(site_id)
        if site is None:
            return None
        return {"id": site_id, "timezone": site.timezone, "goals": list(site.goals), "props": list(site.props)}

    def site(self, site_id: str) -> Site | None:
        return self.site_list.by_id(site_id)

    def site_settings(self) -> dict[str, Site]:
        return {site.site_id: site for site in self.site_list.all_sites()}


def _encode_cursor(position: str) -> str:
    return base64.urlsafe_b64encode(position.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> str:
    try:
        position = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except ValueError as exc:
        raise BadParameter("cursor", "is not a cursor this API returned") from exc
    minute = params.parse_moment(position[:16])  # the listing reads from this minute back
    if minute is None or not params.EARLIEST <= minute <= params.LATEST:
        raise BadParameter("cursor", "is not a cursor this API returned")
    return position
