"""The admin record's SSM parameter, read through the AWS edge."""

from typing import Any

from tally_contract import aws

from .errors import Unavailable


def read_parameter(name: str, client: Any = None) -> str:
    """A SecureString's value, decrypted."""
    response = aws.call(client or aws.client("ssm"), "get_parameter", error=Unavailable, Name=name, WithDecryption=True)
    return str(response["Parameter"]["Value"])
