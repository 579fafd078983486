"""Where the admin record is kept, behind one small seam (``Parameters``): an SSM SecureString
on AWS (read through the AWS edge), or, in local mode, the store's SQLite file
(parameters_sqlite.py). ``from_environment`` picks by ``TALLY_STORE_URL``, as the sites do."""

import os
from typing import Any, Protocol

from tally_contract import aws

from .errors import Unavailable


class Parameters(Protocol):
    def get(self, name: str) -> str:
        """The parameter's value; Unavailable if it cannot be read."""

    def put(self, name: str, value: str, *, overwrite: bool) -> None:
        """Store it; with ``overwrite=False`` refuse (atomically) when it exists."""


class SsmParameters:
    def __init__(self, client: Any = None) -> None:
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = aws.client("ssm")
        return self._client

    def get(self, name: str) -> str:
        """A SecureString's value, decrypted."""
        response = aws.call(self.client, "get_parameter", error=Unavailable, Name=name, WithDecryption=True)
        return str(response["Parameter"]["Value"])

    def put(self, name: str, value: str, *, overwrite: bool) -> None:
        # The caller reads botocore's ParameterAlreadyExists itself (tally dashboard password).
        self.client.put_parameter(Name=name, Value=value, Type="SecureString", Overwrite=overwrite)


def read_parameter(name: str, client: Any = None) -> str:
    return SsmParameters(client).get(name)


def from_environment() -> Parameters:
    url = os.environ.get("TALLY_STORE_URL", "")
    if url.startswith("sqlite://"):
        from .parameters_sqlite import SQLiteParameters

        return SQLiteParameters(url.removeprefix("sqlite://"))
    return SsmParameters()
