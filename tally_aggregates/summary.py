"""Per-bucket summaries: what sealing a bucket learned, compact and mergeable, so an hour derives
from its minutes and a day from its hours without reading a raw event again.

A summary holds the bucket's event-level counts per row (pageviews, events, bots) and, per
visitor, the traits that never change within a visitor id's day (device, browser, OS, country:
the id hashes the IP and user agent), the event-level rows the visitor touched (for distinct
visitors per row) and the visitor's runs: events with gaps under 30 minutes, as far as the
bucket sees them. A minute holds one run per visitor (its events are never 30 minutes apart);
merging summaries of adjacent buckets joins the runs the gap rule joins, so the day's merge
holds each visitor's visits exactly (visitor ids change at UTC midnight: no visit crosses it).
"""

import json
import zlib
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from tally_store.base import Event, Row

VISIT_GAP_MS = 30 * 60 * 1000
# Non-pageview events that do not keep a visit from bouncing (engagement pings on page leave).
PASSIVE_EVENTS = frozenset({"engagement"})
TRAITS = ("device", "browser", "browser_version", "os", "os_version", "country")
ATTRIBUTES = ("source", "referrer", "utm_source", "utm_medium", "utm_campaign")


def run_family(family: str) -> bool:
    """The event-level families a run keeps by value (not the visitor's traits or attributes)."""
    return family in ("page", "event", "goal") or family.startswith("prop:")


LEVEL = 6
_ENCODE = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


@dataclass
class Run:
    """A visitor's events with gaps under 30 minutes; attributes are its first event's."""

    first: int  # epoch milliseconds
    last: int
    pageviews: int
    events: int
    interactive: int  # events other than pageviews that keep a visit from bouncing
    entry: str | None  # the first event's path
    exit: str | None  # the last pageview's path (the last event's when no pageview)
    attributes: tuple[str | None, ...]  # ATTRIBUTES, of the first event
    # (pv, ev) of the run's events by their rows of the run families (run_family): what a filter
    # on a page, an event name, a goal or a property keeps of a visit. None: read from a summary
    # written before runs kept them; such a visit answers only queries that do not ask.
    rows: dict[Row, tuple[int, int]] | None = None

    def join(self, later: "Run") -> "Run":
        exit_page = later.exit if later.pageviews or not self.pageviews else self.exit
        return Run(self.first, later.last, self.pageviews + later.pageviews, self.events + later.events,
                   self.interactive + later.interactive, self.entry, exit_page, self.attributes,
                   _joined(self.rows, later.rows))  # fmt: skip

    @property
    def bounced(self) -> bool:
        return self.pageviews == 1 and not self.interactive


@dataclass
class Visitor:
    traits: tuple[str | None, ...]  # TRAITS, of the visitor's first event
    runs: list[Run] = field(default_factory=list)
    rows: set[Row] = field(default_factory=set)


@dataclass
class Summary:
    rows: dict[Row, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0, 0]))  # pv, ev, bots
    visitors: dict[str, Visitor] = field(default_factory=dict)
    ids: list[str] = field(default_factory=list)  # every event id read (resends.py); not encoded


def from_events(events: Iterable[Event], rows_of: Any) -> Summary:
    """A bucket's summary from its raw events; ``rows_of(event)`` gives an event's event-level
    rows with (pv, ev, bots) as the counters count them."""
    summary = Summary()
    for event in sorted(events, key=lambda e: (e["event_time"], e["event_id"])):
        rows = list(rows_of(event))
        for row, deltas in rows:
            counts = summary.rows[row]
            for i in range(3):
                counts[i] += deltas[i]
        visitor_id = event.get("visitor_id")
        if event.get("bot") or not visitor_id:
            continue
        visitor = summary.visitors.get(visitor_id)
        if visitor is None:
            visitor = summary.visitors[visitor_id] = Visitor(tuple(event.get(t) for t in TRAITS))
        visitor.rows.update(row for row, _ in rows)
        _extend(visitor.runs, _run_of(event, {row: (d[0], d[1]) for row, d in rows if run_family(row[0])}))
    return summary


def merge(summaries: Iterable[Summary]) -> Summary:
    """One summary of adjacent buckets: counts summed, each visitor's runs joined by the gap rule."""
    merged = Summary()
    for summary in summaries:
        absorb(merged, summary)
    return merged


def absorb(into: Summary, other: Summary) -> None:
    """Merge ``other`` into ``into`` (ids: concatenated)."""
    for row, counts in other.rows.items():
        target = into.rows[row]
        for i in range(3):
            target[i] += counts[i]
    for visitor_id, visitor in other.visitors.items():
        held = into.visitors.get(visitor_id)
        if held is None:
            into.visitors[visitor_id] = Visitor(visitor.traits, list(visitor.runs), set(visitor.rows))
            continue
        if visitor.runs and held.runs and visitor.runs[0].first < held.runs[0].first:
            held.traits = visitor.traits  # the traits of the visitor's first event of the range
        held.rows |= visitor.rows
        held.runs = _stitched(held.runs + visitor.runs)
    into.ids.extend(other.ids)


