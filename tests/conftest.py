"""Shared by every tier: no test ever talks to AWS (fake credentials, moto intercepts), and the
fixtures that start real components on demand. tests/unit runs with sockets disabled;
tests/functional and tests/e2e add the IAM audit where Lambda handlers run."""

import os
from collections.abc import Iterator
from typing import Any

import pytest

# Tests never talk to AWS: fake credentials, one region, moto intercepts every call.
os.environ.update(
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",
    AWS_SESSION_TOKEN="testing",
    AWS_DEFAULT_REGION="us-east-1",
    AWS_REGION="us-east-1",
    POWERTOOLS_METRICS_NAMESPACE="Tally",
    POWERTOOLS_TRACE_DISABLED="true",
)
for _var in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SQS", "AWS_ENDPOINT_URL_DYNAMODB"):
    os.environ.pop(_var, None)


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    from tests.support.servers import redis_server as start_redis

    with start_redis() as url:
        yield url


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[Any]:
    import redis

    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


@pytest.fixture
def aws() -> Iterator[None]:
    from moto import mock_aws

    from tally_contract import aws as aws_clients

    aws_clients.reset()
    with mock_aws():
        yield
    aws_clients.reset()


@pytest.fixture
def boto() -> Any:
    import boto3

    return boto3.session.Session(region_name="us-east-1")


@pytest.fixture
def ingest() -> Iterator[Any]:
    from ingest_lambda import runtime
    from tests.support.ingest_harness import make_ingest

    yield make_ingest()
    runtime.reset()
