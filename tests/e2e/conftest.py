"""End-to-end tier: subprocesses, Ruby, Chromium, the fault scenarios; handlers that run in the
test process do so under the IAM audit."""

from collections.abc import Iterator

import pytest

from tests.support.iam_fixtures import iam_policies_allow_every_call, iam_recorder
from tests.support.moto_fixtures import atomic_dynamodb_writes
from tests.support.servers import free_port

__all__ = ["atomic_dynamodb_writes", "iam_policies_allow_every_call", "iam_recorder"]


@pytest.fixture
def moto_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port())
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()
