"""Sites: who may send events, from where, and how the processor treats them.

Each site has a public write key (in every page's snippet), a secret server key (kept only
as a SHA-256 hash), allowed browser origins, optionally a domain (Plausible's tracker names
its site by domain, not by key) and privacy settings. Lookups go through a small TTL cache so
a warm Lambda does not pay a DynamoDB read per request.
"""

import hashlib
import hmac
import os
import re
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol

from .privacy import DEFAULT_QUERY_PARAMS, VISITORS_BY_DEVICE


@dataclass(frozen=True)
class Site:
    site_id: str
    write_key: str
    secret_hash: str
    origins: tuple[str, ...] = ()
    respect_dnt: bool = False
    ip_handling: str = "truncate"
    retention_days: int = 395
    rate_limit: int = 0  # events per second per ingest instance; 0 = no limit
    domain: str | None = None  # "shop.example.com": lower case, no "www." (normalise_domain)
    query_params: tuple[str, ...] = DEFAULT_QUERY_PARAMS  # what stored URLs keep of their query
    visitors: str = VISITORS_BY_DEVICE  # how an event with a user id is counted (privacy.py)
    goals: tuple[str, ...] = ()  # event:<name> or page:<path pattern> (tally_aggregates/declared.py)
    props: tuple[str, ...] = ()  # custom property keys counted in the aggregates
    # How far back a browser (write key only) may date an event; a server sender (secret key)
    # may import history as old as the retention. Older late events would rewrite sealed days.
    max_event_age_hours: int = 48
    # The IANA time zone the site reports in (date ranges, time buckets): the read API's days
    # and hours are the site's (tally_query/dates.py).
    timezone: str = "UTC"

    def allows_origin(self, origin: str) -> bool:
        return any(_origin_matches(pattern, origin.lower()) for pattern in self.origins)

    def max_event_age_seconds(self, server_sender: bool) -> float:
        return float(self.retention_days * 86400 if server_sender else self.max_event_age_hours * 3600)

    def secret_matches(self, secret: str) -> bool:
        return hmac.compare_digest(hash_secret(secret), self.secret_hash)


@dataclass(frozen=True)
class NewSite:
    """A site as created: the only moment its secret key exists in clear."""

    site: Site
    secret_key: str = field(repr=False)


WRITE_KEY_PREFIX, SECRET_KEY_PREFIX = "wk_", "sk_"


def create(site_id: str, origins: Iterable[str] = (), **settings: object) -> NewSite:
    secret = SECRET_KEY_PREFIX + secrets.token_urlsafe(32)
    if settings.get("domain") is not None:
        settings["domain"] = normalise_domain(str(settings["domain"]))
    site = Site(
        site_id=site_id,
        write_key=WRITE_KEY_PREFIX + secrets.token_urlsafe(18),
        secret_hash=hash_secret(secret),
        origins=tuple(o.lower().rstrip("/") for o in origins),
        **settings,  # type: ignore[arg-type]
    )
    return NewSite(site, secret)


def check_timezone(name: str) -> str:
    """An IANA time zone name as given, or ValueError saying what is wrong with it."""
    import zoneinfo  # only the CLI and the read API check zones; the ingest never does

    try:
        if name and len(name) <= 64 and name.isascii():
            zoneinfo.ZoneInfo(name)
            return name
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        pass
    raise ValueError(f"{name!r} is not an IANA time zone name, e.g. Europe/Berlin or UTC")


def normalise_domain(domain: str) -> str:
    """A site's domain as Plausible compares it: lower case, no scheme, port, path or "www."."""
    bare = domain.strip().lower().partition("://")[2] or domain.strip().lower()
    bare = bare.split("/", 1)[0].rsplit(":", 1)[0] if not bare.startswith("[") else bare.split("]", 1)[0] + "]"
    return bare.removeprefix("www.").rstrip(".")


_DOMAIN = re.compile(r"(?:[\w-]{1,63}\.)*[\w-]{1,63}")  # labels of letters, digits, "-", "_" (IDN too)


