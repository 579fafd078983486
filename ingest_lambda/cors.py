"""CORS driven by each site's allowed origins."""

import re

from tally_contract.sites import Site

ALLOWED_HEADERS = "Content-Type, Content-Encoding, X-Tally-Key, Authorization"
MAX_AGE = "86400"
# An Origin is "null" or scheme://host[:port]; anything else is never echoed into a header.
_ORIGIN = re.compile(r"null|[A-Za-z][A-Za-z0-9+.-]*://[A-Za-z0-9.\-\[\]:]{1,253}")


def is_valid_origin(origin: str | None) -> bool:
    return bool(origin) and _ORIGIN.fullmatch(origin or "") is not None


def allow_headers(origin: str, methods: str = "POST, GET, OPTIONS") -> dict[str, str]:
    return {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Methods": methods,
        "Access-Control-Allow-Headers": ALLOWED_HEADERS,
        "Access-Control-Max-Age": MAX_AGE,
        "Vary": "Origin",
    }


def preflight_allowed(origin: str | None, site: Site | None) -> bool:
    """A preflight carries no body: with ``?key=`` in the URL the site's list decides;
    without it the origin is allowed here and checked per site on the real request."""
    if origin is None or not is_valid_origin(origin):
        return False
    return site is None or site.allows_origin(origin)
