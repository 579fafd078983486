"""The brute-force oracle: every aggregate computed straight from the list of distinct stored
events, independently of tally_aggregates (no shared code), to hold the rollup's sealed
values against. Definitions: docs/data-model.md ("Aggregates", "Visits")."""

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime
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
