"""Daily salts for visitor ids, through the processor's DynamoStore (its retries and error
translation); the salt items and their rules are tally_contract/salts.py's, shared with ingest."""

import threading
from typing import Any

from tally_contract.salts import new_salt, salt_item, salt_key

from .dynamo import DynamoStore
from .errors import ConditionFailed


class DailySalts:
    def __init__(self, store: DynamoStore, table: str) -> None:
        self._store = store
        self._table = table
        self._cache: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def for_day(self, day: str, now: float) -> bytes:
        with self._lock:
            if day not in self._cache:
                if len(self._cache) > 8:
                    self._cache.clear()
                self._cache[day] = self._load(day, now)
            return self._cache[day]

    def _load(self, day: str, now: float) -> bytes:
        key = salt_key(day)
        try:
            salt = new_salt()
            item = salt_item(day, salt, now)
            self._store.with_retries(
                lambda: self._store.call(
                    "put_item", TableName=self._table, Item=item, ConditionExpression="attribute_not_exists(pk)"
                )
            )
            return salt
        except ConditionFailed:
            found: Any = self._store.with_retries(
                lambda: self._store.call("get_item", TableName=self._table, Key=key, ConsistentRead=True)
            )
            return bytes(found["Item"]["v"]["B"])