def _run_of(event: Event, rows: dict[Row, tuple[int, int]]) -> Run:
    at = _millis(event["event_time"])
    pageview = event.get("name") == "pageview"
    interactive = not pageview and _interactive(event)
    path = event.get("path")
    return Run(at, at, int(pageview), 1, int(interactive), path, path,
               (source(event), event.get("referrer_host"), event.get("utm_source"), event.get("utm_medium"),
                event.get("utm_campaign")), rows)  # fmt: skip


def _joined(first: dict[Row, tuple[int, int]] | None, later: dict[Row, tuple[int, int]] | None
            ) -> dict[Row, tuple[int, int]] | None:  # fmt: skip
    if first is None or later is None:
        return None
    joined = dict(first)
    for row, (pv, ev) in later.items():
        held = joined.get(row, (0, 0))
        joined[row] = (held[0] + pv, held[1] + ev)
    return joined


def source(event: Event) -> str:
    """Where a visit came from: its campaign source, else its referrer's host, else direct."""
    return str(event.get("utm_source") or event.get("referrer_host") or "(direct)")


def _interactive(event: Event) -> bool:
    properties = event.get("properties") or {}
    return event.get("name") not in PASSIVE_EVENTS and properties.get("interactive") is not False


def _extend(runs: list[Run], run: Run) -> None:
    """Append a run of a later event (events arrive sorted by time)."""
    if runs and run.first - runs[-1].last < VISIT_GAP_MS:
        runs[-1] = runs[-1].join(run)
    else:
        runs.append(run)


def _stitched(runs: list[Run]) -> list[Run]:
    joined: list[Run] = []
    for run in sorted(runs, key=lambda r: r.first):
        _extend(joined, run)
    return joined


def _millis(iso: str) -> int:
    from datetime import datetime

    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)


# -- the stored form: JSON with a table of distinct strings, compressed -----------------------
def encode(summary: Summary) -> bytes:
    table: dict[str | None, int] = {None: 0}

    def ref(text: str | None) -> int:
        return table.setdefault(text, len(table))

    rows = [[ref(row[0]), ref(row[1]), *counts] for row, counts in sorted(summary.rows.items())]
    visitors = [
        [visitor_id, [ref(t) for t in visitor.traits], sorted(ref(r[0]) * 2**20 + ref(r[1]) for r in visitor.rows),
         [[run.first, run.last - run.first, run.pageviews, run.events, run.interactive, ref(run.entry), ref(run.exit),
           [ref(a) for a in run.attributes], _run_rows(run, ref)] for run in visitor.runs]]
        for visitor_id, visitor in sorted(summary.visitors.items())
    ]  # fmt: skip
    strings = [text for text, _ in sorted(table.items(), key=lambda kv: kv[1])][1:]
    # The ids are kept apart (resends.py): a day's merge has no use for them.
    return zlib.compress(_ENCODE({"s": strings, "r": rows, "v": visitors}).encode(), LEVEL)


def _run_rows(run: Run, ref: Any) -> list[int] | None:
    """[packed row, pv, ev, ...] flat; None when the run's rows are unknown (an older summary)."""
    if run.rows is None:
        return None
    return [n for row, (pv, ev) in sorted(run.rows.items()) for n in (ref(row[0]) * 2**20 + ref(row[1]), pv, ev)]


def decode(blob: bytes) -> Summary:
    data = json.loads(zlib.decompress(blob))
    strings: list[str | None] = [None, *data["s"]]
    summary = Summary()
    for dimension, value, *counts in data["r"]:
        summary.rows[(str(strings[dimension]), str(strings[value] or ""))] = counts

    def row(packed: int) -> Row:
        return str(strings[packed >> 20]), str(strings[packed & 0xFFFFF] or "")

    for visitor_id, traits, rows, runs in data["v"]:
        summary.visitors[visitor_id] = Visitor(
            tuple(strings[t] for t in traits),
            [Run(first, first + span, pv, ev, interactive, strings[entry], strings[exit_page],
                 tuple(strings[a] for a in attributes), _decoded_rows(kept[0] if kept else None, row))
             for first, span, pv, ev, interactive, entry, exit_page, attributes, *kept in runs],
            {row(packed) for packed in rows},
        )  # fmt: skip
    return summary


def _decoded_rows(flat: list[int] | None, row: Any) -> dict[Row, tuple[int, int]] | None:
    if flat is None:
        return None  # a summary written before runs kept their rows
    return {row(flat[i]): (flat[i + 1], flat[i + 2]) for i in range(0, len(flat), 3)}


def runs_of(summary: Summary) -> Iterator[tuple[str, Visitor, Run]]:
    for visitor_id, visitor in summary.visitors.items():
        for run in visitor.runs:
            yield visitor_id, visitor, run
