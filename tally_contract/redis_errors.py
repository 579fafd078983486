"""redis-py's errors into the project's, for the Redis worker and the operator tools (as
``tally_contract.aws.call`` is for AWS). redis is imported only when a block runs, so a module
that merely imports this one (ingest's cold start) does not load it."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from .errors import QueueUnavailable, TallyError


@contextmanager
def translated(what: str, error: Callable[[str], TallyError] = QueueUnavailable) -> Iterator[None]:
    """Any redis-py error in the block becomes ``error("Redis <what>: <class>: <message>")``."""
    from redis.exceptions import RedisError

    try:
        yield
    except RedisError as exc:
        raise error(f"Redis {what}: {type(exc).__name__}: {exc}") from exc