def is_domain_name(domain: str) -> bool:
    """Whether a normalised domain can name a site at all: looked up only then, so a stranger's
    control characters, spaces or unpaired surrogates never reach a site store."""
    return len(domain) <= 253 and _DOMAIN.fullmatch(domain) is not None


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def _origin_matches(pattern: str, origin: str) -> bool:
    if pattern == "*":
        return True
    if "://*." in pattern:
        scheme, _, domain = pattern.partition("://*.")
        return origin.startswith(scheme + "://") and origin.endswith("." + domain)
    return origin == pattern


class SiteStore(Protocol):
    def by_write_key(self, write_key: str) -> Site | None: ...

    def by_domain(self, domain: str) -> Site | None: ...

    def put(self, site: Site) -> None: ...


class MemorySites:
    def __init__(self, sites: Iterable[Site] = ()) -> None:
        self._sites = {site.write_key: site for site in sites}

    def by_write_key(self, write_key: str) -> Site | None:
        return self._sites.get(write_key)

    def by_domain(self, domain: str) -> Site | None:
        return next((site for site in self._sites.values() if site.domain == domain), None)

    def by_id(self, site_id: str) -> Site | None:
        return next((site for site in self._sites.values() if site.site_id == site_id), None)

    def put(self, site: Site) -> None:
        self._sites = {k: v for k, v in self._sites.items() if v.site_id != site.site_id}
        self._sites[site.write_key] = site

    def site_ids(self) -> list[str]:
        return sorted(site.site_id for site in self._sites.values())

    def all_sites(self) -> list[Site]:
        return list(self._sites.values())


class ListedSites(SiteStore, Protocol):
    """A site store that can also look sites up by id and list them (every adapter can)."""

    def by_id(self, site_id: str) -> Site | None: ...

    def site_ids(self) -> list[str]: ...

    def all_sites(self) -> list[Site]: ...


def open_sites(store_url: str = "", sites_table: str = "") -> ListedSites:
    """The sites of a store: in its SQLite file for ``sqlite://<path>`` (local mode), else the
    DynamoDB table ``sites_table``. Each adapter is imported only when used."""
    if store_url.startswith("sqlite://"):
        from .sites_sqlite import SQLiteSites

        return SQLiteSites(store_url.removeprefix("sqlite://"))
    from .sites_dynamodb import DynamoSites

    return DynamoSites(sites_table)


def from_environment() -> ListedSites:
    """``TALLY_STORE_URL``'s sites (local mode), else the table ``TALLY_SITES_TABLE`` names."""
    return open_sites(os.environ.get("TALLY_STORE_URL", ""), os.environ.get("TALLY_SITES_TABLE", ""))


class CachedSites:
    """A bounded TTL cache in front of a store. Unknown keys are cached too, briefly, so a
    stranger cycling random keys costs one lookup per key, and the cache cannot grow past
    ``max_entries``."""

    def __init__(
        self,
        store: SiteStore,
        *,
        ttl: float = 60.0,
        negative_ttl: float = 10.0,
        max_entries: int = 1024,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self._ttl, self._negative_ttl = ttl, negative_ttl
        self._max = max_entries
        self._clock = clock
        self._entries: OrderedDict[str, tuple[float, Site | None]] = OrderedDict()
        self._lock = threading.Lock()

    def by_write_key(self, write_key: str) -> Site | None:
        return self._cached("k" + write_key, self.store.by_write_key, write_key)

    def by_domain(self, domain: str) -> Site | None:
        return self._cached("d" + domain, self.store.by_domain, domain)

    def _cached(self, key: str, lookup: Callable[[str], Site | None], value: str) -> Site | None:
        now = self._clock()
        with self._lock:
            hit = self._entries.get(key)
            if hit is not None and hit[0] > now:
                self._entries.move_to_end(key)
                return hit[1]
        site = lookup(value)
        with self._lock:
            expires = now + (self._ttl if site else self._negative_ttl)
            self._entries[key] = (expires, site)
            self._entries.move_to_end(key)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)
        return site

    def put(self, site: Site) -> None:
        self.store.put(site)
        with self._lock:
            self._entries.clear()
