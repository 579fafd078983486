"""A Stats API v2 query as the engine reads it, and the names it knows.

Metrics are event-level or visit-level. ``pageviews``, ``events`` and ``visitors`` count the
events of the range that match the filters (a ``visit:`` dimension or filter reads the visit
the event belongs to); ``visits``, ``bounce_rate``, ``visit_duration`` and ``views_per_visit``
count the visits that start in the range, whole (a visit matches when one of its events does).
"""

from dataclasses import dataclass, field
from typing import Any

METRICS = ("visitors", "visits", "pageviews", "views_per_visit", "bounce_rate", "visit_duration", "events",
           "conversion_rate", "percentage")  # fmt: skip
VISIT_METRICS = frozenset({"visits", "bounce_rate", "visit_duration", "views_per_visit"})
# Event dimensions -> the aggregates' row family (None: no family, only a scan answers).
EVENT_DIMENSIONS = {"event:page": "page", "event:name": "event", "event:goal": "goal", "event:hostname": None}
PROPS = "event:props:"
# Visit dimensions -> the visit rows' family (tally_aggregates/rows.py FAMILIES).
VISIT_DIMENSIONS = {
    "visit:source": "source", "visit:referrer": "referrer", "visit:utm_source": "utm_source",
    "visit:utm_medium": "utm_medium", "visit:utm_campaign": "utm_campaign", "visit:device": "device",
    "visit:browser": "browser", "visit:browser_version": "browser_version", "visit:os": "os",
    "visit:os_version": "os_version", "visit:country": "country", "visit:entry_page": "entry_page",
    "visit:exit_page": "exit_page",
}  # fmt: skip
TIME_DIMENSIONS = ("time", "time:minute", "time:hour", "time:day", "time:week", "time:month")
OPERATORS = ("is", "is_not", "contains", "contains_not", "matches", "matches_not")
LOGICAL = ("and", "or", "not")
INCLUDES = ("total_rows", "time_labels", "imports")
MAX_PROP_KEY = 100
MAX_LIMIT = 10_000


@dataclass(frozen=True)
class Simple:
    op: str
    dimension: str
    values: tuple[str, ...]
    case_sensitive: bool = True


@dataclass(frozen=True)
class Logical:
    op: str  # and, or, not (one child)
    children: tuple["Filter", ...]


Filter = Simple | Logical


@dataclass(frozen=True)
class Query:
    site_id: str
    metrics: tuple[str, ...]
    date_range: str | tuple[str, str]
    dimensions: tuple[str, ...] = ()
    filters: tuple[Filter, ...] = ()
    order_by: tuple[tuple[str, str], ...] = ()
    include: frozenset[str] = frozenset()
    limit: int = MAX_LIMIT
    offset: int = 0
    echo: dict[str, Any] = field(default_factory=dict, compare=False)  # filters as sent, for the answer

    @property
    def time_dimension(self) -> str | None:
        return next((d for d in self.dimensions if d in TIME_DIMENSIONS), None)

    @property
    def plain_dimensions(self) -> tuple[str, ...]:
        return tuple(d for d in self.dimensions if d not in TIME_DIMENSIONS)


def is_visit_dimension(dimension: str) -> bool:
    return dimension in VISIT_DIMENSIONS


def is_event_dimension(dimension: str) -> bool:
    return dimension in EVENT_DIMENSIONS or dimension.startswith(PROPS)


def family(dimension: str) -> str | None:
    """The aggregates' row family of a dimension: ``page``, ``prop:plan``, ``visit.source`` ..."""
    if dimension.startswith(PROPS):
        return f"prop:{dimension[len(PROPS) :]}"
    if dimension in VISIT_DIMENSIONS:
        return f"visit.{VISIT_DIMENSIONS[dimension]}"
    return EVENT_DIMENSIONS.get(dimension)


def dimensions_in(filters: tuple[Filter, ...]) -> set[str]:
    found: set[str] = set()
    for node in filters:
        if isinstance(node, Simple):
            found.add(node.dimension)
        else:
            found |= dimensions_in(node.children)
    return found
