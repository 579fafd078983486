"""tests/unit/test_exactness.py against the SQLite store: a fresh database file per example."""

import itertools
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.processor_harness import sqlite_processor
from tests.unit.test_exactness import check

EXAMPLES = 12


@pytest.fixture
def make(tmp_path: Path) -> Any:
    numbers = itertools.count()
    return lambda: sqlite_processor(tmp_path / f"example-{next(numbers)}.db")


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32))
def test_sealed_aggregates_equal_the_oracle_on_sqlite(make: Any, seed: int) -> None:
    check(make(), seed)
