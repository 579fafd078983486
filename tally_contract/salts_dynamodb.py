"""The daily salts in the aggregates table, for ingest: read first (the common case: the day's
salt exists), created with a conditional put when missing, read again if another writer won.
Only ``pk = "salt"`` items are touched, which the ingest role's policy pins with
``dynamodb:LeadingKeys``. Botocore errors become StoreUnavailable."""

import threading
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from . import aws
from .errors import StoreUnavailable
from .salts import new_salt, salt_item, salt_key

_CACHED_DAYS = 8  # today, yesterday and the odd late event: a handful of days at most


class DynamoSalts:
    def __init__(self, table: str, *, client: Any = None) -> None:
        self.table = table
        self._client = client
        self._cache: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def for_day(self, day: str, now: float) -> bytes:
        with self._lock:
            cached = self._cache.get(day)
        if cached is not None:
            return cached
        salt = self._load(day, now)
        with self._lock:
            if len(self._cache) >= _CACHED_DAYS:
                self._cache.clear()
            return self._cache.setdefault(day, salt)

    def _load(self, day: str, now: float) -> bytes:
        found = self._get(day, consistent=False)
        if found is not None:
            return found
        salt = new_salt()
        try:
            self._client_().put_item(TableName=self.table, Item=salt_item(day, salt, now),
                                     ConditionExpression="attribute_not_exists(pk)")  # fmt: skip
            return salt
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise StoreUnavailable(f"salts in {self.table}: {exc.response.get('Error', {}).get('Code')}") from exc
        except BotoCoreError as exc:
            raise StoreUnavailable(f"salts in {self.table}: {type(exc).__name__}") from exc
        won = self._get(day, consistent=True)
        if won is None:
            raise StoreUnavailable(f"salts in {self.table}: the day's salt vanished")
        return won

    def _get(self, day: str, *, consistent: bool) -> bytes | None:
        try:
            response = self._client_().get_item(TableName=self.table, Key=salt_key(day), ConsistentRead=consistent)
        except (ClientError, BotoCoreError) as exc:
            raise StoreUnavailable(f"salts in {self.table}: {type(exc).__name__}") from exc
        item = response.get("Item")
        return bytes(item["v"]["B"]) if item else None

    def _client_(self) -> Any:
        if self._client is None:
            self._client = aws.client("dynamodb")
        return self._client
