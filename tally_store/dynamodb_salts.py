"""The daily salts in the aggregates table (``pk = "salt"``, ``sk = <day>``, ``v`` the salt,
``ttl``): read first (the common case, the day's salt exists), created by a conditional put
when missing, read again if another writer won. Its own module so that ingest, which needs only
this, does not load the rest of the store; DynamoDBStore.daily_salt is this too. The ingest
role may touch only these items (``dynamodb:LeadingKeys`` = ``salt``)."""

from typing import Any

from tally_contract.errors import ConditionFailed, StorageError

from .dynamodb_calls import Calls

SALT_PK = "salt"


class DynamoDBSalts:
    def __init__(self, table: str, calls: Calls | None = None) -> None:
        self.table = table
        self.calls = calls or Calls()

    def daily_salt(self, day: str, candidate: bytes, expires: float) -> bytes:
        key = {"pk": {"S": SALT_PK}, "sk": {"S": day}}
        found = self._get(key, consistent=False)
        if found is not None:
            return found
        try:
            self.calls.retried(
                "put_item", TableName=self.table, ConditionExpression="attribute_not_exists(pk)",
                Item={**key, "v": {"B": candidate}, "ttl": {"N": str(int(expires))}},
            )  # fmt: skip
            return candidate
        except ConditionFailed:
            won = self._get(key, consistent=True)
            if won is None:
                raise StorageError(f"the salt of {day} failed the condition and cannot be read") from None
            return won

    def _get(self, key: dict[str, Any], *, consistent: bool) -> bytes | None:
        item = self.calls.retried("get_item", TableName=self.table, Key=key, ConsistentRead=consistent).get("Item")
        return bytes(item["v"]["B"]) if item else None
