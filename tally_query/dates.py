"""Date ranges and time buckets in the site's time zone, as UTC instants.

A range is [start, end): the shortcuts as Plausible reads them (``7d``: the 7 days ending
today; ``month``, ``6mo``, ``12mo``, ``year``: whole calendar months; ``24h``: the 24 clock hours
up to and including the current one; ``all``: as far back as day aggregates are kept), ISO
dates (whole local days, both included) or ISO times (the end included to the second; a time
without an offset is the site's).
"""

import zoneinfo
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, tzinfo

from tally_store.buckets import KEEP_SECONDS

from .errors import QueryError

EARLIEST = datetime(1970, 1, 2, tzinfo=UTC)
LATEST = datetime(9998, 12, 1, tzinfo=UTC)
MAX_BUCKETS = {"time:minute": 1440, "time:hour": 24 * 92, "time:day": 1830, "time:week": 262, "time:month": 61}
Span = tuple[datetime, datetime]  # [start, end) in UTC


def zone(name: str) -> tzinfo:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return UTC  # a site stored with a zone this runtime lacks reports in UTC


def resolve(date_range: str | tuple[str, str], tz: tzinfo, now: datetime) -> Span:
    today = now.astimezone(tz).date()
    if isinstance(date_range, tuple):
        return _pair(date_range, tz)
    if date_range == "24h":
        hour = now.replace(minute=0, second=0, microsecond=0)
        return hour - timedelta(hours=23), hour + timedelta(hours=1)
    first, last = days(date_range, today)
    return _local(first, tz), _local(last + timedelta(days=1), tz)


def days(shortcut: str, today: date) -> tuple[date, date]:
    if shortcut == "day":
        return today, today
    if shortcut.endswith("d"):
        return today - timedelta(days=int(shortcut[:-1]) - 1), today
    if shortcut == "year":
        return date(today.year, 1, 1), date(today.year, 12, 31)
    if shortcut == "all":
        return today - timedelta(seconds=KEEP_SECONDS["d"]), today
    months = {"month": 0, "6mo": 5, "12mo": 11}[shortcut]
    first = _month_start(today, -months)
    return first, _month_start(today, 1) - timedelta(days=1)


def _pair(given: tuple[str, str], tz: tzinfo) -> Span:
    start, end = (_moment(text, tz, index == 1) for index, text in enumerate(given))
    if not EARLIEST <= start < end <= LATEST:
        raise QueryError("date_range", "the start must come before the end, both from 1970 to 9998")
    return start, end


def _moment(text: str, tz: tzinfo, is_end: bool) -> datetime:
    if not text.isascii():
        raise QueryError("date_range", f"{text[:40]!r} is not an ISO 8601 date or time")
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return _local(day + timedelta(days=1) if is_end else day, tz)
        moment = datetime.fromisoformat(text)
    except (ValueError, OverflowError):
        raise QueryError("date_range", f"{text[:40]!r} is not an ISO 8601 date or time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    try:
        moment = moment.astimezone(UTC)
        return moment + timedelta(seconds=1) if is_end else moment
    except (ValueError, OverflowError):
        raise QueryError("date_range", f"{text[:40]!r} is out of range") from None


def _local(day: date, tz: tzinfo) -> datetime:
    try:
        return datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC)
    except (ValueError, OverflowError):
        raise QueryError("date_range", "is out of range") from None


def _month_start(day: date, shift: int) -> date:
    index = day.year * 12 + day.month - 1 + shift
    return date(index // 12, index % 12 + 1, 1)


def auto(span: Span) -> str:
    """The time dimension ``time`` stands for: hours up to two days, days up to 93, else months."""
    length = span[1] - span[0]
    return "time:hour" if length <= timedelta(days=2) else "time:day" if length <= timedelta(days=93) else "time:month"


def buckets(dimension: str, span: Span, tz: tzinfo) -> list[tuple[str, datetime, datetime]]:
    """(label, start, end) of each time bucket in the range, clipped to it; a label in local
    time (``2026-11-23 13:00:00``, ``2026-11-23``) may repeat where clocks go back."""
    found = list(_walk(dimension, span, tz))
    if len(found) > MAX_BUCKETS[dimension]:
        raise QueryError("dimensions", f"{dimension} over this range makes {len(found)} buckets; at most "
                                       f"{MAX_BUCKETS[dimension]}")  # fmt: skip
    return found


def _walk(dimension: str, span: Span, tz: tzinfo) -> Iterator[tuple[str, datetime, datetime]]:
    start, end = span
    if dimension in ("time:minute", "time:hour"):
        step = timedelta(minutes=1) if dimension == "time:minute" else timedelta(hours=1)
        local = start.astimezone(tz).replace(second=0, microsecond=0)
        at = (local if step.seconds == 60 else local.replace(minute=0)).astimezone(UTC)  # the local hour's start
        while at < end:
            fmt = "%Y-%m-%d %H:%M:00" if step.seconds == 60 else "%Y-%m-%d %H:00:00"
            yield at.astimezone(tz).strftime(fmt), max(at, start), min(at + step, end)
            at += step
        return
    day = start.astimezone(tz).date()
    day = _floor(dimension, day)
    while _local(day, tz) < end:
        following = _next(dimension, day)
        yield day.isoformat(), max(_local(day, tz), start), min(_local(following, tz), end)
        day = following


def _floor(dimension: str, day: date) -> date:
    if dimension == "time:week":
        return day - timedelta(days=day.weekday())
    return day.replace(day=1) if dimension == "time:month" else day


def _next(dimension: str, day: date) -> date:
    if dimension == "time:week":
        return day + timedelta(days=7)
    return _month_start(day, 1) if dimension == "time:month" else day + timedelta(days=1)


def labels(dimension: str, span: Span, tz: tzinfo) -> list[str]:
    return list(dict.fromkeys(label for label, _, _ in buckets(dimension, span, tz)))


def iso(moment: datetime, tz: tzinfo) -> str:
    return moment.astimezone(tz).isoformat(timespec="seconds")
