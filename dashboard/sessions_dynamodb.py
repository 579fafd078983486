"""The auth table in DynamoDB (infra/template.yaml ``AuthTable``): every expression the
session store needs; calls go through the AWS edge (``tally_contract.aws.call``), whose
errors become Unavailable (503) and, for a failed condition, ConditionFailed.

Items are ``pk = <kind>#<id>``, ``sk = <kind>``: ``session#<sha256 of the id>`` and
``login#<client>``; ``expires_at`` is the table's TTL attribute. Session reads are strongly
consistent, so a logout holds on every instance the moment it is answered.
"""

from typing import Any

from tally_contract import aws
from tally_contract.errors import ConditionFailed

from .errors import Unavailable
from .sessions import FORGET_SECONDS, Attempts, Session

SESSION, ATTEMPTS = "session", "login"


class DynamoAuthStore:
    def __init__(self, table: str, *, client: Any = None) -> None:
        self.table = table
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = aws.client("dynamodb")
        return self._client

    def put_session(self, session: Session) -> None:
        item = {
            **_key(SESSION, session.digest),
            "scope": {"S": session.scope},
            "credential": {"S": session.credential},
            "expires_at": {"N": _number(session.expires_at)},
        }
        self._call("put_item", TableName=self.table, Item=item)

    def get_session(self, digest: str) -> Session | None:
        found = self._call("get_item", TableName=self.table, Key=_key(SESSION, digest), ConsistentRead=True)
        item = found.get("Item")
        if item is None:
            return None
        return Session(digest, item["scope"]["S"], item["credential"]["S"], float(item["expires_at"]["N"]))

    def delete_session(self, digest: str) -> None:
        self._call("delete_item", TableName=self.table, Key=_key(SESSION, digest))

    def claim_attempt(self, client: str, now: float, hold_until: float) -> tuple[bool, Attempts]:
        try:
            old = self._call(
                "update_item", TableName=self.table, Key=_key(ATTEMPTS, client),
                UpdateExpression="SET not_before = :hold, expires_at = :expires",
                ConditionExpression="attribute_not_exists(pk) OR not_before <= :now",
                ExpressionAttributeValues={":hold": {"N": _number(hold_until)}, ":now": {"N": _number(now)},
                                           ":expires": {"N": _number(hold_until + FORGET_SECONDS)}},
                ReturnValues="ALL_OLD",
            ).get("Attributes", {})  # fmt: skip
        except ConditionFailed:
            found = self._call("get_item", TableName=self.table, Key=_key(ATTEMPTS, client), ConsistentRead=True)
            return False, _attempts(found.get("Item", {}))
        return True, _attempts(old)

    def put_attempts(self, client: str, attempts: Attempts, expires_at: float) -> None:
        item = {
            **_key(ATTEMPTS, client),
            "failures": {"N": str(attempts.failures)},
            "not_before": {"N": _number(attempts.not_before)},
            "expires_at": {"N": _number(expires_at)},
        }
        self._call("put_item", TableName=self.table, Item=item)

    def delete_attempts(self, client: str) -> None:
        self._call("delete_item", TableName=self.table, Key=_key(ATTEMPTS, client))

    def _call(self, operation: str, **kwargs: Any) -> Any:
        return aws.call(self.client, operation, error=Unavailable, **kwargs)


def _key(kind: str, ident: str) -> dict[str, Any]:
    return {"pk": {"S": f"{kind}#{ident}"}, "sk": {"S": kind}}


def _attempts(item: dict[str, Any]) -> Attempts:
    return Attempts(int(item.get("failures", {}).get("N", "0")), float(item.get("not_before", {}).get("N", "0")))


def _number(value: float) -> str:
    return repr(float(value))  # exact: a wait read back is the wait written
