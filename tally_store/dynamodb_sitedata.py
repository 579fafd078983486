"""Deleting one site's data from the events and aggregates tables.

Every item of a site has a partition key starting ``<site>#`` (raw-event packs
``site#hour#shard``, counter rows and blobs ``site#granularity#bucket``), and a site id holds no
``#``, so the prefix names exactly that site's items. No key lists a site's partitions (there is
one per hour, shard and bucket), so a Scan filtered on the prefix is the read that finds them:
one step reads one Scan page (at most 1 MB of items, about 128 read units eventually
consistent) and deletes what it found with BatchWriteItem (a write unit per item). A complete
walk reads each table once. The walk's position is an opaque string the caller keeps.
"""

import json
from typing import Any

from tally_contract.errors import StorageError

from .dynamodb_calls import Calls

FILTER = "begins_with(pk, :site)"


class SiteData:
    def __init__(self, calls: Calls, tables: tuple[str, ...]) -> None:
        self.calls = calls
        self.tables = tables

    def delete_step(self, site: str, resume: str | None) -> tuple[int, str | None]:
        index, start = _position(resume, len(self.tables))
        params: dict[str, Any] = {
            "TableName": self.tables[index], "FilterExpression": FILTER, "ProjectionExpression": "pk, sk",
            "ExpressionAttributeValues": {":site": {"S": f"{site}#"}},
        }  # fmt: skip
        if start is not None:
            params["ExclusiveStartKey"] = start
        page = self.calls.retried("scan", **params)
        keys = page.get("Items", [])
        rejected = self.calls.delete_all(self.tables[index], keys)
        if rejected:  # the step is repeated from the same position: deleting again is harmless
            raise StorageError(f"{len(rejected)} item(s) not deleted: {rejected[0].reason}", retryable=True)
        if "LastEvaluatedKey" in page:
            return len(keys), json.dumps([index, page["LastEvaluatedKey"]])
        if index + 1 < len(self.tables):
            return len(keys), json.dumps([index + 1, None])
        return len(keys), None


def _position(resume: str | None, tables: int) -> tuple[int, dict[str, Any] | None]:
    """Where a walk stands; anything but a position this module wrote starts it again."""
    try:
        index, start = json.loads(resume) if resume else (0, None)
    except (ValueError, TypeError):
        return 0, None
    if not isinstance(index, int) or not 0 <= index < tables or not isinstance(start, dict | None):
        return 0, None
    return index, start
