"""Filters evaluated on values: ``get(dimension)`` gives a dimension's value for an event (with
its visit), None where it has none. ``is`` and ``contains`` match when any clause does; the
``_not`` operators when none does (so an event without the value matches them). Patterns are
the ``regex`` module's (close to RE2's syntax), each search under a time limit: a pattern that
takes too long is the query's error, never a stuck request."""

import functools
from collections.abc import Callable

import regex

from .errors import QueryError
from .model import Filter, Simple

MATCH_SECONDS = 0.05
MAX_PATTERN = 256
Getter = Callable[[str], str | None]


@functools.lru_cache(maxsize=256)
def compile_pattern(text: str, case_sensitive: bool = True) -> "regex.Pattern[str]":
    if len(text) > MAX_PATTERN:
        raise QueryError("filters", f"a pattern is at most {MAX_PATTERN} characters")
    try:
        return regex.compile(text, 0 if case_sensitive else regex.IGNORECASE)
    except (regex.error, ValueError, OverflowError, RecursionError) as exc:
        raise QueryError("filters", f"{text[:60]!r} is not a pattern: {exc}") from None


def simple(node: Simple, value: str | None) -> bool:
    positive = node.op.removesuffix("_not")
    hit = value is not None and _any(positive, node, value)
    return hit != node.op.endswith("_not")


def _any(op: str, node: Simple, value: str) -> bool:
    if op == "matches":
        return any(_search(compile_pattern(clause, node.case_sensitive), value) for clause in node.values)
    text = value if node.case_sensitive else value.casefold()
    clauses = node.values if node.case_sensitive else tuple(c.casefold() for c in node.values)
    if op == "is":
        return text in clauses
    return any(clause in text for clause in clauses)


def _search(pattern: "regex.Pattern[str]", value: str) -> bool:
    try:
        return pattern.search(value, timeout=MATCH_SECONDS) is not None
    except TimeoutError:
        raise QueryError("filters", f"the pattern {pattern.pattern[:60]!r} takes too long to match") from None


def holds(node: Filter, get: Getter, values: Callable[[str], tuple[str | None, ...]] | None = None) -> bool:
    """Whether an event holds the filter. ``values``: a dimension that may have several values
    at once (event:goal: every goal the event reaches) matches when one of them does."""
    if isinstance(node, Simple):
        if values is not None and node.dimension == "event:goal":
            found = values(node.dimension)
            return any(simple(node, value) for value in found) if found else simple(node, None)
        return simple(node, get(node.dimension))
    if node.op == "and":
        return all(holds(child, get, values) for child in node.children)
    if node.op == "or":
        return any(holds(child, get, values) for child in node.children)
    return not holds(node.children[0], get, values)
