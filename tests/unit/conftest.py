"""Unit tier: no network at all (pytest-socket refuses every socket), no moto, no subprocess."""

from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def no_network(socket_disabled: None) -> Iterator[None]:
    yield
