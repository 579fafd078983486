"""Plausible's Stats API v1 (``GET /api/v1/stats/aggregate``, ``timeseries``, ``breakdown``,
``realtime/visitors``) as a view of the v2 engine: the v1 parameters become a v2 query body,
the engine answers it (the same reads, bounds and errors as ``POST /api/v2/query``), and the
answer is reshaped as v1 returns it. Periods are resolved in the site's time zone exactly as
the v2 shortcuts are (``7d``: the 7 days ending on ``date``, by default today); v1 filters
(``event:page==/blog/**;visit:country==US|DE``) become v2 ``is``/``is_not`` or, with
wildcards, anchored ``matches`` patterns; a filter v1 cannot read is a 400 (Plausible drops
it). A parameter the engine refuses is a QueryError naming the v1 parameter."""

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

import regex

from . import dates
from .engine import Engine
from .errors import QueryError
from .model import PROPS
from .parse import SITE_CHARS
from .tallies import Tally, finish

PERIODS = ("day", "7d", "30d", "month", "6mo", "12mo", "custom")
COMMON = frozenset({"site_id", "period", "date", "metrics", "filters", "with_imported"})
ACCEPTED = {
    "aggregate": COMMON | {"compare"},
    "timeseries": COMMON | {"interval"},
    "breakdown": COMMON | {"property", "limit", "page"},
    "realtime": frozenset({"site_id"}),
}
INTERVALS = {"date": "time:day", "month": "time:month"}
FIRST_DAY, LAST_DAY = date(1971, 1, 1), date(9998, 10, 31)
MAX_BREAKDOWN_LIMIT = 1000
MAX_FILTERS_TEXT = 4096
REALTIME_SECONDS = 300  # "current visitors": the last 5 minutes, as Plausible counts them
# v1 filter: property, operator, values ("|" between values, "\|" a literal bar).
FILTER = regex.compile(r"\s*([a-z_]+:[^=!]+?)\s*(==|!=)\s*(.*?)\s*", regex.DOTALL)
# Which v1 parameter a v2 field the engine names came from.
V2_FIELDS = {"date_range": "period", "dimensions": "property", "pagination": "limit", "body": "site_id"}


def aggregate(engine: Engine, params: Mapping[str, str]) -> dict[str, Any]:
    body = _body(engine, params, "aggregate")
    values = _run(engine, body)["results"][0]["metrics"]
    results = {metric: {"value": value} for metric, value in zip(body["metrics"], values, strict=True)}
    compare = params.get("compare")
    if compare is not None:
        if compare != "previous_period":
            raise QueryError("compare", "the only comparison is previous_period")
        before = _run(engine, {**body, "date_range": _previous(body["date_range"])})["results"][0]["metrics"]
        for metric, old in zip(body["metrics"], before, strict=True):
            results[metric]["change"] = _change(metric, old, results[metric]["value"])
    return {"results": results}


def timeseries(engine: Engine, params: Mapping[str, str]) -> dict[str, Any]:
    body = _body(engine, params, "timeseries")
    period = params.get("period", "30d")
    interval = params.get("interval", "month" if period in ("6mo", "12mo") else "date")
    if interval not in INTERVALS:
        raise QueryError("interval", f"must be one of {', '.join(INTERVALS)}")
    body = {**body, "dimensions": [INTERVALS[interval]], "include": {"time_labels": True}}
    answer = _run(engine, body, {"dimensions": "interval"})
    found = {row["dimensions"][0]: row["metrics"] for row in answer["results"]}
    empty = finish(Tally(), tuple(body["metrics"]), 0)  # a bucket with no events
    rows = []
    for label in answer["meta"]["time_labels"]:  # every bucket of the range, counted or not
        rows.append({"date": label, **dict(zip(body["metrics"], found.get(label, empty), strict=True))})
    return {"results": rows}


def breakdown(engine: Engine, params: Mapping[str, str]) -> dict[str, Any]:
    body = _body(engine, params, "breakdown")
    prop = params.get("property")
    if not prop:
        raise QueryError("property", "is required: the property to break down by (event:page, visit:source ...)")
    limit = _integer(params, "limit", 100, MAX_BREAKDOWN_LIMIT)
    page = _integer(params, "page", 1, 100_000)
    body = {**body, "dimensions": [prop], "pagination": {"limit": limit, "offset": (page - 1) * limit}}
    key = _key(prop)
    rows = _run(engine, body)["results"]
    return {"results": [{key: row["dimensions"][0], **dict(zip(body["metrics"], row["metrics"], strict=True))}
                        for row in rows]}  # fmt: skip


def realtime_visitors(engine: Engine, params: Mapping[str, str]) -> int:
    _check_params(params, "realtime")
    now = datetime.fromtimestamp(engine.clock(), UTC).replace(microsecond=0)
    since = now - timedelta(seconds=REALTIME_SECONDS - 1)
    body = {"site_id": params.get("site_id"), "metrics": ["visitors"],
            "date_range": [since.isoformat(), now.isoformat()]}  # fmt: skip
    value: int = _run(engine, body)["results"][0]["metrics"][0]
    return value


