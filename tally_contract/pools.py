"""Thread-pool work that keeps the caller's context variables.

A pool thread does not inherit the submitting thread's ``contextvars``: without this, the
Powertools logger keys, the correlation id and anything else a handler set would be missing
from work done on its behalf. Each task gets its own copy (one Context cannot be entered by two
threads at once); a copy is cheap, the context being an immutable mapping.
"""

import contextvars
from collections.abc import Callable, Iterable
from concurrent.futures import Executor, Future
from typing import Any, TypeVar

T = TypeVar("T")


def submit(pool: Executor, fn: Callable[..., T], *args: Any) -> "Future[T]":
    return pool.submit(contextvars.copy_context().run, fn, *args)


def map_ordered(pool: Executor, fn: Callable[[Any], T], args: Iterable[Any]) -> list[T]:
    """``fn`` over ``args`` on the pool, results in order (the first exception is raised)."""
    return [future.result() for future in [submit(pool, fn, arg) for arg in args]]
