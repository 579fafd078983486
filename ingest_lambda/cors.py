"""CORS driven by each site's allowed origins."""

from tally_contract.sites import Site

ALLOWED_HEADERS = "Content-Type, Content-Encoding, X-Tally-Key, Authorization"
MAX_AGE = "86400"


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
    if not origin:
        return False
    return site is None or site.allows_origin(origin)
