"""What a site declares for its aggregates: goals, and the custom property keys it counts.

A goal is ``event:<name>`` (an event of that name) or ``page:<pattern>`` (a pageview whose path
matches the glob pattern, ``*`` for any characters). Its row, ``("goal", spec)``, counts the
completions (``ev``) and the visitors who reached it (``uv``): conversions.

A declared property key's values count in rows ``("prop:<key>", value)``, the value cut to
MAX_PROP_VALUE characters. A minute keeps the first MAX_PROP_VALUES distinct values of a key
(in event order); later ones count under ``(other)``, so no property can make a bucket unbounded.
"""

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from fnmatch import fnmatchcase

from tally_store.base import Event, Row

MAX_GOALS = 20
MAX_PROPS = 10
MAX_PROP_VALUE = 100
MAX_PROP_VALUES = 100
OTHER = "(other)"


@dataclass(frozen=True)
class Declared:
    goals: tuple[str, ...] = ()
    props: tuple[str, ...] = ()


@dataclass
class BucketRows:
    """``rows_of`` for one bucket's events: the counters' rows and the declared ones."""

    declared: Declared
    base: Callable[[Event], Iterable[tuple[Row, tuple[int, int, int]]]]  # counters.rows_of
    _seen: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))

    def __call__(self, event: Event) -> Iterator[tuple[Row, tuple[int, int, int]]]:
        yield from self.base(event)
        if event.get("bot"):
            return
        deltas = (1 if event.get("name") == "pageview" else 0, 1, 0)
        for goal in self.declared.goals:
            if reached(goal, event):
                yield ("goal", goal), deltas
        properties = event.get("properties") or {}
        for key in self.declared.props:
            if key in properties and properties[key] is not None:
                yield (f"prop:{key}", self._bounded(key, str(properties[key])[:MAX_PROP_VALUE])), deltas

    def _bounded(self, key: str, value: str) -> str:
        seen = self._seen[key]
        if value in seen or len(seen) < MAX_PROP_VALUES:
            seen.add(value)
            return value
        return OTHER


def reached(goal: str, event: Event) -> bool:
    kind, _, target = goal.partition(":")
    if kind == "event":
        return event.get("name") == target
    return kind == "page" and event.get("name") == "pageview" and fnmatchcase(str(event.get("path") or ""), target)


def check_goal(goal: str) -> str:
    """A goal spec as given, or ValueError saying what is wrong with it."""
    kind, sep, target = goal.partition(":")
    if kind not in ("event", "page") or not sep or not target or len(goal) > 200:
        raise ValueError(f"{goal!r}: a goal is event:<name> or page:<path pattern>, at most 200 characters")
    return goal
