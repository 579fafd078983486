"""The storage edge: every DynamoDB call the processor makes, with retries, concurrency and
error translation. Nothing above this module imports botocore.

BatchWriteItem takes 25 puts a call; calls run concurrently on a small thread pool (botocore
clients are thread-safe). UnprocessedItems and throttling are retried with exponential
backoff and full jitter; an item DynamoDB rejects outright is isolated and reported.
"""

import functools
import random
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from tally_contract import aws, pools

from .errors import ConditionFailed, StorageError
from .lean_client import make_lean

Item = dict[str, Any]
BATCH = 25
_RETRYABLE = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "TransactionConflictException",
    }
)


@dataclass(frozen=True)
class Rejected:
    """An item that was not written, by its key."""

    key: tuple[str, str]
    reason: str
    retryable: bool


class DynamoStore:
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
            self._client = make_lean(aws.client("dynamodb", validate=False))
        return self._client

    @property
    def pool(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self._threads, thread_name_prefix="dynamo")
        return self._pool

    def map(self, fn: Callable[[Any], Any], args: Sequence[Any]) -> list[Any]:
        """Run ``fn`` over ``args`` on the pool; results in order."""
        if len(args) <= 1:
            return [fn(arg) for arg in args]
        return pools.map_ordered(self.pool, fn, args)

    def put_items(self, table: str, items: Sequence[Item]) -> list[Rejected]:
        return [rejected for future in self.submit_items(table, items) for rejected in future.result()]

    def submit_items(self, table: str, items: Sequence[Item]) -> list["Future[list[Rejected]]"]:
        """Start writing ``items`` in BatchWriteItem calls; the caller collects the futures.
        Lets a caller overlap its own work on the next items with these writes."""
        unique = list({_key(item): item for item in items}.values())  # a batch may not repeat a key
        chunks = [unique[i : i + BATCH] for i in range(0, len(unique), BATCH)]
        return [pools.submit(self.pool, self._write_chunk, table, chunk) for chunk in chunks]

    def _write_chunk(self, table: str, chunk: list[Item]) -> list[Rejected]:
        pending = chunk
        for attempt in range(self._attempts):
            if attempt:
                self._backoff(attempt)
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
        return [Rejected(_key(item), "still unprocessed after retries", True) for item in pending]

    def _isolate(self, table: str, items: list[Item]) -> list[Rejected]:
        """A whole batch was refused: write items one by one to find the bad ones."""
        rejected = []
        for item in items:
            try:
                self.with_retries(functools.partial(self.call, "put_item", TableName=table, Item=item))
            except StorageError as exc:
                rejected.append(Rejected(_key(item), str(exc), exc.retryable))
        return rejected

    def with_retries(self, operation: Callable[[], Any]) -> Any:
        for attempt in range(self._attempts):
            if attempt:
                self._backoff(attempt)
            try:
                return operation()
            except StorageError as exc:
                if not exc.retryable or attempt == self._attempts - 1:
                    raise
        raise AssertionError("unreachable")

    def query(self, table: str, **kwargs: Any) -> Iterator[Item]:
        """Every item of a Query, page by page."""
        while True:
            page = self.with_retries(lambda: self.call("query", TableName=table, **kwargs))
            yield from page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def call(self, operation: str, **kwargs: Any) -> Any:
        try:
            return getattr(self.client, operation)(**kwargs)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code == "ConditionalCheckFailedException":
                raise ConditionFailed() from exc
            raise StorageError(f"DynamoDB {operation}: {code}", retryable=code in _RETRYABLE) from exc
        except BotoCoreError as exc:
            raise StorageError(f"DynamoDB {operation}: {type(exc).__name__}") from exc

    def _backoff(self, attempt: int) -> None:
        # Full jitter (AWS Architecture Blog, "Exponential Backoff and Jitter"), capped at 2 s.
        self._sleep(random.uniform(0, min(2.0, self._base_delay * 2**attempt)))


def _key(item: Item) -> tuple[str, str]:
    return item["pk"]["S"], item["sk"]["S"]
