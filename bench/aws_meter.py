"""Count every AWS request the pipeline makes, and the units AWS would bill for it.

Wraps botocore's ``BaseClient._make_api_call`` (as tests/support/iam_audit.py does) and charges each
call to whoever runs it (``CHARGE``: a Lambda function, or the event source's poller, set by
the bench around each call; pool tasks inherit it, tally_contract.pools) and to a phase
(``PHASE``, e.g. the rollup's granularity).
Units follow AWS's billing rules, computed from the real request and response:
- SQS: one request per call, one more per further 64 KB of payload;
- DynamoDB writes: 1 WRU per KB of each item written (UpdateItem: of the item after the update);
- DynamoDB reads: per call, the items' total size in 4 KB units (at least 1), halved when
  eventually consistent. A projected Query is billed on whole items, so the meter repeats it
  unprojected (unrecorded) to size them.
"""

import contextvars
import math
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

CHARGE: contextvars.ContextVar[str | None] = contextvars.ContextVar("bench_charge", default=None)
PHASE: contextvars.ContextVar[str] = contextvars.ContextVar("bench_phase", default="")
SQS_CHUNK = 64 * 1024


@dataclass
class Meter:
    requests: Counter[tuple[str, str, str]] = field(default_factory=Counter)  # (function, phase, op)
    units: Counter[tuple[str, str, str, str]] = field(default_factory=Counter)  # (function, phase, op, unit)
    original: Any = None

    def install(self) -> None:
        from botocore.client import BaseClient

        self.original = original = BaseClient._make_api_call
        meter = self

        def _make_api_call(client: Any, operation: str, params: dict[str, Any]) -> Any:
            response = original(client, operation, params)
            function = CHARGE.get()
            if function is not None:
                meter.record(client, function, operation, params, response)
            return response

        BaseClient._make_api_call = _make_api_call

    def uninstall(self) -> None:
        from botocore.client import BaseClient

        if self.original is not None:
            BaseClient._make_api_call = self.original
            self.original = None

    def record(self, client: Any, function: str, operation: str, params: dict[str, Any], response: Any) -> None:
        service = client.meta.service_model.signing_name
        phase, op = PHASE.get(), f"{service}:{operation}"
        self.requests[(function, phase, op)] += 1
        if service == "sqs":
            self.units[(function, phase, op, "sqs_request")] += sqs_requests(operation, params, response)
        elif service == "dynamodb":
            unit, amount = self._dynamodb_units(client, operation, params, response)
            self.units[(function, phase, op, unit)] += amount  # type: ignore[assignment]
            # The rollup's model needs the bytes behind the units.
            if operation in ("Query", "BatchGetItem"):
                found = _returned(operation, response)
                self.units[(function, phase, op, "bytes_read")] += sum(item_size(item) for item in found)
            elif operation == "PutItem":
                self.units[(function, phase, op, "bytes_written")] += item_size(params["Item"])

    def _dynamodb_units(self, client: Any, operation: str, params: dict[str, Any], response: Any) -> tuple[str, float]:
        if operation == "BatchWriteItem":
            puts = [r["PutRequest"]["Item"] for rs in params["RequestItems"].values() for r in rs if "PutRequest" in r]
            deletes = sum(1 for rs in params["RequestItems"].values() for r in rs if "DeleteRequest" in r)
            unprocessed = sum(len(v) for v in response.get("UnprocessedItems", {}).values())
            return "dynamodb_wru", sum(write_units(item) for item in puts) + deletes - unprocessed
        if operation == "PutItem":
            return "dynamodb_wru", write_units(params["Item"])
        if operation in ("UpdateItem", "DeleteItem"):
            return "dynamodb_wru", self._written_item_units(client, params)
        if operation == "GetItem":
            return "dynamodb_rru", read_units([response.get("Item", {})], params.get("ConsistentRead", False))
        if operation == "BatchGetItem":  # billed item by item, each rounded up on its own
            items = _returned(operation, response)
            return "dynamodb_rru", sum(read_units([item], False) for item in items) if items else 0.5
        if operation == "Query":
            found = response.get("Items", [])
            if "ProjectionExpression" in params:
                found = self._unprojected(client, params, found)
            return "dynamodb_rru", read_units(found, params.get("ConsistentRead", False))
        return "dynamodb_other", 1

    def _written_item_units(self, client: Any, params: dict[str, Any]) -> float:
        got = self.original(client, "GetItem", {"TableName": params["TableName"], "Key": params["Key"]})
        return write_units(got.get("Item") or params["Key"])

    def _unprojected(self, client: Any, params: dict[str, Any], projected: list[Any]) -> list[Any]:
        whole = {k: v for k, v in params.items() if k != "ProjectionExpression"}
        try:
            return list(self.original(client, "Query", whole).get("Items", []))
        except Exception:  # noqa: BLE001 - names used only by the projection: fall back to its size
            return projected

    # -- reading the counts ----------------------------------------------------------------
    def take(self) -> tuple[Counter[tuple[str, str, str]], Counter[tuple[str, str, str, str]]]:
        taken = (self.requests, self.units)
        self.requests, self.units = Counter(), Counter()
        return taken


def sqs_requests(operation: str, params: dict[str, Any], response: Any) -> int:
    if operation == "SendMessageBatch":
        size = sum(len(e["MessageBody"].encode()) + _attributes_size(e) for e in params["Entries"])
    elif operation == "SendMessage":
        size = len(params["MessageBody"].encode()) + _attributes_size(params)
    elif operation == "ReceiveMessage":
        size = sum(len(m.get("Body", "").encode()) for m in response.get("Messages", []))
    else:
        return 1
    return max(1, math.ceil(size / SQS_CHUNK))


def _attributes_size(entry: dict[str, Any]) -> int:
    attributes = entry.get("MessageAttributes") or {}
    return sum(len(name) + len(str(value.get("StringValue", ""))) for name, value in attributes.items())


def write_units(item: dict[str, Any]) -> int:
    return max(1, math.ceil(item_size(item) / 1024))


def read_units(found: list[dict[str, Any]], consistent: bool) -> float:
    units = max(1, math.ceil(sum(item_size(item) for item in found) / 4096))
    return float(units) if consistent else units / 2


def item_size(item: dict[str, Any]) -> int:
    """DynamoDB's item size: attribute names plus values (developer guide, 'Item sizes')."""
    return sum(len(name.encode()) + value_size(value) for name, value in item.items())


def value_size(value: dict[str, Any]) -> int:
    (kind, inner), *_ = value.items()
    if kind == "S":
        return len(inner.encode())
    if kind == "N":
        return _number_size(inner)
    if kind == "B":
        return len(inner)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind in ("SS", "NS", "BS"):
        return sum(value_size({kind[0]: element}) for element in inner)
    if kind == "L":
        return 3 + sum(1 + value_size(element) for element in inner)
    if kind == "M":
        return 3 + sum(1 + len(k.encode()) + value_size(v) for k, v in inner.items())
    raise ValueError(f"unknown DynamoDB type {kind}")


def _number_size(text: str) -> int:
    digits = Decimal(text).normalize().as_tuple().digits
    return 1 + math.ceil(len(digits) / 2)


def _returned(operation: str, response: Any) -> list[dict[str, Any]]:
    if operation == "Query":
        return list(response.get("Items", []))
    return [item for items in response.get("Responses", {}).values() for item in items]
