"""Query parameters of the read API, checked: a bad one is a 400 that names it. Every parser is
total: whatever string arrives (non-ASCII digits, 5,000 digits, year 1 or 9999) is a value or
a BadParameter, never an exception."""

from datetime import UTC, datetime
from typing import Any

from .errors import BadParameter

MAX_VALUE = 512
SITE_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")
# Times a range may name: a read steps a few days either side of a moment (defaults of 24 h
# and 7 days, bucket floors, minute windows), which datetime cannot do near years 1 and 9999.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9998, 12, 31, tzinfo=UTC)
MAX_DIGITS = 9


def site(query: dict[str, str]) -> str:
    value = query.get("site", "")
    if not value:
        raise BadParameter("site", "is required")
    if len(value) > 64 or not set(value) <= SITE_CHARS:
        raise BadParameter("site", "must be a site id (letters, digits, - _ .)")
    return value


def moment(query: dict[str, str], name: str, default: datetime) -> datetime:
    value = query.get(name)
    if value is None:
        return default
    parsed = parse_moment(value.strip().removesuffix("Z"))
    if parsed is None:
        raise BadParameter(name, "must be an ISO time in UTC, e.g. 2026-11-23 or 2026-11-23T13:20")
    if not EARLIEST <= parsed <= LATEST:
        raise BadParameter(name, f"must be from {EARLIEST:%Y-%m-%d} to {LATEST:%Y-%m-%d}")
    return parsed


def parse_moment(text: str) -> datetime | None:
    if not text.isascii():  # strptime reads any Unicode digit; times are ASCII
        return None
    for fmt in ("%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    return None


def integer(query: dict[str, str], name: str, default: int, low: int, high: int) -> int:
    value = query.get(name)
    if value is None:
        return default
    digits = value.isascii() and value.isdigit() and len(value) <= MAX_DIGITS
    if not digits or not low <= int(value) <= high:
        raise BadParameter(name, f"must be an integer from {low} to {high}")
    return int(value)


def text(name: str, value: str) -> str:
    if len(value) > MAX_VALUE:
        raise BadParameter(name, f"must be at most {MAX_VALUE} characters")
    return value


def query_of(request: Any) -> dict[str, str]:
    return dict(request.query_params or {})
