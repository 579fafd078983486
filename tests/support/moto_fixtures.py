"""moto as DynamoDB behaves, for the tiers that use it (tests/functional, tests/e2e)."""

import pytest


@pytest.fixture(scope="session", autouse=True)
def atomic_dynamodb_writes() -> None:
    """moto's DynamoDB, in process or served, applies each conditional write atomically, as
    DynamoDB does (tally_cli/local/emulator.py, serialized_writes): the login backoff's claim
    relies on it."""
    from tally_cli.local.emulator import serialized_writes

    serialized_writes()
