"""Functional tier: moto for AWS, a real redis-server; handlers run under the IAM audit."""

from tests.support.iam_fixtures import iam_policies_allow_every_call, iam_recorder

__all__ = ["iam_policies_allow_every_call", "iam_recorder"]
