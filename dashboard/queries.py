"""The storage edge of the read API: every DynamoDB and SSM call, with error translation.
Only this module and pipeline_edge.py import botocore. Nothing here scans the events or the
aggregates table: reads are GetItem, BatchGetItem and key-condition Queries."""

import time
from collections.abc import Iterator
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from tally_contract import aws

from .errors import Unavailable

Item = dict[str, Any]
BATCH_GET = 100
MAX_SITES = 200


class Dynamo:
    def __init__(self, client: Any = None) -> None:
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = aws.client("dynamodb")
        return self._client

    def batch_get(self, table: str, keys: list[tuple[str, str]]) -> dict[tuple[str, str], Item]:
        """Items by (pk, sk); missing keys are absent. ceil(len(keys) / 100) calls, plus retries
        of UnprocessedKeys."""
        found: dict[tuple[str, str], Item] = {}
        unique = list(dict.fromkeys(keys))
        for start in range(0, len(unique), BATCH_GET):
            request = {
                table: {"Keys": [{"pk": {"S": pk}, "sk": {"S": sk}} for pk, sk in unique[start : start + BATCH_GET]]}
            }
            for attempt in range(6):
                response = self._call("batch_get_item", RequestItems=request)
                for item in response.get("Responses", {}).get(table, []):
                    found[(item["pk"]["S"], item["sk"]["S"])] = item
                request = response.get("UnprocessedKeys") or {}
                if not request:
                    break
                time.sleep(0.05 * 2**attempt)
        return found

    def query_prefix(self, table: str, pk: str, prefix: str, max_pages: int = 10) -> Iterator[Item]:
        """Items of one partition whose sort key starts with ``prefix`` (1 MB a page)."""
        kwargs: dict[str, Any] = {
            "TableName": table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": {":pk": {"S": pk}, ":prefix": {"S": prefix}},
        }
        for _ in range(max_pages):
            page = self._call("query", **kwargs)
            yield from page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def packs(self, table: str, pk: str, lo: str, hi: str, max_pages: int = 20) -> list[Item]:
        """Raw-event packs of one partition with ``lo <= sk <= hi`` (1 MB a page)."""
        kwargs: dict[str, Any] = {
            "TableName": table,
            "KeyConditionExpression": "pk = :pk AND sk BETWEEN :lo AND :hi",
            "ExpressionAttributeValues": {":pk": {"S": pk}, ":lo": {"S": lo}, ":hi": {"S": hi}},
        }
        found: list[Item] = []
        for _ in range(max_pages):
            page = self._call("query", **kwargs)
            found += page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return found

    def get(self, table: str, key: Item) -> Item | None:
        response = self._call("get_item", TableName=table, Key=key)
        item: Item | None = response.get("Item")
        return item

    def site_ids(self, table: str) -> list[str]:
        """The sites for the picker: one Scan page of the (small) sites table, ids only."""
        response = self._call("scan", TableName=table, ProjectionExpression="site_id", Limit=MAX_SITES)
        return sorted(item["site_id"]["S"] for item in response.get("Items", []))

    def site_settings(self, table: str) -> dict[str, Any]:
        """Every site's settings by id (one Scan page of the small sites table), for the DLQ
        panel to show dead letters as each site would store them."""
        from tally_contract.sites_dynamodb import from_item

        response = self._call("scan", TableName=table, Limit=MAX_SITES)
        return {site.site_id: site for site in map(from_item, response.get("Items", []))}

    def _call(self, operation: str, **kwargs: Any) -> Any:
        try:
            return getattr(self.client, operation)(**kwargs)
        except (ClientError, BotoCoreError) as exc:
            raise Unavailable(f"DynamoDB {operation}: {_code(exc)}") from exc


def read_parameter(name: str, client: Any = None) -> str:
    """A SecureString's value, decrypted."""
    try:
        ssm = client or aws.client("ssm")
        response = ssm.get_parameter(Name=name, WithDecryption=True)
    except ClientError as exc:
        raise Unavailable(f"SSM parameter {name}: {_code(exc)}") from exc
    except BotoCoreError as exc:
        raise Unavailable(f"SSM parameter {name}: {_code(exc)}") from exc
    return str(response["Parameter"]["Value"])


def _code(exc: Exception) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", "error"))
    return type(exc).__name__
