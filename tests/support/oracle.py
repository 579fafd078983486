"""The brute-force oracle: every aggregate computed straight from the list of distinct stored
events, independently of tally_aggregates (no shared code), to hold the rollup's sealed
values against. Definitions: docs/data-model.md ("Aggregates", "Visits")."""

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

# Dimension -> event field, written out again on purpose (not imported from the counters).
BY = {"page": "path", "ref": "referrer_host", "browser": "browser", "os": "os", "device": "device",
      "event": "name", "utm": "utm_source", "utm_medium": "utm_medium", "utm_campaign": "utm_campaign",
      "country": "country"}  # fmt: skip
PAIRS = {"browser_version": ("browser", "browser_version"), "os_version": ("os", "os_version")}
WIDTH = {"m": 16, "h": 13, "d": 10}
GAP = 1800.0  # seconds: a visit ends after 30 minutes without an event
Key = tuple[str, str, str]  # (granularity#bucket, dimension, value)


def expected(copies: Iterable[dict[str, Any]], goals: tuple[str, ...] = (), props: tuple[str, ...] = ()
             ) -> dict[Key, dict[str, int]]:  # fmt: skip
    """Every sealed row (event-level rows of every bucket, visit rows of every day) from the
    stored copies of the events (a redelivery repeats a copy, a client's resend adds one)."""
    unique = counted(copies)
    return {**event_rows(unique, goals, props), **visit_rows(unique)}


