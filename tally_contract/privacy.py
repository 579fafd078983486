"""What a site keeps of a visitor: its IP handling, its URL query allowlist, the daily visitor id.

Ingest applies all three before an event is queued, so no queue, dead-letter queue, log or
panel holds more than the site stores; the processor applies the IP handling and the URL
allowlist again to every job (both are idempotent: a truncated IP truncates to itself), so
jobs queued before ingest did this are stored the same way.
"""

import hashlib
import ipaddress
from collections.abc import Iterable

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Anything longer is no IP address; the check keeps ipaddress from reading a megabyte of junk.
_MAX_IP = 64
_IPV4_TRUNCATE = 0xFFFF_FF00  # keep /24
_IPV6_TRUNCATE = ((1 << 48) - 1) << 80  # keep /48
_MAX_KEY = 64  # BLAKE2b's longest key

# Query parameters a stored URL keeps unless the site lists its own: campaign tags, the
# untagged source links Plausible reads (?ref=, ?source=) and the ad networks' click ids.
DEFAULT_QUERY_PARAMS = (
    "utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content", "ref", "source",
    "gclid", "gbraid", "wbraid", "dclid", "fbclid", "msclkid", "twclid", "ttclid", "li_fat_id", "yclid",
)  # fmt: skip
VISITORS_BY_DEVICE = "device"  # the daily salted hash of IP and user agent; user ids not used
VISITORS_BY_USER = "user"  # an event with a user id (else an anonymous id) counts as that user


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
    return _digest(salt, (str(site or ""), str(address or ""), ua))


def user_visitor_id(site: object, user: str, salt: bytes) -> str:
    """The visitor id of a known user (a site counting visitors by user): the same user on two
    devices is one visitor that day, and still unlinkable across days once the salt is gone."""
    # The empty middle part keeps a user id from ever colliding with an (IP, user agent) pair.
    return _digest(salt, (str(site or ""), "", "", user))


def _digest(salt: bytes, parts: Iterable[str]) -> str:
    key = bytes(salt) if len(salt) <= _MAX_KEY else hashlib.blake2b(salt).digest()
    digest = hashlib.blake2b(key=key, digest_size=16)
    for part in parts:
        # Length-prefixed, so no choice of site and user agent can collide with another split.
        data = part.encode("utf-8", "surrogatepass")
        digest.update(len(data).to_bytes(4, "big"))
        digest.update(data)
    return digest.hexdigest()


def keep_query(url: str, allowed: Iterable[str]) -> str:
    """``url`` with only the allowed query parameters (names compared in lower case), no
    user name or password, and no fragment unless it is a hash route (``#/page``, ``#!/page``,
    its own query filtered the same way). Done on the text, so a URL with nothing to remove
    comes back unchanged, byte for byte."""
    if "?" not in url and "#" not in url and "@" not in url:
        return url
    names = frozenset(name.lower() for name in allowed)
    rest, hashed, fragment = url.partition("#")
    base, _, query = rest.partition("?")
    kept = _kept(query, names)
    clean = _without_userinfo(base) + ("?" + kept if kept else "")
    route = _route(fragment, names) if hashed else ""
    return clean + ("#" + route if route else "")


def _kept(query: str, names: frozenset[str]) -> str:
    from urllib.parse import unquote_plus

    pairs = [pair for pair in query.split("&") if pair]
    return "&".join(pair for pair in pairs if unquote_plus(pair.partition("=")[0]).lower() in names)


def _without_userinfo(base: str) -> str:
    scheme, sep, rest = base.partition("://")
    if not sep:
        return base
    authority, slash, path = rest.partition("/")
    return f"{scheme}://{authority.rpartition('@')[2]}{slash}{path}"


def _route(fragment: str, names: frozenset[str]) -> str:
    if not fragment.startswith(("/", "!/")):
        return ""  # an anchor, or a token an OAuth flow left there: not a page
    path, _, query = fragment.partition("?")
    kept = _kept(query, names)
    return path + ("?" + kept if kept else "")
