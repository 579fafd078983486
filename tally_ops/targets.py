"""Parse the ``--from`` / ``--to`` URLs of the drain and dlq commands."""

from dataclasses import dataclass

from .errors import OpsError

SCHEMES = ("redis", "rediss", "sqs")


@dataclass(frozen=True)
class Target:
    """``kind`` is "redis" or "sqs"; ``address`` is the Redis URL or the SQS queue name or URL."""

    kind: str
    address: str


def parse(url: str, option: str = "url") -> Target:
    scheme, sep, rest = url.partition("://")
    if not sep or scheme not in SCHEMES or not rest.strip("/"):
        raise OpsError(f"{option}: {url!r} must be redis://host:port/db or sqs://<queue name or URL>")
    if scheme == "sqs":
        return Target("sqs", rest)
    return Target("redis", url)
