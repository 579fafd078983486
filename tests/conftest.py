import os
from collections.abc import Iterator
from typing import Any

import pytest

from tests.servers import redis_server as start_redis

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


@pytest.fixture(scope="session", autouse=True)
def _atomic_dynamodb_writes() -> None:
    """moto's DynamoDB, in process or served, applies each conditional write atomically, as
    DynamoDB does (tally_cli/local/emulator.py, serialized_writes)."""
    from tally_cli.local.emulator import serialized_writes

    serialized_writes()


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
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
    from tests.ingest_harness import make_ingest

    yield make_ingest()
    runtime.reset()


@pytest.fixture(scope="session")
def iam_recorder() -> Iterator[Any]:
    """Every AWS call made inside one of app.py's handlers, by function (tests/iam_audit.py)."""
    from botocore.client import BaseClient

    from app import app
    from dashboard_app.app import app as dashboard_app
    from tests import iam_audit

    recorder = iam_audit.Recorder()
    original = iam_audit.install(recorder)
    app.register_middleware(iam_audit.attribute_middleware("api_handler"), "all")
    dashboard_app.register_middleware(iam_audit.attribute_middleware("dashboard"), "all")
    yield recorder
    BaseClient._make_api_call = original


@pytest.fixture(autouse=True)
def iam_policies_allow_every_call(iam_recorder: Any) -> Iterator[None]:
    """Fail the test whose handlers made an AWS call their function's policy (any stage) denies."""
    from tests import iam_audit

    iam_recorder.take()
    yield
    problems = iam_audit.violations(iam_recorder.take())
    if problems:
        pytest.fail("IAM policy does not allow:\n" + "\n".join(problems), pytrace=False)
