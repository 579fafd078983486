"""Enrichment: what the processor derives from a queued event before it is stored and counted.

``enrich(event, ip_handling, salt)`` returns a new dict: the event's own fields plus browser,
OS, device and bot flag (useragent.py), page path and host, referrer host and campaign
parameters (referrer.py), an anonymous daily visitor id, the country (tally_contract/geo.py), and the IP after
the site's IP handling. A missing or malformed input gives None for what derives from it, never an
exception: one odd event must not fail the batch it came in.

Ingest already applied the site's IP handling and query allowlist and computed the visitor id
(tally_contract/privacy.py). Both are applied here again, idempotently, for jobs queued before
that and for Rails producers' jobs, which carry the raw IP: for those the id is computed here.
"""

import functools
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from tally_contract import geo
from tally_contract.privacy import DEFAULT_QUERY_PARAMS, apply_ip_handling, keep_query, parse_ip, visitor_id
from tally_contract.timeutil import parse_time

from . import referrer, useragent

__all__ = ["apply_ip_handling", "enrich", "parse_ip", "salt_day", "visitor_id"]


def enrich(
    event: Mapping[str, Any], site_ip_handling: str, salt: bytes, query_params: Sequence[str] = DEFAULT_QUERY_PARAMS
) -> dict[str, Any]:
    """The event with its derived fields. ``salt`` is the salt of the event's UTC day
    (``salt_day``); the input is not modified (nested values such as ``properties`` are
    shared, not copied)."""
    enriched = dict(event)
    allowed = tuple(query_params)
    for name in ("url", "referrer"):
        if isinstance(event.get(name), str):
            enriched[name] = _kept(event[name], allowed)
    enriched.update(useragent.parse(event.get("user_agent")).as_fields())
    enriched.update(referrer.page_fields(enriched.get("url"), enriched.get("referrer")))
    address, stored_ip = _ip(event.get("ip"), site_ip_handling)
    if not isinstance(event.get("visitor_id"), str):
        # The visitor id must see the client's real address: after truncation every visitor
        # behind the same /24 with the same browser build would be one.
        enriched["visitor_id"] = visitor_id(event.get("site"), address, event.get("user_agent"), salt)
    enriched["ip"] = stored_ip
    enriched["country"] = geo.country(event.get("country"), address)
    return enriched


@functools.lru_cache(maxsize=8192)
def _kept(url: str, allowed: tuple[str, ...]) -> str:
    return keep_query(url, allowed)


def _ip(value: object, handling: str) -> tuple[str | None, str | None]:
    """(normalised address, what to store), memoised: busy sites see the same IPs again and
    again, and formatting an address costs more than looking it up."""
    if not isinstance(value, str):
        return None, None
    return _ip_cached(value, handling)


@functools.lru_cache(maxsize=16384)
def _ip_cached(value: str, handling: str) -> tuple[str | None, str | None]:
    address = parse_ip(value)
    return (str(address) if address is not None else None), apply_ip_handling(address, handling)


def salt_day(event_time_iso: str) -> str:
    """The UTC day ("YYYY-MM-DD") whose salt an event's visitor id uses.

    Takes the event's ``event_time`` (ISO-8601; an offset is honoured, none means UTC).
    Raises ``FieldError`` for a value that is no timestamp: there is no right day to guess,
    and the processor only passes event times it has already validated."""
    if len(event_time_iso) == 24 and event_time_iso.endswith("Z"):
        return event_time_iso[:10]  # ingest's own format, already UTC: no need to parse
    return datetime.fromtimestamp(parse_time("event_time", event_time_iso), tz=UTC).strftime("%Y-%m-%d")
