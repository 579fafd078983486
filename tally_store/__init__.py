"""Where Tally keeps raw events and aggregates, behind one small protocol (``base.Store``).

Logic (the processor, the counters, the rollup, the readers) speaks only the protocol's plain
Python types. Each adapter, named for its backend, holds everything its backend needs: every
request, expression and error code of DynamoDB lives in ``dynamodb*.py``; ``memory.py`` keeps
the same contract in dicts, for tests and as the proof that the seam holds.
"""

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .base import Store

SCHEMES = ("dynamodb://<stage>", "sqlite://<path>", "memory://")


def from_url(url: str) -> "Store":
    """The store a URL names: ``dynamodb://<stage>`` (the stage's ``tally-<stage>-events`` and
    ``-aggregates`` tables), ``sqlite://<path>`` (``sqlite:///abs/tally.db``,
    ``sqlite://.tally/tally.db``) or ``memory://``. Each adapter is imported only when named."""
    from tally_contract.errors import StoreConfigError

    scheme, sep, rest = url.partition("://")
    if scheme == "sqlite" and sep and rest:
        from .sqlite import SQLiteStore

        return SQLiteStore.from_url(url)
    if scheme == "dynamodb" and sep and rest:
        from .dynamodb import DynamoDBStore

        return DynamoDBStore(f"tally-{rest}-events", f"tally-{rest}-aggregates")
    if scheme == "memory" and sep:
        from .memory import MemoryStore

        return MemoryStore()
    raise StoreConfigError(f"store URL {url!r} must be one of {', '.join(SCHEMES)}")


def from_environment() -> "Store":
    """``TALLY_STORE_URL`` when set (local mode: ``sqlite://...``), else the DynamoDB tables
    ``TALLY_EVENTS_TABLE`` and ``TALLY_AGGREGATES_TABLE`` name (what a deployed stage sets)."""
    url = os.environ.get("TALLY_STORE_URL")
    if url:
        return from_url(url)
    from .dynamodb import DynamoDBStore

    return DynamoDBStore.from_environment()
