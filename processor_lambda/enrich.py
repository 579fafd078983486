"""Enrichment: what the processor derives from a queued event before it is stored and counted.

``enrich(event, ip_handling, salt)`` returns a new dict: the event's own fields plus browser,
OS, device and bot flag (useragent.py), page path and host, referrer host and campaign
parameters (referrer.py), an anonymous daily visitor id, the country (geo.py), and the IP after
the site's IP handling. A missing or malformed input gives None for what derives from it, never an
exception: one odd event must not fail the batch it came in.
"""

import functools
import hashlib
import ipaddress
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from tally_contract.timeutil import parse_time

from . import geo, referrer, useragent

# Anything longer is no IP address; the check keeps ipaddress from reading a megabyte of junk.
_MAX_IP = 64
_IPV4_TRUNCATE = 0xFFFF_FF00  # keep /24
_IPV6_TRUNCATE = ((1 << 48) - 1) << 80  # keep /48
_MAX_KEY = 64  # BLAKE2b's longest key

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def enrich(event: Mapping[str, Any], site_ip_handling: str, salt: bytes) -> dict[str, Any]:
    """The event with its derived fields. ``salt`` is the salt of the event's UTC day
    (``salt_day``); the input is not modified (nested values such as ``properties`` are
    shared, not copied)."""
    enriched = dict(event)
    enriched.update(useragent.parse(event.get("user_agent")).as_fields())
    enriched.update(referrer.page_fields(event.get("url"), event.get("referrer")))
    address, stored_ip = _ip(event.get("ip"), site_ip_handling)
    # The visitor id must see the client's real address: after truncation every visitor
    # behind the same /24 with the same browser build would be one.
    enriched["visitor_id"] = visitor_id(event.get("site"), address, event.get("user_agent"), salt)
    enriched["ip"] = stored_ip
    enriched["country"] = geo.country(event.get("country"), address)
    return enriched


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


def parse_ip(value: object) -> IPAddress | None:
    if not isinstance(value, str) or len(value) > _MAX_IP:
        return None
    try:
        address = ipaddress.ip_address(value.strip())
    except ValueError:
        return None
    # A dual-stack socket reports an IPv4 client as ::ffff:a.b.c.d; it is still that IPv4
    # client, and truncating it as IPv6 (/48) would keep the whole address.
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def apply_ip_handling(address: IPAddress | None, handling: str) -> str | None:
    """The IP to store: "keep" as is, "truncate" to its /24 (IPv4) or /48 (IPv6), "drop"
    none. An unknown setting drops it: when in doubt, keep less personal data."""
    if address is None or handling not in ("keep", "truncate"):
        return None
    if handling == "keep":
        return str(address)
    if isinstance(address, ipaddress.IPv4Address):
        return str(ipaddress.IPv4Address(int(address) & _IPV4_TRUNCATE))
    return str(ipaddress.IPv6Address(int(address) & _IPV6_TRUNCATE))


def visitor_id(site: object, address: IPAddress | str | None, user_agent: object, salt: bytes) -> str | None:
    """32 hex characters identifying (site, IP, user agent) within one salt's day.

    A keyed BLAKE2b hash: once the day's salt is deleted nobody can get back from the id to
    the IP, nor link a visitor across days or sites. None when there is neither IP nor user
    agent, since every such event (server-side events, say) would otherwise be one visitor."""
    ua = user_agent if isinstance(user_agent, str) else ""
    if not address and not ua:
        return None
    key = bytes(salt) if len(salt) <= _MAX_KEY else hashlib.blake2b(salt).digest()
    digest = hashlib.blake2b(key=key, digest_size=16)
    for part in (str(site or ""), str(address or ""), ua):
        # Length-prefixed, so no choice of site and user agent can collide with another split.
        data = part.encode("utf-8", "surrogatepass")
        digest.update(len(data).to_bytes(4, "big"))
        digest.update(data)
    return digest.hexdigest()
