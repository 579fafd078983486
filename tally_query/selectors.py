"""Which aggregate rows answer a query: the total, one event family (``page``, ``event``,
``goal``, ``prop:<key>``) or one visit family (``source``, ``entry_page``, ``device``, ...),
with the values a same-dimension filter keeps. Goal rows are named as Plausible names goals."""

from collections.abc import Callable
from dataclasses import dataclass

from tally_aggregates.rows import FAMILIES
from tally_aggregates.summary import Run, Visitor

from .matching import holds
from .model import VISIT_DIMENSIONS, Filter, is_visit_dimension
from .model import family as family_of

MAX_VALUE = 512


@dataclass(frozen=True)
class Selector:
    kind: str  # "total", "event", "visit"; "by_event": visits kept by visit filters, by an event family
    family: str = ""  # event family (page, goal, prop:plan) or visit family (source, device, ...)
    dimension: str = ""  # the query's dimension the rows stand for
    keep: Filter | None = None  # a filter on that dimension: the values it keeps
    grouped: bool = True  # False: a filter alone, its rows summed into one
    visits: tuple[Filter, ...] = ()  # filters on visit dimensions only: each visit is tested
    event_family: str = ""  # with event_filters: the family they test (page, event, goal, prop:plan)
    event_filters: tuple[Filter, ...] = ()  # a visit is kept for its events that hold them (visits.py)

    def wanted(self, value: str) -> bool:
        return self.keep is None or holds(self.keep, lambda _d: value)

    def admits(self, visitor: Visitor, run: Run) -> bool:
        """Whether a visit holds ``visits`` (any and/or/not tree over its values)."""
        return all(holds(node, lambda d: visit_value(VISIT_DIMENSIONS[d])(visitor, run)) for node in self.visits)


TOTAL = Selector("total")


def visits(dimension: str | None, filters: tuple[Filter, ...], event: tuple[str, tuple[Filter, ...]] | None = None
           ) -> Selector:  # fmt: skip
    """Visits kept by filters on visit dimensions and (``event``: a family and its filters) by
    their events; grouped by a visit dimension, by an event dimension, or not grouped."""
    family, kept = event or ("", ())
    if dimension is None:
        return Selector("visit", grouped=False, visits=filters, event_family=family, event_filters=kept)
    if is_visit_dimension(dimension):
        return Selector("visit", VISIT_DIMENSIONS[dimension], dimension, None, True, filters, family, kept)
    return Selector("by_event", str(family_of(dimension)), dimension, None, True, filters)


def of(dimension: str, keep: Filter | None = None, grouped: bool = True) -> Selector:
    if is_visit_dimension(dimension):
        return Selector("visit", VISIT_DIMENSIONS[dimension], dimension, keep, grouped)
    return Selector("event", str(family_of(dimension)), dimension, keep, grouped)


def goal_name(spec: str) -> str:
    """Plausible's name of a goal: the event's name, or ``Visit <page pattern>``."""
    kind, _, target = spec.partition(":")
    return target if kind == "event" else f"Visit {target}"


def shown(selector: Selector, value: str) -> str:
    return goal_name(value) if selector.family == "goal" else value


def visit_value(name: str) -> Callable[[Visitor, Run], str | None]:
    """The value of visit family ``name`` for a visitor's visit (as rows.visit_rows reads it);
    no family (visits not grouped): one value for all."""
    if not name:
        return lambda _visitor, _run: ""
    where, index = FAMILIES[name]

    def value(visitor: Visitor, run: Run) -> str | None:
        if where == "run":
            found = run.attributes[index]
        elif where == "trait":
            found = visitor.traits[index]
        else:
            found = run.entry if where == "entry" else run.exit
        return str(found)[:MAX_VALUE] if found else None

    return value
