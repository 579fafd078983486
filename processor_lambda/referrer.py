"""Page and traffic-source fields from an event's URL and referrer.

``path`` and ``host`` of the page; ``referrer_host``, the site the visitor came from (None for
a navigation inside the site); and the campaign parameters of the page URL's query: the five
UTM tags and the Google, Meta and Microsoft Ads click ids.
"""

import functools
from typing import Any
from urllib.parse import SplitResult, parse_qsl, urlsplit

MAX_PATH = 512
MAX_PARAMETER = 200
CAMPAIGN_KEYS = frozenset(
    {"utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content", "gclid", "fbclid", "msclkid"}
)
# Links that name their source without UTM tags (?ref=producthunt): Plausible reads these as
# utm_source too, in this order.
SOURCE_FALLBACKS = ("source", "ref")
_WANTED = CAMPAIGN_KEYS | frozenset(SOURCE_FALLBACKS)


def page_fields(url: object, referrer: object) -> dict[str, Any]:
    """path, host, referrer_host and whichever campaign parameters the URL has. The result is
    shared between calls with the same arguments: read it, do not change it."""
    if (url is None or isinstance(url, str)) and (referrer is None or isinstance(referrer, str)):
        return _page_fields_cached(url, referrer)
    return _page_fields(url, referrer)


@functools.lru_cache(maxsize=8192)
def _page_fields_cached(url: str | None, referrer: str | None) -> dict[str, Any]:
    # Pages and referrers repeat across a batch; parsing each pair once saves most of the work.
    return _page_fields(url, referrer)


def _page_fields(url: object, referrer: object) -> dict[str, Any]:
    page = _split(url)
    host = _host(page)
    fields: dict[str, Any] = {
        "path": _path(page),
        "host": host,
        "referrer_host": referrer_host(referrer, host),
    }
    fields.update(campaign(page.query if page else ""))
    return fields


def referrer_host(referrer: object, page_host: str | None) -> str | None:
    """The referrer's host without "www.", or None when there is none or it is the page's own
    site (a click from one page of the site to another is no traffic source)."""
    host = _host(_split(referrer))
    if host is None:
        return None
    bare = host.removeprefix("www.")
    if page_host is not None and bare == page_host.removeprefix("www."):
        return None
    return bare


def campaign(query: str) -> dict[str, str]:
    """The campaign parameters present in a query string (first non-blank value of each)."""
    if not query:
        return {}
    found: dict[str, str] = {}
    for key, value in parse_qsl(query):
        name, text = key.lower(), value.strip()
        if name in _WANTED and text and name not in found:
            found[name] = text[:MAX_PARAMETER]
    fallbacks = [found.pop(name) for name in SOURCE_FALLBACKS if name in found]
    if fallbacks and "utm_source" not in found:
        found["utm_source"] = fallbacks[0]
    return found


def _split(url: object) -> SplitResult | None:
    if not isinstance(url, str) or not url.strip():
        return None
    try:
        return urlsplit(url.strip())
    except ValueError:  # an unbalanced "[" in the host, for one
        return None


def _host(split: SplitResult | None) -> str | None:
    # hostname is already lowercase, without port or credentials; the trailing dot of a
    # fully qualified name would make example.com. another site than example.com.
    host = (split.hostname or "") if split else ""
    return host.rstrip(".") or None


def _path(split: SplitResult | None) -> str | None:
    if split is None:
        return None
    path = split.path or "/"
    # A hash route (#/pricing, #!/pricing) is the page of a hash-routed app; ingest keeps no
    # other fragment (tally_contract/privacy.py), and an anchor (#section) is not a page.
    if split.fragment.startswith(("/", "!/")):
        path += "#" + split.fragment.partition("?")[0]
    return path[:MAX_PATH]
