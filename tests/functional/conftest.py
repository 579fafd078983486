"""Functional tier: moto for AWS, a real redis-server; handlers run under the IAM audit."""

from tests.support.iam_fixtures import iam_policies_allow_every_call, iam_recorder
from tests.support.moto_fixtures import atomic_dynamodb_writes

__all__ = ["atomic_dynamodb_writes", "iam_policies_allow_every_call", "iam_recorder"]
