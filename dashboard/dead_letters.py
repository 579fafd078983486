"""Dead letters as the DLQ panel shows them: what the site would store, never more.

Ingest applies each site's IP handling and query allowlist before queueing, so new jobs hold
only that already; a job queued before (or by a Rails producer) may hold a raw IP and a full
URL, and the panel reduces it the same way (tally_contract/privacy.py) before showing it.
A body that is no job is shown as it is: there is nothing of a visitor in it to find."""

from collections.abc import Mapping
from typing import Any

from tally_contract import envelope, privacy, wire
from tally_contract.errors import EnvelopeError
from tally_contract.sites import Site

SHOWN_BODY = 4000
DEFAULT = Site(site_id="", write_key="", secret_hash="")  # an unknown site: the defaults, privacy first


def as_stored(messages: list[dict[str, Any]], sites: Mapping[str, Site]) -> list[dict[str, Any]]:
    return [{**message, "body": _shown(str(message.get("body", "")), sites)[:SHOWN_BODY]} for message in messages]


def _shown(body: str, sites: Mapping[str, Site]) -> str:
    try:
        job = envelope.decode(body)
    except EnvelopeError:
        return body
    payload = dict(job.payload)
    args = payload.get("args")
    if job.is_activejob or not isinstance(args, list):
        return _activejob(payload, sites)
    payload["args"] = [_reduced(arg, sites) for arg in args]
    return wire.dumps(payload)


def _activejob(payload: dict[str, Any], sites: Mapping[str, Site]) -> str:
    wrapped = payload.get("args")
    if isinstance(wrapped, list) and wrapped and isinstance(wrapped[0], dict):
        inner = dict(wrapped[0])
        arguments = inner.get("arguments")
        if isinstance(arguments, list):
            inner["arguments"] = [_reduced(arg, sites) for arg in arguments]
        payload["args"] = [inner, *wrapped[1:]]
    return wire.dumps(payload)


def _reduced(event: Any, sites: Mapping[str, Site]) -> Any:
    if not isinstance(event, dict):
        return event
    site = sites.get(str(event.get("site", ""))) or DEFAULT
    shown = dict(event)
    for name in ("url", "referrer"):
        if isinstance(shown.get(name), str):
            shown[name] = privacy.keep_query(shown[name], site.query_params)
    if "ip" in shown:
        shown["ip"] = privacy.apply_ip_handling(privacy.parse_ip(shown["ip"]), site.ip_handling)
    return shown
