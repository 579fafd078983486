"""The store-generic processing and rollup tests (tests/unit/test_processing.py), unchanged,
against the SQLite store in a file of the test's tmp_path (no network: the unit tier)."""

from pathlib import Path

import pytest

from tests.support.processor_harness import Processor, sqlite_processor
from tests.unit.test_processing import *  # noqa: F403 - the same tests, collected here against SQLite


@pytest.fixture  # type: ignore[no-redef]  # replaces the imported memory-store fixture
def proc(tmp_path: Path) -> Processor:
    return sqlite_processor(tmp_path / "tally.db")
