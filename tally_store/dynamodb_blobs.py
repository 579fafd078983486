"""Versioned blobs in the aggregates table: a bucket's sealed rows and its summary.

A blob is stored in parts of at most PART bytes (DynamoDB items hold 400 KB), ``sk =
<name>#<i>``, each carrying the version it was computed at; part 0 also carries the part
count ``n`` and a digest ``d`` of the whole. Every part is written only over an older or equal
version, so values computed at an older version never replace newer ones, whatever the order
writers finish in. Parts go first and part 0 last: a reader that finds a part of another
version than part 0 (a write under way) reads again.
"""

import hashlib
from collections.abc import Sequence
from typing import Any

from tally_contract.errors import ConditionFailed, StorageError

from .dynamodb_calls import Calls, Item, Key

PART = 350 * 1024
NEWER_OR_EQUAL = "attribute_not_exists(ver) OR ver <= :v"
READS = 3


class Blobs:
    def __init__(self, calls: Calls, table: str) -> None:
        self.calls = calls
        self.table = table

    def put(self, pk: str, name: str, blob: bytes, version: int, expires: int, *, if_changed: bool = False) -> bool:
        """Write the blob computed at ``version``; False when one of a later version is there
        (or, ``if_changed``, the same blob is)."""
        digest = hashlib.blake2b(blob, digest_size=16).hexdigest()
        parts = [blob[i : i + PART] for i in range(0, len(blob), PART)] or [b""]
        common = {"ver": {"N": str(version)}, "ttl": {"N": str(expires)}}
        try:
            for index, part in enumerate(parts[1:], 1):
                self._put({"pk": {"S": pk}, "sk": {"S": f"{name}#{index}"}, "z": {"B": part}, **common}, version)
            first = {"pk": {"S": pk}, "sk": {"S": f"{name}#0"}, "z": {"B": parts[0]}, "n": {"N": str(len(parts))},
                     "d": {"S": digest}, **common}  # fmt: skip
            self._put(first, version, digest if if_changed else None)
        except ConditionFailed:
            return False
        return True

    def get(
        self, keys: Sequence[tuple[str, str]], firsts: dict[Key, Item] | None = None
    ) -> dict[tuple[str, str], bytes]:
        """The blobs (pk, name) that exist; ``firsts``: their part 0 items if read already."""
        found: dict[tuple[str, str], bytes] = {}
        pending = list(dict.fromkeys(keys))
        for _ in range(READS):
            if not pending:
                return found
            if firsts is None:
                firsts = self.calls.batch_get(self.table, [first_key(pk, name) for pk, name in pending])
            torn = []
            for pk, name in pending:
                item = firsts.get((pk, f"{name}#0"))
                if item is not None:
                    blob = self._assemble(pk, name, item)
                    if blob is None:
                        torn.append((pk, name))
                    else:
                        found[(pk, name)] = blob
            pending, firsts = torn, None
        raise StorageError(f"blobs {pending[:3]} changed under every read", retryable=True)

    def _assemble(self, pk: str, name: str, first: Item) -> bytes | None:
        count, version = int(first["n"]["N"]), first["ver"]["N"]
        if count == 1:
            return bytes(first["z"]["B"])
        keys: list[Key] = [(pk, f"{name}#{i}") for i in range(1, count)]
        rest = self.calls.batch_get(self.table, keys)
        if any(key not in rest or rest[key]["ver"]["N"] != version for key in keys):
            return None  # a newer version is being written: read again
        return bytes(first["z"]["B"]) + b"".join(bytes(rest[key]["z"]["B"]) for key in keys)

    def _put(self, item: Item, version: int, unless_digest: str | None = None) -> None:
        condition, values = NEWER_OR_EQUAL, {":v": {"N": str(version)}}
        if unless_digest is not None:
            condition = f"({condition}) AND (attribute_not_exists(d) OR d <> :d)"
            values[":d"] = {"S": unless_digest}
        params: dict[str, Any] = {"ConditionExpression": condition, "ExpressionAttributeValues": values}
        self.calls.retried("put_item", TableName=self.table, Item=item, **params)


def first_key(pk: str, name: str) -> Key:
    return pk, f"{name}#0"
