"""Build the backends a command names, from its URLs and options."""

from .errors import OpsError
from .redis_side import RedisSide
from .sqs import Sqs, make_client
from .targets import Target, parse


def target(url: str, option: str) -> Target:
    """Parse ``url``; a bare name is an SQS queue name (the form ``TALLY_DLQ`` takes)."""
    return parse(url if "://" in url else f"sqs://{url}", option)


def redis_at(where: Target) -> RedisSide:
    if where.kind != "redis":
        raise OpsError(f"expected a Redis URL, got sqs://{where.address}")
    return RedisSide.from_url(where.address)


def sqs_at(where: Target, *, endpoint_url: str | None = None, region: str | None = None) -> Sqs:
    if where.kind != "sqs":
        raise OpsError("expected an sqs:// queue, got a Redis URL")
    return Sqs(where.address, factory=lambda: make_client(endpoint_url, region))
