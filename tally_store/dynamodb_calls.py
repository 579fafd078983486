"""DynamoDB requests: the client, a small thread pool, retries, paging and batching.

Every DynamoDB call of the store goes through ``Calls.call``, which hands it to the one AWS
edge (``tally_contract.aws.call``: botocore errors become StorageError or ConditionFailed).
BatchWriteItem takes 25 puts a call; chunks run concurrently on the pool (botocore clients are
thread-safe). UnprocessedItems and throttling are retried with jittered, capped backoff; an
item DynamoDB rejects outright is isolated by writing the chunk's items one by one.
"""

import functools
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from tally_contract import aws, pools
from tally_contract.errors import StorageError

Item = dict[str, Any]
Key = tuple[str, str]
T = TypeVar("T")
BATCH_WRITE = 25
BATCH_GET = 100


@dataclass(frozen=True)
class Rejected:
    """An item that was not written, by its key."""

    key: Key
    reason: str
    retryable: bool


class Calls:
    def __init__(
        self,
        client: Any = None,
        *,
        threads: int = 16,
        attempts: int = 8,
        base_delay: float = 0.02,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._client = client
        self._threads = threads
        self._attempts = attempts
        self._base_delay = base_delay
        self._sleep = sleep
        self._pool: ThreadPoolExecutor | None = None

    @property
    def client(self) -> Any:
        if self._client is None:
            # Requests are built by code, and validating a 25-item BatchWriteItem client-side
            # costs more CPU than sending it; DynamoDB validates everything anyway.
            self._client = aws.client("dynamodb", validate=False)
        return self._client

    @property
    def pool(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self._threads, thread_name_prefix="dynamodb")
        return self._pool

    def call(self, operation: str, **params: Any) -> Any:
        return aws.call(self.client, operation, error=StorageError, **params)

    def retried(self, operation: str, **params: Any) -> Any:
        return self.retrying(functools.partial(self.call, operation, **params))

    def retrying(self, operation: Callable[[], T]) -> T:
        return aws.retrying(operation, attempts=self._attempts, base=self._base_delay, sleep=self._sleep)

    def map(self, fn: Callable[[Any], T], args: Sequence[Any]) -> list[T]:
        """``fn`` over ``args`` on the pool; results in order."""
        if len(args) <= 1:
            return [fn(arg) for arg in args]
        return pools.map_ordered(self.pool, fn, args)

    def query(self, table: str, **params: Any) -> Iterator[Item]:
        """Every item of a Query, page by page."""
        while True:
            page = self.retried("query", TableName=table, **params)
            yield from page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                return
            params["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def batch_get(self, table: str, keys: Sequence[Key]) -> dict[Key, Item]:
        """Items by (pk, sk); missing keys are absent. ceil(len(keys) / 100) calls, plus
        retries of UnprocessedKeys."""
        found: dict[Key, Item] = {}
        unique = list(dict.fromkeys(keys))
        for start in range(0, len(unique), BATCH_GET):
            chunk = unique[start : start + BATCH_GET]
            pending: dict[str, Any] = {table: {"Keys": [{"pk": {"S": pk}, "sk": {"S": sk}} for pk, sk in chunk]}}
            for attempt in range(self._attempts):
                if attempt:
                    self._sleep(aws.backoff(attempt, self._base_delay, 2.0))
                response = self.retried("batch_get_item", RequestItems=pending)
                for item in response.get("Responses", {}).get(table, []):
                    found[key_of(item)] = item
                pending = response.get("UnprocessedKeys") or {}
                if not pending:
                    break
            if pending:
                raise StorageError("DynamoDB batch_get_item: keys still unprocessed after retries")
        return found

    def submit_puts(self, table: str, items: Sequence[Item]) -> list["Future[list[Rejected]]"]:
        """Start writing ``items`` in BatchWriteItem calls; the caller collects the futures
        (and may prepare more items while these are written)."""
        unique = list({key_of(item): item for item in items}.values())  # a batch may not repeat a key
        chunks = [unique[i : i + BATCH_WRITE] for i in range(0, len(unique), BATCH_WRITE)]
        return [pools.submit(self.pool, self._write_chunk, table, chunk) for chunk in chunks]

    def put_all(self, table: str, items: Sequence[Item]) -> list[Rejected]:
        return [rejected for future in self.submit_puts(table, items) for rejected in future.result()]

    def _write_chunk(self, table: str, chunk: list[Item]) -> list[Rejected]:
        pending = chunk
        for attempt in range(self._attempts):
            if attempt:
                self._sleep(aws.backoff(attempt, self._base_delay, 2.0))
            requests = {table: [{"PutRequest": {"Item": item}} for item in pending]}
            try:
                response = self.call("batch_write_item", RequestItems=requests)
            except StorageError as exc:
                if not exc.retryable:
                    return self._isolate(table, pending)
                continue
            pending = [r["PutRequest"]["Item"] for r in response.get("UnprocessedItems", {}).get(table, [])]
            if not pending:
                return []
        return [Rejected(key_of(item), "still unprocessed after retries", True) for item in pending]

    def _isolate(self, table: str, items: list[Item]) -> list[Rejected]:
        """A whole batch was refused: write items one by one to find the bad ones."""
        rejected = []
        for item in items:
            try:
                self.retried("put_item", TableName=table, Item=item)
            except StorageError as exc:
                rejected.append(Rejected(key_of(item), str(exc), exc.retryable))
        return rejected


def key_of(item: Item) -> Key:
    return item["pk"]["S"], item["sk"]["S"]
