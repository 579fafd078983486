"""The daily salts in the aggregates table (``pk = "salt"``, ``sk = <day>``, ``v`` the salt,
``ttl``): read first (the common case, the day's salt exists), created by a conditional put
when missing, read again if another writer won. Its own module, on the AWS edge alone, so that
ingest, which needs only this, loads nothing else of the store and builds no second DynamoDB
client (it shares the sites lookup's). DynamoDBStore.daily_salt is this too. The ingest role
may touch only these items (``dynamodb:LeadingKeys`` = ``salt``)."""

from typing import Any

from tally_contract import aws
from tally_contract.errors import ConditionFailed, StorageError

SALT_PK = "salt"


class DynamoDBSalts:
    def __init__(self, table: str, client: Any = None) -> None:
        self.table = table
        self._client = client

    def daily_salt(self, day: str, candidate: bytes, expires: float) -> bytes:
        key = {"pk": {"S": SALT_PK}, "sk": {"S": day}}
        found = self._get(key, consistent=False)
        if found is not None:
            return found
        try:
            self._retried(
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
        item = self._retried("get_item", TableName=self.table, Key=key, ConsistentRead=consistent).get("Item")
        return bytes(item["v"]["B"]) if item else None

    def _retried(self, operation: str, **params: Any) -> Any:
        if self._client is None:
            self._client = aws.client("dynamodb")
        return aws.retrying(lambda: aws.call(self._client, operation, error=StorageError, **params))