def _body(engine: Engine, params: Mapping[str, str], endpoint: str) -> dict[str, Any]:
    _check_params(params, endpoint)
    site_id = params.get("site_id")
    body: dict[str, Any] = {"site_id": site_id, "metrics": _metrics(params.get("metrics"))}
    body["date_range"] = _date_range(engine, site_id, params.get("period", "30d"), params.get("date"))
    if params.get("filters"):
        body["filters"] = filters(params["filters"])
    return body


def _check_params(params: Mapping[str, str], endpoint: str) -> None:
    """Before anything is read: only the route's parameters, and a site id that can be one."""
    unknown = sorted(set(params) - ACCEPTED[endpoint])
    if unknown:
        takes = ", ".join(sorted(ACCEPTED[endpoint]))
        raise QueryError(unknown[0][:50], f"unknown parameter; {endpoint} takes {takes}")
    site_id = params.get("site_id") or ""
    if not site_id or len(site_id) > 64 or not set(site_id) <= SITE_CHARS:
        raise QueryError("site_id", "is required: a site id (letters, digits, - _ .)")


def _metrics(text: str | None) -> list[str]:
    return [metric.strip() for metric in (text or "visitors").split(",")]


def _date_range(engine: Engine, site_id: str | None, period: str, given: str | None) -> list[str]:
    """The period as the v2 engine's [first, last] local dates."""
    if period not in PERIODS:
        raise QueryError("period", f"must be one of {', '.join(PERIODS)}")
    if period == "custom":
        parts = (given or "").split(",")
        if len(parts) != 2:
            raise QueryError("date", "a custom period takes date=YYYY-MM-DD,YYYY-MM-DD")
        first, last = (_day(part) for part in parts)
        return [first.isoformat(), last.isoformat()]
    anchor = _day(given) if given else _today(engine, site_id)
    first, last = dates.days(period, anchor)
    return [first.isoformat(), last.isoformat()]


def _today(engine: Engine, site_id: str | None) -> date:
    site = engine.site(site_id) if site_id else None
    zone = dates.zone(site.timezone) if site else UTC  # no site: the engine names site_id
    return datetime.fromtimestamp(engine.clock(), UTC).astimezone(zone).date()


def _day(text: str) -> date:
    try:
        if len(text.strip()) != 10 or not text.isascii():
            raise ValueError(text)
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise QueryError("date", f"{text[:40]!r} is not a date (YYYY-MM-DD)") from None
    if not FIRST_DAY <= day <= LAST_DAY:  # a period steps up to a year back and a month on
        raise QueryError("date", f"must be from {FIRST_DAY} to {LAST_DAY}")
    return day


def _previous(date_range: list[str]) -> list[str]:
    """The period of the same number of days just before (Plausible's previous_period)."""
    first, last = (date.fromisoformat(day) for day in date_range)
    length = last - first + timedelta(days=1)
    return [(first - length).isoformat(), (first - timedelta(days=1)).isoformat()]


def _change(metric: str, old: Any, new: Any) -> Any:
    if old is None or new is None:
        return None
    if metric == "bounce_rate":  # in percentage points, as Plausible reports it
        return new - old
    if old == 0:
        return 100 if new > 0 else 0
    return round((new - old) / old * 100)


def _integer(params: Mapping[str, str], name: str, default: int, most: int) -> int:
    text = params.get(name)
    if text is None:
        return default
    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= most:
        raise QueryError(name, f"must be an integer from 1 to {most}")
    return int(text)


def _key(prop: str) -> str:
    """The result key of a breakdown row: ``page`` for event:page, ``plan`` for event:props:plan."""
    if prop.startswith(PROPS):
        return prop[len(PROPS) :]
    return prop.split(":", 1)[-1]


def filters(text: str) -> list[list[Any]]:
    """v1 filters as v2's: ``;`` between filters (all must hold), ``|`` between a filter's values."""
    if len(text) > MAX_FILTERS_TEXT:
        raise QueryError("filters", f"at most {MAX_FILTERS_TEXT} characters")
    found = []
    for part in text.split(";"):
        matched = FILTER.fullmatch(part)
        if matched is None:
            raise QueryError("filters", f"{part[:60]!r} is not property==value or property!=value")
        prop, op, values = matched.groups()
        found.append(_filter(prop, op, [v.replace("\\|", "|") for v in regex.split(r"(?<!\\)\|", values)]))
    return found


def _filter(prop: str, op: str, values: list[str]) -> list[Any]:
    if not any("*" in value for value in values):
        return ["is" if op == "==" else "is_not", prop, values]
    return ["matches" if op == "==" else "matches_not", prop, [_pattern(value) for value in values]]


def _pattern(glob: str) -> str:
    """A v1 wildcard as an anchored pattern: ``**`` any characters, ``*`` any but ``/``."""
    parts = [regex.escape(piece).replace(r"\*", "[^/]*") for piece in glob.split("**")]
    return "^" + ".*".join(parts) + "$"


def _run(engine: Engine, body: dict[str, Any], fields: Mapping[str, str] | None = None) -> dict[str, Any]:
    try:
        return engine.run(body)
    except QueryError as exc:
        field = {**V2_FIELDS, **(fields or {})}.get(exc.field, exc.field)
        if field == exc.field:
            raise
        raise type(exc)(field, exc.message) from None
