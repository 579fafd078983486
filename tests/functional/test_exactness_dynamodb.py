"""tests/unit/test_exactness.py against the DynamoDB store on moto (fewer examples: moto is slow)."""

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.processor_harness import make_processor
from tests.unit.test_exactness import check


@pytest.fixture
def make(aws: None, boto: Any) -> Any:
    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    def fresh() -> Any:  # every example on empty tables
        for table in list(dynamodb_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].tables):
            boto.client("dynamodb").delete_table(TableName=table)
        return make_processor(boto.client("dynamodb"))

    return fresh


@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32))
def test_sealed_aggregates_equal_the_oracle_on_dynamodb(make: Any, seed: int) -> None:
    check(make(), seed)
