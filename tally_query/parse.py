"""A Stats API v2 query from its JSON, checked: anything wrong is a QueryError naming the field.
Total over any JSON value (deep nesting, huge lists, odd types are errors, never exceptions)."""

from typing import Any

from .errors import QueryError
from .model import (
    EVENT_DIMENSIONS,
    INCLUDES,
    LOGICAL,
    MAX_LIMIT,
    MAX_PROP_KEY,
    METRICS,
    OPERATORS,
    PROPS,
    TIME_DIMENSIONS,
    VISIT_DIMENSIONS,
    Filter,
    Logical,
    Query,
    Simple,
)  # fmt: skip

KEYS = frozenset({"site_id", "metrics", "date_range", "dimensions", "filters", "order_by", "include", "pagination"})
SITE_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")
SHORTCUTS = ("day", "24h", "7d", "28d", "30d", "91d", "month", "6mo", "12mo", "year", "all")
MAX_DIMENSIONS = 3
MAX_FILTER_NODES = 50
MAX_FILTER_DEPTH = 6
MAX_CLAUSES = 100
MAX_VALUE = 512
MAX_OFFSET = 1_000_000


def parse(body: Any) -> Query:
    if not isinstance(body, dict):
        raise QueryError("body", "must be a JSON object")
    unknown = sorted(set(body) - KEYS)
    if unknown:
        raise QueryError(str(unknown[0])[:50], f"unknown key; a query has {', '.join(sorted(KEYS))}")
    metrics = _metrics(body.get("metrics"))
    dimensions = _dimensions(body.get("dimensions", []))
    filters = _filters(body.get("filters", []))
    order_by = _order_by(body.get("order_by"), metrics, dimensions)
    limit, offset = _pagination(body.get("pagination", {}))
    include = _include(body.get("include", {}), dimensions)
    echo = {"filters": body.get("filters", [])}
    return Query(_site(body.get("site_id")), metrics, _date_range(body.get("date_range")), dimensions, filters,
                 order_by, include, limit, offset, echo)  # fmt: skip


