"""The site's privacy settings, applied before an event is queued (tally_contract/privacy.py):
Do Not Track and Global Privacy Control for sites that respect them, the query allowlist on
the URL and referrer, and the IP reduced to what the site keeps, after the daily visitor id
has been computed from the whole address. The queue, the dead-letter queue and every log
then hold no more of a visitor than the stored event does."""

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from tally_contract import geo, privacy
from tally_contract.errors import StorageError
from tally_contract.sites import Site

if TYPE_CHECKING:
    from tally_store.salts import DailySalts

from .errors import QueueRefused


def tracking_refused(headers: Mapping[str, str]) -> bool:
    """``DNT: 1`` (Do Not Track) or ``Sec-GPC: 1`` (Global Privacy Control)."""
    return (headers.get("dnt") or "").strip() == "1" or (headers.get("sec-gpc") or "").strip() == "1"


def reduce(
    event: dict[str, Any], site: Site, salts: "DailySalts", now: float, edge_country: str | None = None
) -> dict[str, Any]:
    """The event as the site stores it (in place; ``event`` is ingest's own new dict). The
    country is the edge's when it sent one; a site that drops IPs has its country looked up here,
    while the address is known (the processor looks the others up on the stored IP)."""
    for name in ("url", "referrer"):
        if event.get(name) is not None:
            event[name] = privacy.keep_query(event[name], site.query_params)
    address = privacy.parse_ip(event.get("ip"))
    visitor = _visitor(event, site, address, salts, now)
    # Only for IP-dropping sites: loading the lookup's database costs a cold start 0.1-0.2 s
    # (bench.ingest's in-script cold start: 1.44x with a lookup for every site, 1.19x without,
    # same loaded machine); the processor looks the others up on the stored IP instead.
    looked_up = str(address) if address is not None and site.ip_handling == "drop" else None
    country = geo.country(edge_country, looked_up)
    if country is not None:
        event["country"] = country
    event["ip"] = privacy.apply_ip_handling(address, site.ip_handling)
    if visitor is not None:
        event["visitor_id"] = visitor
    return event


def _visitor(
    event: dict[str, Any], site: Site, address: privacy.IPAddress | None, salts: "DailySalts", now: float
) -> str | None:
    user = event.get("user_id") or event.get("anonymous_id")
    by_user = site.visitors == privacy.VISITORS_BY_USER and user
    if not by_user and address is None and not event.get("user_agent"):
        return None  # no salt needed: such an event has no visitor
    try:
        # ingest writes event_time as YYYY-MM-DDTHH:MM:SS.mmmZ: its UTC day is its first 10.
        salt = salts.for_day(event["event_time"][:10], now)
    except StorageError:
        raise QueueRefused("visitor ids are unavailable (the salts table did not answer); retry later") from None
    if by_user:
        return privacy.user_visitor_id(event["site"], str(user), salt)
    return privacy.visitor_id(event["site"], address, event.get("user_agent"), salt)
