"""``POST /api/v2/query``: a Plausible Stats API v2 query in, Plausible's answer out
(``results``: ``[{dimensions, metrics}]``, ``meta``, ``query``). Plan (plan.py), read
(aggregate.py or scan.py, over reading.Reader), then order, paginate and shape."""

import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from tally_aggregates.declared import Declared
from tally_contract.sites import Site
from tally_store.base import Store

from . import dates, plan, selectors
from .aggregate import Aggregates
from .errors import QueryError
from .model import Query
from .parse import parse
from .reading import Reader
from .scan import Scan
from .tallies import Tally, finish
from .visits import RowsUnknown

Spans = list[tuple[str | None, datetime, datetime]]


class Engine:
    def __init__(
        self, store: Store, site: Callable[[str], Site | None], clock: Callable[[], float] = time.time
    ) -> None:
        self.store = store
        self.site = site  # by id, or None
        self.clock = clock

    def run(self, body: Any) -> dict[str, Any]:
        return self.answer(parse(body))

    def answer(self, query: Query, plausible_rules: bool = True) -> dict[str, Any]:
        """``plausible_rules=False`` lifts Plausible's refusals of metric and dimension pairs
        (the CSV export's views per visit by day: every row's visits are whole, so it holds)."""
        started = time.perf_counter()
        site = self.site(query.site_id)
        if site is None:
            raise QueryError("site_id", f"no site {query.site_id!r}")
        declared = Declared(site.goals, site.props)
        if plausible_rules:
            plan.check(query, declared)
        tz = dates.zone(site.timezone)
        span = dates.resolve(query.date_range, tz, datetime.fromtimestamp(self.clock(), UTC))
        time_dimension = dates.auto(span) if query.time_dimension == "time" else query.time_dimension
        spans: Spans = list(dates.buckets(time_dimension, span, tz)) if time_dimension else [(None, *span)]
        reader = Reader(self.store, site.site_id, declared, self.clock)
        chosen = plan.selector(query, declared, all(_on_hours(s) for s in spans))
        rows = None
        if chosen is not None:
            try:
                rows = self._aggregates(query, chosen, spans, reader)
            except RowsUnknown:  # summaries written before runs kept their rows: scan
                chosen = None
        if rows is None:
            rows = self._scan(query, site, spans, reader)
        reader.cost.seconds = time.perf_counter() - started
        return _shaped(query, rows, span, tz, time_dimension, spans, reader, chosen is not None)

    def _aggregates(self, query: Query, chosen: selectors.Selector, spans: Spans, reader: Reader
                    ) -> list[tuple[list[str], list[Any]]]:  # fmt: skip
        engine = Aggregates(reader, needs_events="events" in query.metrics)
        groups = engine.answer(chosen, spans)
        divided = {"percentage", "conversion_rate"} & set(query.metrics)
        totals = engine.answer(plan.divisor(query, chosen), spans) if divided else {}
        if not query.dimensions and not groups:
            groups = {(None, None): Tally()}
        out = []
        for (label, value), tally in groups.items():
            if query.dimensions and tally.empty:
                continue
            divisor = totals.get((label, None))
            shown = [label if d == query.time_dimension else value for d in query.dimensions]
            out.append(([str(v) for v in shown], finish(tally, query.metrics, divisor.visitor_count if divisor else 0)))
        return out

    def _scan(self, query: Query, site: Site, spans: Spans, reader: Reader) -> list[tuple[list[str], list[Any]]]:
        groups, totals = Scan(reader, query, site.goals, spans).answer()
        if not query.dimensions and not groups:
            groups = {(): Tally()}
        out = []
        for key, tally in groups.items():
            if query.dimensions and tally.empty:
                continue
            label = key[query.dimensions.index(query.time_dimension)] if query.time_dimension else None
            divisor = totals.get(label)
            out.append(([str(v) for v in key], finish(tally, query.metrics, divisor.visitor_count if divisor else 0)))
        return out


def _on_hours(span: tuple[str | None, datetime, datetime]) -> bool:
    return all(moment.minute == moment.second == moment.microsecond == 0 for moment in span[1:])


def _ordered(query: Query, rows: list[tuple[list[str], list[Any]]], time_dimension: str | None
             ) -> list[tuple[list[str], list[Any]]]:  # fmt: skip
    order = list(query.order_by)
    if not order:
        order = ([(query.time_dimension, "asc")] if query.time_dimension else []) + [(query.metrics[0], "desc")]
    names = list(query.dimensions) + list(query.metrics)
    # Stable sorts from the last key to the first; dimension values break ties (ascending).
    rows = sorted(rows, key=lambda row: row[0])
    for name, direction in reversed(order):
        index = names.index(name)
        rows.sort(key=lambda row: _sortable((row[0] + row[1])[index]), reverse=direction == "desc")
    return rows


def _sortable(value: Any) -> tuple[int, Any]:
    return (0, value) if isinstance(value, int | float) else (1, str(value))


def _shaped(
    query: Query,
    rows: list[tuple[list[str], list[Any]]],
    span: dates.Span,
    tz: tzinfo,
    time_dimension: str | None,
    spans: Spans,
    reader: Reader,
    from_aggregates: bool,
) -> dict[str, Any]:
    ordered = _ordered(query, rows, time_dimension)
    page = ordered[query.offset : query.offset + query.limit]
    meta: dict[str, Any] = {}
    if "total_rows" in query.include:
        meta["total_rows"] = len(ordered)
    if "time_labels" in query.include and time_dimension:
        meta["time_labels"] = list(dict.fromkeys(label for label, _, _ in spans))
    if "imports" in query.include:
        meta["imports_included"] = False
    meta["tally"] = {"answered_from": "aggregates" if from_aggregates else "raw events", "cost": reader.cost.shown()}
    dimensions = [time_dimension if d == "time" else d for d in query.dimensions]
    order = [list(entry) for entry in query.order_by] or (
        ([[time_dimension, "asc"]] if time_dimension else []) + [[query.metrics[0], "desc"]])  # fmt: skip
    echo: dict[str, Any] = {
        "site_id": query.site_id, "metrics": list(query.metrics),
        "date_range": [dates.iso(span[0], tz), dates.iso(span[1] - timedelta(seconds=1), tz)],
        "filters": query.echo.get("filters", []), "dimensions": dimensions, "order_by": order,
        "include": {name: True for name in sorted(query.include)},
        "pagination": {"limit": query.limit, "offset": query.offset},
    }  # fmt: skip
    return {"results": [{"dimensions": dims, "metrics": values} for dims, values in page], "meta": meta, "query": echo}


def names(items: Sequence[str]) -> str:
    return ", ".join(items)
