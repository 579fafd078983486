"""Daily salts for visitor ids. Each UTC day gets a random salt, created by whichever
processor needs it first (a conditional put: first writer wins) and expired by TTL two days
later, after which nobody can recompute that day's visitor ids from an IP."""

import os
import threading
from typing import Any

from .dynamo import DynamoStore
from .errors import ConditionFailed

SALT_PK = "salt"
KEEP_SECONDS = 2 * 86400


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
        key = {"pk": {"S": SALT_PK}, "sk": {"S": day}}
        try:
            salt = os.urandom(32)
            item = {**key, "v": {"B": salt}, "ttl": {"N": str(int(now) + KEEP_SECONDS)}}
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