def counted(copies: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The copies that count: a copy counts unless another copy of its event id has an earlier
    time, in its own hour or in the 24 hours before its hour."""
    by_id: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    for copy in copies:
        by_id[copy["event_id"]][copy["event_time"]] = copy
    kept = []
    for times in by_id.values():
        for time, copy in times.items():
            hour = datetime.fromisoformat(time[:13] + ":00:00+00:00").timestamp()
            if not any(other < time and _epoch(times[other]) >= hour - 86400 for other in times):
                kept.append(copy)
    return kept


def event_rows(events: list[dict[str, Any]], goals: tuple[str, ...] = (), props: tuple[str, ...] = ()
               ) -> dict[Key, dict[str, int]]:  # fmt: skip
    declared = _declared(events, goals, props)
    counts: dict[Key, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    visitors: dict[Key, set[str]] = defaultdict(set)
    for event in events:
        for granularity, width in WIDTH.items():
            bucket = f"{granularity}#{event['event_time'][:width]}"
            if event["bot"]:
                counts[(bucket, "total", "")]["bots"] += 1
                continue
            for dimension, value in [("total", ""), *_values(event), *declared[_copy(event)]]:
                key = (bucket, dimension, value)
                counts[key]["ev"] += 1
                counts[key]["pv"] += event["name"] == "pageview"
                if event.get("visitor_id"):
                    visitors[key].add(event["visitor_id"])
    for key, ids in visitors.items():
        counts[key]["uv"] = len(ids)
    return _nonzero(counts)


def _declared(events: list[dict[str, Any]], goals: tuple[str, ...], props: tuple[str, ...]
              ) -> dict[tuple[str, str], list[tuple[str, str]]]:  # fmt: skip
    """Each event's goal and property rows: a goal is event:<name> or page:<glob> (pageviews); a
    property value counts under its own name for the first 100 distinct values of its key in
    its minute (in time order), under (other) after."""
    from fnmatch import fnmatchcase

    rows: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
    seen: dict[tuple[str, str], set[str]] = defaultdict(set)
    for event in sorted(events, key=lambda e: (e["event_time"], e["event_id"])):
        if event["bot"]:
            continue
        for goal in goals:
            kind, _, target = goal.partition(":")
            if (kind == "event" and event["name"] == target) or (
                kind == "page" and event["name"] == "pageview" and fnmatchcase(event.get("path") or "", target)
            ):
                rows[_copy(event)].append(("goal", goal))
        for key in props:
            value = (event.get("properties") or {}).get(key)
            if value is None:
                continue
            minute, text = seen[(event["event_time"][:16], key)], str(value)[:100]
            if text not in minute and len(minute) >= 100:
                text = "(other)"
            else:
                minute.add(text)
            rows[_copy(event)].append((f"prop:{key}", text))
    return rows


def _copy(event: dict[str, Any]) -> tuple[str, str]:
    return event["event_id"], event["event_time"]


def _values(event: dict[str, Any]) -> list[tuple[str, str]]:
    found = [(d, str(event[f])[:512]) for d, f in BY.items() if event.get(f)]
    found += [(d, f"{event[a]} {event[b]}") for d, (a, b) in PAIRS.items() if event.get(a) and event.get(b)]
    return found


def visit_rows(events: list[dict[str, Any]]) -> dict[Key, dict[str, int]]:
    """Visits: one visitor's events of one UTC day with gaps under 30 minutes, each counted in
    its day under visit.<family> and under visit.<family>@HH for the hour it started in."""
    timelines: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for event in events:
        if not event["bot"] and event.get("visitor_id"):
            timelines[(event["event_time"][:10], event["visitor_id"])].append(event)
    counts: dict[Key, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    visitors: dict[Key, set[str]] = defaultdict(set)
    for (day, visitor), timeline in timelines.items():
        for visit in _visits(sorted(timeline, key=lambda e: (e["event_time"], e["event_id"]))):
            first, last = visit[0], visit[-1]
            pageviews = [e for e in visit if e["name"] == "pageview"]
            interactive = [e for e in visit if e["name"] != "pageview" and e["name"] != "engagement"
                           and (e.get("properties") or {}).get("interactive") is not False]  # fmt: skip
            families = {
                "source": first.get("utm_source") or first.get("referrer_host") or "(direct)",
                "referrer": first.get("referrer_host"), "utm_source": first.get("utm_source"),
                "utm_medium": first.get("utm_medium"), "utm_campaign": first.get("utm_campaign"),
                "device": first.get("device"), "browser": first.get("browser"),
                "browser_version": first.get("browser_version"), "os": first.get("os"),
                "os_version": first.get("os_version"), "country": first.get("country"),
                "entry_page": first.get("path"), "exit_page": (pageviews or visit)[-1].get("path"),
            }  # fmt: skip
            rows = [("visit", "")] + [(f"visit.{f}", str(v)[:512]) for f, v in families.items() if v]
            hour = first["event_time"][11:13]
            for dimension, value in rows:
                for key in ((f"d#{day}", dimension, value), (f"d#{day}", f"{dimension}@{hour}", value)):
                    counts[key]["visits"] += 1
                    counts[key]["bounces"] += len(pageviews) == 1 and not interactive
                    counts[key]["duration_ms"] += round((_epoch(last) - _epoch(first)) * 1000)
                    counts[key]["pv"] += len(pageviews)
                    visitors[key].add(visitor)
    for key, ids in visitors.items():
        counts[key]["uv"] = len(ids)
    return _nonzero(counts)


def _visits(timeline: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    visits: list[list[dict[str, Any]]] = []
    for event in timeline:
        if visits and _epoch(event) - _epoch(visits[-1][-1]) < GAP:
            visits[-1].append(event)
        else:
            visits.append([event])
    return visits


def _epoch(event: dict[str, Any]) -> float:
    return datetime.fromisoformat(event["event_time"].replace("Z", "+00:00")).astimezone(UTC).timestamp()


def _nonzero(counts: dict[Key, dict[str, int]]) -> dict[Key, dict[str, int]]:
    out = {key: {name: n for name, n in values.items() if n} for key, values in counts.items()}
    return {key: values for key, values in out.items() if values}


# -- Stats API v2 queries, by brute force over the counted events (docs/dashboard.md) ---------
# Event metrics count the events of [start, end) that hold the filters (a visit: dimension reads
# the event's visit); visit metrics count the visits that start in [start, end), a visit holding
# the filters when one of its events does. Written apart from tally_query on purpose.
VISIT_FIELDS = ("source", "referrer", "utm_source", "utm_medium", "utm_campaign", "device", "browser",
                "browser_version", "os", "os_version", "country", "entry_page", "exit_page")  # fmt: skip


def query(  # noqa: C901 -- the brute-force reference, kept as one plain reading of the rules
    copies: Iterable[dict[str, Any]],
    body: dict[str, Any],
    span: tuple[float, float],
    tz: str = "UTC",
    goals: tuple[str, ...] = (),
) -> dict[tuple[str, ...], list[Any]]:
    """Result rows by their dimensions, for the range [span) in epoch seconds."""
    import re
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(tz)
    events = [e for e in counted(copies) if not e["bot"]]
    visit_of: dict[tuple[str, str], dict[str, Any]] = {}
    visits = []
    timelines: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for event in events:
        if event.get("visitor_id"):
            timelines[(event["event_time"][:10], event["visitor_id"])].append(event)
    for timeline in timelines.values():
        for members in _visits(sorted(timeline, key=lambda e: (e["event_time"], e["event_id"]))):
            visit = _visit_of(members)
            visits.append(visit)
            for member in members:
                visit_of[_copy(member)] = visit

    def goals_of(event: dict[str, Any]) -> list[str]:
        from fnmatch import fnmatchcase

        names = []
        for goal in goals:
            kind, _, target = goal.partition(":")
            if kind == "event" and event["name"] == target:
                names.append(target)
            elif kind == "page" and event["name"] == "pageview" and fnmatchcase(event.get("path") or "", target):
                names.append(f"Visit {target}")
        return names

    def value(dimension: str, event: dict[str, Any]) -> Any:
        visit = visit_of.get(_copy(event))
        if dimension.startswith("visit:"):
            return visit["values"].get(dimension[6:]) if visit else None
        if dimension == "event:goal":
            return goals_of(event)
        if dimension.startswith("event:props:"):
            found = (event.get("properties") or {}).get(dimension[12:])
            return None if found is None else str(found)[:100]
        found = event.get({"event:page": "path", "event:name": "name", "event:hostname": "host"}[dimension])
        return str(found)[:512] if found else None

    def clause_hit(op: str, clauses: list[str], got: Any, sensitive: bool) -> bool:
        many = got if isinstance(got, list) else [] if got is None else [got]
        fold = (lambda s: s) if sensitive else str.lower
        if op == "is":
            return any(fold(g) in [fold(c) for c in clauses] for g in many)
        if op == "contains":
            return any(fold(c) in fold(g) for g in many for c in clauses)
        return any(re.search(c, g, 0 if sensitive else re.I) for g in many for c in clauses)

    def holds(node: list[Any], event: dict[str, Any]) -> bool:
        if node[0] == "and":
            return all(holds(n, event) for n in node[1])
        if node[0] == "or":
            return any(holds(n, event) for n in node[1])
        if node[0] == "not":
            return not holds(node[1], event)
        op, dimension, clauses = str(node[0]), node[1], [str(c) for c in node[2]]
        sensitive = (node[3] if len(node) > 3 else {}).get("case_sensitive", True)
        hit = clause_hit(op.removesuffix("_not"), clauses, value(dimension, event), sensitive)
        return hit != op.endswith("_not")

    def label(dimension: str, epoch: float) -> str:
        local = datetime.fromtimestamp(epoch, zone)
        if dimension == "time:minute":
            return local.strftime("%Y-%m-%d %H:%M:00")
        if dimension == "time:hour":
            return local.strftime("%Y-%m-%d %H:00:00")
        if dimension == "time:week":
            return (local.date() - timedelta(days=local.weekday())).isoformat()
        return local.strftime("%Y-%m-01") if dimension == "time:month" else local.date().isoformat()

    def keys(event: dict[str, Any], epoch: float) -> list[tuple[str, ...]]:
        options = []
        for dimension in body.get("dimensions", []):
            if dimension.startswith("time"):
                options.append([label(dimension, epoch)])
            else:
                got = value(dimension, event)
                options.append(got if isinstance(got, list) else [] if got is None else [got])
        from itertools import product

        return [tuple(k) for k in product(*options)]

    filters = body.get("filters", [])
    base = filters if "percentage" in body["metrics"] else [f for f in filters if f[1:2] != ["event:goal"]]
    rows: dict[tuple[str, ...], dict[str, Any]] = defaultdict(lambda: defaultdict(int))
    ids: dict[tuple[str, ...], set[str]] = defaultdict(set)
    totals: dict[str | None, set[str]] = defaultdict(set)
    times = [d for d in body.get("dimensions", []) if d.startswith("time")]
    for event in events:
        epoch = _epoch(event)
        if not span[0] <= epoch < span[1]:
            continue
        if all(holds(f, event) for f in base) and event.get("visitor_id"):
            totals[label(times[0], epoch) if times else None].add(event["visitor_id"])
        if not all(holds(f, event) for f in filters):
            continue
        for key in keys(event, epoch):
            rows[key]["pageviews"] += event["name"] == "pageview"
            rows[key]["events"] += 1
            if event.get("visitor_id"):
                ids[key].add(event["visitor_id"])
    for visit in visits:
        start = _epoch(visit["events"][0])
        if not span[0] <= start < span[1]:
            continue
        hit = {k for e in visit["events"] if all(holds(f, e) for f in filters) for k in keys(e, start)}
        for key in hit:
            rows[key]["visits"] += 1
            rows[key]["bounces"] += visit["bounced"]
            rows[key]["duration_ms"] += visit["duration_ms"]
            rows[key]["visit_pageviews"] += visit["pageviews"]
    if not body.get("dimensions") and not rows:
        rows[()]["events"] += 0
    out = {}
    for key, counts in rows.items():
        total = totals.get(key[body["dimensions"].index(times[0])] if times else None, set())
        out[key] = [_metric(name, counts, len(ids[key]), len(total)) for name in body["metrics"]]
    return out


def _visit_of(members: list[dict[str, Any]]) -> dict[str, Any]:
    first, last = members[0], members[-1]
    pageviews = [e for e in members if e["name"] == "pageview"]
    interactive = [e for e in members if e["name"] not in ("pageview", "engagement")
                   and (e.get("properties") or {}).get("interactive") is not False]  # fmt: skip
    values = {
        "source": first.get("utm_source") or first.get("referrer_host") or "(direct)",
        "referrer": first.get("referrer_host"), "entry_page": first.get("path"),
        "exit_page": (pageviews or members)[-1].get("path"),
        **{name: first.get(name) for name in VISIT_FIELDS[2:11]},
    }  # fmt: skip
    return {"events": members, "values": {k: str(v)[:512] for k, v in values.items() if v},
            "bounced": len(pageviews) == 1 and not interactive, "pageviews": len(pageviews),
            "duration_ms": round((_epoch(last) - _epoch(first)) * 1000)}  # fmt: skip


def _metric(name: str, counts: dict[str, int], visitors: int, total: int) -> Any:
    visits = counts["visits"]
    return {
        "visitors": visitors,
        "pageviews": counts["pageviews"],
        "events": counts["events"],
        "visits": visits,
        "bounce_rate": round(100 * counts["bounces"] / visits, 2) if visits else 0.0,
        "visit_duration": round(counts["duration_ms"] / visits / 1000) if visits else 0,
        "views_per_visit": round(counts["visit_pageviews"] / visits, 2) if visits else 0.0,
        "percentage": round(100 * visitors / total, 2) if total else 0.0,
        "conversion_rate": round(100 * visitors / total, 2) if total else 0.0,
    }[name]