def _site(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise QueryError("site_id", "is required: the site's id")
    if len(value) > 64 or not set(value) <= SITE_CHARS:
        raise QueryError("site_id", "must be a site id (letters, digits, - _ .)")
    return value


def _metrics(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise QueryError("metrics", f"is required: a list of {', '.join(METRICS)}")
    for metric in value:
        if metric not in METRICS:
            raise QueryError("metrics", f"unknown metric {_shown(metric)}; one of {', '.join(METRICS)}")
    if len(set(value)) != len(value):
        raise QueryError("metrics", "lists a metric twice")
    return tuple(value)


def _date_range(value: Any) -> str | tuple[str, str]:
    if isinstance(value, str) and value in SHORTCUTS:
        return value
    if isinstance(value, list) and len(value) == 2 and all(isinstance(v, str) and len(v) <= 40 for v in value):
        return value[0], value[1]
    raise QueryError("date_range", f"must be one of {', '.join(SHORTCUTS)} or [start, end] ISO 8601 dates or times")


def dimension_ok(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    if value.startswith(PROPS):
        key = value[len(PROPS) :]
        return 0 < len(key) <= MAX_PROP_KEY
    return value in EVENT_DIMENSIONS or value in VISIT_DIMENSIONS or value in TIME_DIMENSIONS


def _dimensions(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or len(value) > MAX_DIMENSIONS:
        raise QueryError("dimensions", f"must be a list of at most {MAX_DIMENSIONS} dimensions")
    for dimension in value:
        if not dimension_ok(dimension):
            raise QueryError("dimensions", f"unknown dimension {_shown(dimension)}")
    if len(set(value)) != len(value):
        raise QueryError("dimensions", "lists a dimension twice")
    if sum(d in TIME_DIMENSIONS for d in value) > 1:
        raise QueryError("dimensions", "at most one time dimension")
    return tuple(value)


def _filters(value: Any) -> tuple[Filter, ...]:
    if not isinstance(value, list):
        raise QueryError("filters", "must be a list of filters")
    budget = [MAX_FILTER_NODES]
    return tuple(_filter(item, 1, budget) for item in value)


def _filter(value: Any, depth: int, budget: list[int]) -> Filter:
    budget[0] -= 1
    if budget[0] < 0 or depth > MAX_FILTER_DEPTH:
        raise QueryError("filters", f"at most {MAX_FILTER_NODES} filters, nested at most {MAX_FILTER_DEPTH} deep")
    if not isinstance(value, list) or not value or not isinstance(value[0], str):
        shape = "a filter is [operator, dimension, [values]] or [and|or|not, ...]"
        raise QueryError("filters", f"{shape}: {_shown(value)}")
    op = value[0]
    if op in LOGICAL:
        return _logical(op, value, depth, budget)
    if op not in OPERATORS:
        raise QueryError("filters", f"unknown operator {_shown(op)}; one of {', '.join(OPERATORS + LOGICAL)}")
    if len(value) not in (3, 4):
        raise QueryError("filters", f"{op} takes [{op}, dimension, [values]] and optional modifiers")
    dimension, clauses = value[1], value[2]
    if not dimension_ok(dimension) or dimension in TIME_DIMENSIONS:
        raise QueryError("filters", f"cannot filter on {_shown(dimension)}")
    if not isinstance(clauses, list) or not clauses or len(clauses) > MAX_CLAUSES:
        raise QueryError("filters", f"{op} {dimension}: a list of 1 to {MAX_CLAUSES} values")
    if dimension == "event:goal" and op not in ("is", "contains"):
        raise QueryError("filters", "event:goal takes is or contains")
    texts = tuple(_clause(clause, op, dimension) for clause in clauses)
    return Simple(op, dimension, texts, _case_sensitive(value[3] if len(value) == 4 else {}))


def _logical(op: str, value: list[Any], depth: int, budget: list[int]) -> Logical:
    if op == "not":
        if len(value) != 2:
            raise QueryError("filters", "not takes one filter: [not, filter]")
        return Logical(op, (_filter(value[1], depth + 1, budget),))
    if len(value) != 2 or not isinstance(value[1], list) or not value[1]:
        raise QueryError("filters", f"{op} takes a list of filters: [{op}, [filter, ...]]")
    return Logical(op, tuple(_filter(child, depth + 1, budget) for child in value[1]))


def _clause(clause: Any, op: str, dimension: str) -> str:
    if isinstance(clause, bool) or not isinstance(clause, str | int):
        raise QueryError("filters", f"{op} {dimension}: values are strings")
    text = str(clause)
    if len(text) > MAX_VALUE:
        raise QueryError("filters", f"{op} {dimension}: a value is at most {MAX_VALUE} characters")
    if op in ("matches", "matches_not"):
        from .matching import compile_pattern

        compile_pattern(text)  # a QueryError when it is no pattern
    return text


def _case_sensitive(modifiers: Any) -> bool:
    if not isinstance(modifiers, dict) or set(modifiers) - {"case_sensitive"}:
        raise QueryError("filters", 'the only modifier is {"case_sensitive": true|false}')
    value = modifiers.get("case_sensitive", True)
    if not isinstance(value, bool):
        raise QueryError("filters", "case_sensitive is true or false")
    return value


def _order_by(value: Any, metrics: tuple[str, ...], dimensions: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or len(value) > len(metrics) + len(dimensions):
        raise QueryError("order_by", "must be a list of [metric or dimension, asc|desc]")
    entries = []
    for entry in value:
        if not (isinstance(entry, list) and len(entry) == 2 and entry[1] in ("asc", "desc")):
            raise QueryError("order_by", f"invalid entry {_shown(entry)}: [metric or dimension, asc|desc]")
        if entry[0] not in metrics and entry[0] not in dimensions:
            raise QueryError("order_by", f"invalid entry {_shown(entry)}: not a queried metric or dimension")
        entries.append((str(entry[0]), str(entry[1])))
    return tuple(entries)


def _pagination(value: Any) -> tuple[int, int]:
    if not isinstance(value, dict) or set(value) - {"limit", "offset"}:
        raise QueryError("pagination", 'must be {"limit": n, "offset": n}')
    limit, offset = value.get("limit", MAX_LIMIT), value.get("offset", 0)
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise QueryError("pagination", f"limit is an integer from 1 to {MAX_LIMIT}")
    if isinstance(offset, bool) or not isinstance(offset, int) or not 0 <= offset <= MAX_OFFSET:
        raise QueryError("pagination", f"offset is an integer from 0 to {MAX_OFFSET}")
    return limit, offset


def _include(value: Any, dimensions: tuple[str, ...]) -> frozenset[str]:
    if not isinstance(value, dict) or set(value) - set(INCLUDES):
        raise QueryError("include", f"takes {', '.join(INCLUDES)}")
    if any(not isinstance(flag, bool) for flag in value.values()):
        raise QueryError("include", "values are true or false")
    chosen = frozenset(key for key, flag in value.items() if flag)
    if "time_labels" in chosen and not any(d in TIME_DIMENSIONS for d in dimensions):
        raise QueryError("include", "time_labels requires a time dimension")
    return chosen


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
