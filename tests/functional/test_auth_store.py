"""The auth store's contract, held by every adapter: DynamoDB (moto, the table from
infra/template.yaml), SQLite (local mode's file) and memory (what the unit tests use), so the
unit tests' store behaves as the real ones do."""

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from dashboard.sessions import Attempts, AuthStore, MemoryAuthStore, Session
from dashboard.sessions_dynamodb import DynamoAuthStore
from dashboard.sessions_sqlite import SQLiteAuthStore
from tests.support.infra import create_table

T0 = 1_795_440_000.25


@pytest.fixture(params=["dynamodb", "sqlite", "memory"])
def store(request: Any, tmp_path: Path) -> Iterator[AuthStore]:
    if request.param == "memory":
        yield MemoryAuthStore()
        return
    if request.param == "sqlite":
        yield SQLiteAuthStore(tmp_path / "tally.db")
        return
    request.getfixturevalue("aws")
    import boto3

    client = boto3.client("dynamodb", region_name="us-east-1")
    yield DynamoAuthStore(create_table(client, "test", "AuthTable"), client=client)


def test_sessions_are_put_read_and_deleted(store: AuthStore) -> None:
    session = Session("ab" * 32, "site:shop", "token:n0nce", T0 + 12 * 3600)
    assert store.get_session(session.digest) is None
    store.put_session(session)
    assert store.get_session(session.digest) == session
    store.delete_session(session.digest)
    assert store.get_session(session.digest) is None
    store.delete_session(session.digest)  # deleting twice is no error


def test_a_claim_holds_the_client_until_its_time(store: AuthStore) -> None:
    granted, before = store.claim_attempt("address:198.51.100.1", T0, T0 + 15)
    assert granted and before == Attempts(0, 0.0)
    refused, now = store.claim_attempt("address:198.51.100.1", T0 + 1, T0 + 16)
    assert not refused and now.not_before == T0 + 15
    assert store.claim_attempt("address:203.0.113.5", T0 + 1, T0 + 16)[0]  # another client
    store.put_attempts("address:198.51.100.1", Attempts(3, T0 + 8.125), T0 + 86400)
    refused, now = store.claim_attempt("address:198.51.100.1", T0 + 8, T0 + 23)
    assert not refused and now == Attempts(3, T0 + 8.125)  # times kept exactly
    granted, before = store.claim_attempt("address:198.51.100.1", T0 + 8.125, T0 + 23)
    assert granted and before == Attempts(3, T0 + 8.125)
    store.delete_attempts("address:198.51.100.1")
    assert store.claim_attempt("address:198.51.100.1", T0 + 9, T0 + 24) == (True, Attempts(0, 0.0))


def test_parallel_claims_grant_one(store: AuthStore) -> None:
    start = threading.Barrier(20)

    def claim(_: int) -> bool:
        start.wait()
        return store.claim_attempt("address:198.51.100.1", T0, T0 + 15)[0]

    with ThreadPoolExecutor(20) as pool:
        assert list(pool.map(claim, range(20))).count(True) == 1
