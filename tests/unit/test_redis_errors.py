"""redis-py's errors leave the worker and the operator tools as the project's own."""

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

from tally_contract.errors import QueueUnavailable, TallyError
from tally_contract.redis_errors import translated
from tally_ops.errors import OpsError


def test_a_redis_error_becomes_queue_unavailable_by_default() -> None:
    with pytest.raises(QueueUnavailable, match=r"^Redis settle: ConnectionError: refused$") as caught:
        with translated("settle"):
            raise RedisConnectionError("refused")
    assert isinstance(caught.value.__cause__, RedisConnectionError) and caught.value.retryable


def test_the_caller_names_its_own_error_and_others_pass_through() -> None:
    with pytest.raises(OpsError, match="Redis TAKE: ResponseError: NOSCRIPT") as caught:
        with translated("TAKE", OpsError):
            raise ResponseError("NOSCRIPT")
    assert isinstance(caught.value, TallyError)
    with pytest.raises(KeyError), translated("fetch"):
        raise KeyError("a bug of ours is not Redis being down")
