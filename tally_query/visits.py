"""What one visit adds to each result row, from an hour summary's runs (tally_aggregates/summary.py),
under filters on its values and on one event family (a page, an event name, a goal, a property):
the answer of the raw scan (scan.py) for the queries plan.py sends here, without raw events.

A visit (a day's run) is kept when its values hold the visit filters and, with an event filter,
when some of its events hold it; it counts once under each row key its kept events (or its own
value) give. A piece of it (its events within the hours asked) adds those events' pageviews,
events and its visitor, under the same keys."""

from collections.abc import Iterator

from tally_aggregates.summary import Run, Visitor
from tally_contract.errors import TallyError
from tally_store.base import Row

from .matching import holds
from .selectors import Selector, shown, visit_value

Counts = tuple[int, int]  # pageviews, events


class RowsUnknown(TallyError):
    """A summary written before runs kept their rows: the query is the raw scan's."""


def keys(selector: Selector, visitor: Visitor, visit: Run, counted: Run) -> Iterator[tuple[str | None, Counts]]:
    """The row keys ``visit`` counts under (None when not grouped), each with the pageviews and
    events of ``counted`` (the visit itself, or its piece within the hours asked) kept there."""
    if not selector.admits(visitor, visit):
        return
    if selector.kind == "by_event":  # visits grouped by the rows of an event family
        for (family, value), counts in _rows(counted).items():
            if family == selector.family:
                yield shown(selector, value), counts
        return
    found: Counts | None = (counted.pageviews, counted.events)
    if selector.event_filters:
        found = _summed(_kept(selector, counted)) if _kept(selector, visit) else None
    own = visit_value(selector.family)(visitor, visit)
    if found is not None and own is not None and selector.wanted(own):
        yield (own if selector.grouped else None), found


def _kept(selector: Selector, run: Run) -> list[Counts]:
    family = selector.event_family

    def holds_all(value: str) -> bool:
        shown_value = shown(Selector("event", family), value)
        return all(holds(node, lambda _d: shown_value) for node in selector.event_filters)

    return [counts for (named, value), counts in _rows(run).items() if named == family and holds_all(value)]


def _summed(kept: list[Counts]) -> Counts | None:
    if not kept:
        return None
    return sum(c[0] for c in kept), sum(c[1] for c in kept)


def _rows(run: Run) -> dict[Row, Counts]:
    if run.rows is None:
        raise RowsUnknown("a summary holds no rows of its visits")
    return run.rows
