"""A visitor's country, as an ISO 3166 code: the edge's ``CloudFront-Viewer-Country`` header
when ingest had one for the visitor's own request, else a lookup of the IP in geoip2fast's
offline database (GeoLite2 data by MaxMind, bundled with the package; IPv4) where that package
is installed (local mode and self-hosting: requirements-dev.txt; the Lambda zip leaves its 9 MB
out, its API Gateway edge sends the header), else unknown. Ingest looks the country up before
it reduces the IP to what the site keeps (so a site that keeps no IP still gets countries);
the processor again for jobs that carry none (a Rails producer's). Only the code is kept."""

import functools
import re
from typing import Any

_CODE = re.compile(r"[A-Z]{2}")


def country(given: object, address: str | None) -> str | None:
    if isinstance(given, str) and _CODE.fullmatch(given.upper()) and given.upper() not in ("XX", "ZZ"):
        return given.upper()
    return _lookup(address) if address else None


@functools.lru_cache(maxsize=16384)
def _lookup(address: str) -> str | None:
    database = _database()
    if database is None:
        return None
    code = str(database.lookup(address).country_code or "")
    return code if _CODE.fullmatch(code) else None


@functools.cache
def _database() -> Any:
    # Loaded on first use (0.1 s, ~40 MB), once per process; absent from the Lambda zip.
    try:
        from geoip2fast import GeoIP2Fast  # type: ignore[import-untyped]  # ships no type hints
    except ImportError:
        return None
    return GeoIP2Fast()
