"""A summary's sealed values: event-level rows for any bucket, visit rows for a day.

Event-level rows (``total``, ``page``, ``event``, ``browser``, ...) carry ``pv`` (pageviews),
``ev`` (events), ``bots`` (the total row only) and ``uv`` (distinct visitors among the
bucket's events of that row).

Visit rows live in the day's bucket, since a visit is known whole only from the day's merge: a
family's day figures under ``visit.<family>`` (``visit`` alone for all visits) and the figures
of the visits that started in hour HH under ``visit.<family>@HH`` (``visit@HH``). Each carries
``visits``, ``bounces`` (one pageview, nothing interactive), ``duration_ms`` (first to last
event, summed), ``pv`` (pageviews in those visits) and ``uv`` (distinct visitors with such a
visit).
"""

from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime

from tally_store.base import Row

from .summary import ATTRIBUTES, TRAITS, Run, Summary

VISIT = "visit"
# Visit families and where their value comes from: ("run", i) a run attribute, ("trait", i) a
# visitor trait, or the run's entry or exit page.
FAMILIES = {
    **{name: ("run", i) for i, name in enumerate(ATTRIBUTES)},
    **{name: ("trait", i) for i, name in enumerate(TRAITS)},
    "entry_page": ("entry", 0),
    "exit_page": ("exit", 0),
}
VISIT_METRICS = ("visits", "bounces", "duration_ms", "pv", "uv")


def event_rows(summary: Summary) -> dict[Row, dict[str, int]]:
    visitors: dict[Row, int] = defaultdict(int)
    for visitor in summary.visitors.values():
        for row in visitor.rows:
            visitors[row] += 1
    sealed: dict[Row, dict[str, int]] = {}
    for row, (pv, ev, bots) in summary.rows.items():
        values = {name: n for name, n in (("pv", pv), ("ev", ev), ("bots", bots), ("uv", visitors[row])) if n}
        sealed[row] = values
    return sealed


def visit_rows(summary: Summary) -> dict[Row, dict[str, int]]:
    """A day's visit rows from the day's merged summary (each run is then one visit)."""
    sums: dict[Row, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    visitors: dict[Row, set[str]] = defaultdict(set)
    for visitor_id, visitor in summary.visitors.items():
        for run in visitor.runs:
            hour = datetime.fromtimestamp(run.first / 1000, UTC).strftime("%H")
            for row in _rows_of(visitor.traits, run):
                for key in (row, (f"{row[0]}@{hour}", row[1])):
                    _add(sums[key], run)
                    visitors[key].add(visitor_id)
    return {row: _values(counts, len(visitors[row])) for row, counts in sums.items()}


def _rows_of(traits: tuple[str | None, ...], run: Run) -> Iterator[Row]:
    yield VISIT, ""
    for family, (where, index) in FAMILIES.items():
        if where == "run":
            value = run.attributes[index]
        elif where == "trait":
            value = traits[index]
        else:
            value = run.entry if where == "entry" else run.exit
        if value:
            yield f"{VISIT}.{family}", str(value)[:512]


def _add(counts: list[int], run: Run) -> None:
    counts[0] += 1
    counts[1] += run.bounced
    counts[2] += run.last - run.first
    counts[3] += run.pageviews


def _values(counts: list[int], visitors: int) -> dict[str, int]:
    values = dict(zip(VISIT_METRICS, [*counts, visitors], strict=True))
    return {name: n for name, n in values.items() if n}
