"""Which way a query is answered, and Plausible's rules on what may be asked together.

From the aggregates (aggregate.py) when one family of rows holds the answer: at most one
dimension besides time (not event:hostname, not a property key the site does not declare), no
filter or one simple filter on that dimension (or, with no dimension, ``is`` one value), visit
metrics only with a visit dimension or none, time buckets on whole UTC hours (not minutes).
Also from the aggregates, from the hour summaries' visits (visits.py): filters on visit
dimensions and on one event dimension, by one visit dimension or none; visit filters by an
event dimension. Everything else is a bounded raw-event scan (scan.py).
"""

from tally_aggregates.declared import Declared

from . import selectors
from .errors import QueryError
from .model import (
    VISIT_METRICS,
    Filter,
    Query,
    Simple,
    dimensions_in,
    family,
    is_event_dimension,
    is_visit_dimension,
)  # fmt: skip
from .selectors import Selector


def check(query: Query, declared: Declared) -> None:
    """Plausible's refusals (the same messages), and goals that are not the site's."""
    metrics, dimensions = set(query.metrics), query.plain_dimensions
    filtered = dimensions_in(query.filters)
    goal_asked = "event:goal" in dimensions or "event:goal" in filtered
    if metrics & {"conversion_rate"} and not goal_asked:
        raise QueryError(
            "metrics", "Metric `conversion_rate` can only be queried with event:goal filters or dimensions."
        )
    if "percentage" in metrics and not query.dimensions:
        raise QueryError("metrics", "Metric `percentage` requires non-empty dimensions.")
    if "views_per_visit" in metrics and (query.dimensions or "event:page" in filtered):
        raise QueryError(
            "metrics", "Metric `views_per_visit` cannot be queried with dimensions or an event:page filter."
        )
    session = sorted(metrics & VISIT_METRICS)
    if session and any(is_event_dimension(d) and d != "event:page" for d in dimensions):
        raise QueryError("metrics", f"Session metric(s) `{', '.join(session)}` cannot be queried along with event "
                                    "dimensions.")  # fmt: skip
    names = {selectors.goal_name(goal) for goal in declared.goals}
    for node in query.filters:
        if isinstance(node, Simple) and node.dimension == "event:goal" and node.op == "is":
            missing = [value for value in node.values if value not in names]
            if missing:
                raise QueryError("filters", f"The goal `{missing[0]}` is not configured for this site.")


def selector(query: Query, declared: Declared, aligned: bool) -> Selector | None:
    """The rows that answer the query, or None: scan."""
    if not aligned or query.time_dimension == "time:minute" or len(query.plain_dimensions) > 1:
        return None
    dimension = query.plain_dimensions[0] if query.plain_dimensions else None
    return _rows(query, declared, dimension) or _visits(query, declared, dimension)


def _visits(query: Query, declared: Declared, dimension: str | None) -> Selector | None:
    """Filters each on visit dimensions alone (any and/or/not tree) or on one event dimension
    with rows (a page, an event name, a declared property; a goal: ``is`` one), grouped by a
    visit dimension, by time or not at all, or, under visit filters alone, by an event
    dimension with rows: the hour summaries' visits hold every value these ask (32 days of them
    at most, reading.py)."""
    if not query.filters:
        return None
    on_visits = tuple(node for node in query.filters if all(map(is_visit_dimension, dimensions_in((node,)))))
    on_events = tuple(node for node in query.filters if node not in on_visits)
    named = dimensions_in(on_events)
    if len(named) > 1 or any(not _has_rows(d, declared) or is_visit_dimension(d) for d in named):
        return None  # two event dimensions (one event must hold both), or an event and a visit one in one tree
    event = None
    if named:
        (name,) = named
        if name == "event:goal" and not (len(on_events) == 1 and _single_is(on_events[0])):
            return None  # an event reaching two goals is in both goals' rows
        event = (str(family(name)), on_events)
    if dimension is not None and not is_visit_dimension(dimension) and (event or not _has_rows(dimension, declared)):
        return None
    return selectors.visits(dimension, on_visits, event)


def divisor(query: Query, chosen: Selector) -> Selector:
    """What ``percentage`` and ``conversion_rate`` divide by: the visitors of all rows, under
    the query's filters (a goal's left out for conversion_rate alone, as the scan does)."""
    if not (chosen.visits or chosen.event_filters):
        return selectors.TOTAL
    event = (chosen.event_family, chosen.event_filters) if chosen.event_filters else None
    if event is not None and event[0] == "goal" and "percentage" not in query.metrics:
        event = None
    return selectors.visits(None, chosen.visits, event)


def _single_is(node: Filter) -> bool:
    return isinstance(node, Simple) and node.op == "is" and len(node.values) == 1


def _rows(query: Query, declared: Declared, dimension: str | None) -> Selector | None:
    """One family of rows: no filter, or one simple filter on the grouped dimension (or alone)."""
    filters = query.filters
    if len(filters) > 1 or (filters and not isinstance(filters[0], Simple)):
        return None
    only = filters[0] if filters and isinstance(filters[0], Simple) else None
    for named in (dimension, only.dimension if only else None):
        if named is not None and not _has_rows(named, declared):
            return None
    if dimension is None and only is None:
        chosen = selectors.TOTAL
    elif dimension is None and only is not None:
        if only.op != "is" or len(only.values) != 1:
            return None
        chosen = selectors.of(only.dimension, only, grouped=False)
    elif only is not None and only.dimension != dimension:
        return None
    else:
        chosen = selectors.of(str(dimension), only)
    return chosen if _answers(query, chosen, only is not None) else None


def _has_rows(dimension: str, declared: Declared) -> bool:
    name = family(dimension)
    if name is None:
        return False
    return not name.startswith("prop:") or name[5:] in declared.props


def _answers(query: Query, chosen: Selector, filtered: bool) -> bool:
    metrics = set(query.metrics)
    if metrics & VISIT_METRICS and chosen.kind == "event":
        return False  # visits by page: the visits that hold the page, only a scan sees
    if "percentage" in metrics and filtered:
        return False  # the divisor is the union of the kept rows' visitors
    if "conversion_rate" in metrics and chosen.family != "goal":
        return False
    return True
