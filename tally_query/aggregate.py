"""Answers from the aggregates: for each time bucket, each UTC day it covers is read whole from
its sealed day rows when it can be, else from that day's hour summaries (reading.py).

- Whole day: event metrics from the family's rows (``pv``, ``ev``, ``uv``); visit metrics and,
  for a visit family, pageviews and visitors from the day's visit rows (``visit.<family>``).
  Events by a visit family are in no row: such days read their hour summaries.
- Partial day (hours [h0, h1)): event metrics from the merge of those hours' summaries (a
  visitor's ids over them: exact distinct visitors); visits from the day's whole merge, those
  that start in the hours, measured whole; a visit family's pageviews and events from the
  pieces of each visit that fall in the hours.
"""

from collections import defaultdict
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from tally_aggregates.summary import Run, Summary, Visitor
from tally_store.base import TOTAL as TOTAL_ROW
from tally_store.base import Sealed

from . import visits
from .reading import Reader
from .selectors import Selector, shown
from .tallies import Tally

Groups = dict[tuple[str | None, str | None], Tally]  # (time label, value) -> tally


class Aggregates:
    def __init__(self, reader: Reader, needs_events: bool) -> None:
        self.reader = reader
        self.needs_events = needs_events  # a visit family's events: only summaries hold them
        self._sealed: dict[str, Sealed] = {}
        self._existing: dict[str, bool] = {}

    def answer(self, selector: Selector, spans: list[tuple[str | None, datetime, datetime]]) -> Groups:
        groups: Groups = defaultdict(Tally)
        pieces = [(label, day, start, end) for label, s, e in spans for day, start, end in _days(s, e)]
        by_rows = selector.kind != "by_event" and not (
            selector.kind == "visit" and (self.needs_events or selector.visits or selector.event_filters)
        )
        if by_rows:
            whole = {day for _, day, start, end in pieces if end - start == timedelta(days=1)}
            self._sealed.update(self.reader.sealed_days(sorted(whole - set(self._sealed))))
        chosen = [(label, day, start, end, self._sealed.get(day) if by_rows and end - start == timedelta(days=1)
                   else None) for label, day, start, end in pieces]  # fmt: skip
        present = self._present([day for _, day, _, _, sealed in chosen if sealed is None])
        for label, day, start, end, sealed in chosen:
            if sealed is not None:
                _from_rows(selector, sealed, label, groups)
                continue
            if day not in present:  # nothing at all that day: no hour to read
                continue
            part = self.reader.day(day)
            first, stop = start.hour, (end - timedelta(microseconds=1)).hour + 1
            _from_summaries(selector, part.part(first, stop), part.whole(), (start, end), label, groups)
        return groups

    def _present(self, days: list[str]) -> set[str]:
        """Of ``days``, those holding anything (one batched read of the ones not asked yet): a
        year of mostly empty days reads no hour summary of the empty ones."""
        asked = sorted(set(days) - set(self._existing))
        found = self.reader.existing_days(asked) if asked else set()
        self._existing.update({day: day in found for day in asked})
        return {day for day in days if self._existing[day]}


def _days(start: datetime, end: datetime) -> list[tuple[str, datetime, datetime]]:
    """[start, end) cut at UTC midnights: (day, piece start, piece end)."""
    out = []
    at = start
    while at < end:
        midnight = datetime(at.year, at.month, at.day, tzinfo=UTC) + timedelta(days=1)
        out.append((at.strftime("%Y-%m-%d"), at, min(end, midnight)))
        at = midnight
    return out


def _from_rows(selector: Selector, sealed: Sealed, label: str | None, groups: Groups) -> None:
    rows = sealed.rows
    if selector.kind == "total":
        tally = groups[(label, None)]
        _event_row(tally, rows.get(TOTAL_ROW, {}))
        tally.add_visit_row(dict(rows.get(("visit", ""), {})))
        return
    prefix = selector.family if selector.kind == "event" else f"visit.{selector.family}"
    for (family, value), values in rows.items():
        if family != prefix or not selector.wanted(shown(selector, value)):
            continue
        tally = groups[(label, shown(selector, value) if selector.grouped else None)]
        if selector.kind == "event":
            _event_row(tally, values)
        else:
            tally.pageviews += values.get("pv", 0)
            tally.visitors += values.get("uv", 0)
            tally.add_visit_row(dict(values))


def _event_row(tally: Tally, values: Mapping[str, int]) -> None:
    tally.pageviews += values.get("pv", 0)
    tally.events += values.get("ev", 0)
    tally.visitors += values.get("uv", 0)


def _from_summaries(selector: Selector, part: Summary, day: Summary, span: tuple[datetime, datetime],
                    label: str | None, groups: Groups) -> None:  # fmt: skip
    first, stop = (int(moment.timestamp() * 1000) for moment in span)
    if selector.kind in ("visit", "by_event"):
        _visit_family(selector, part, day, (first, stop), label, groups)
        return
    if selector.kind == "total":
        tally = groups[(label, None)]
        counts = part.rows.get(TOTAL_ROW, [0, 0, 0])
        tally.pageviews += counts[0]
        tally.events += counts[1]
        tally.ids.update(part.visitors)
        for visitor in day.visitors.values():
            for run in visitor.runs:
                if first <= run.first < stop:
                    tally.add_visit(run.bounced, run.last - run.first, run.pageviews)
        return
    _event_family(selector, part, label, groups)


def _event_family(selector: Selector, part: Summary, label: str | None, groups: Groups) -> None:
    def key(value: str) -> tuple[str | None, str | None]:
        return label, shown(selector, value) if selector.grouped else None

    for (family, value), counts in part.rows.items():
        if family == selector.family and selector.wanted(shown(selector, value)):
            tally = groups[key(value)]
            tally.pageviews += counts[0]
            tally.events += counts[1]
    for visitor_id, visitor in part.visitors.items():
        for family, value in visitor.rows:
            if family == selector.family and selector.wanted(shown(selector, value)):
                groups[key(value)].ids.add(visitor_id)


def _visit_family(selector: Selector, part: Summary, day: Summary, span: tuple[int, int], label: str | None,
                  groups: Groups) -> None:  # fmt: skip
    first, stop = span
    for visitor in day.visitors.values():
        for run in visitor.runs:
            if first <= run.first < stop:
                for key, _ in visits.keys(selector, visitor, run, run):
                    groups[(label, key)].add_visit(run.bounced, run.last - run.first, run.pageviews)
    for visitor_id, piece_owner in _pieces(part, day):
        for piece, owner, whole in piece_owner:
            for key, (pageviews, events) in visits.keys(selector, whole, owner, piece):
                target = groups[(label, key)]
                target.pageviews += pageviews
                target.events += events
                target.ids.add(visitor_id)


def _pieces(part: Summary, day: Summary) -> list[tuple[str, list[tuple[Run, Run, Visitor]]]]:
    """Each visitor's runs within the hours, with the visit of the day that holds each."""
    out = []
    for visitor_id, visitor in part.visitors.items():
        whole = day.visitors.get(visitor_id)
        if whole is None:
            continue
        found = []
        for piece in visitor.runs:
            owner = next((run for run in whole.runs if run.first <= piece.first <= run.last), None)
            if owner is not None:
                found.append((piece, owner, whole))
        out.append((visitor_id, found))
    return out
