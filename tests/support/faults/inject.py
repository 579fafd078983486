"""Faults injected into a real (moto) boto3 client, since moto never produces them.

``Faulty`` delegates every call to the real client. ``faults[operation]`` lists what the next
calls do (scripted); ``storms[operation]`` gives, for every later call, faults drawn at random
with their probabilities (seeded, so a failure replays). A fault is an error code to raise,
or one of:

- ``unprocessed``: BatchWriteItem writes the second half and hands the first back unprocessed;
- ``partial``: SendMessageBatch sends the first half and reports the rest Failed (not the
  sender's fault);
- ``lost``: the call is made, then its response is lost (a read timeout): the caller cannot
  know it happened.
"""

import random
from typing import Any

from botocore.exceptions import ClientError, ReadTimeoutError


class Faulty:
    def __init__(self, client: Any, *, storms: dict[str, list[tuple[str, float]]] | None = None, seed: int = 8) -> None:
        self._client = client
        self.faults: dict[str, list[str | None]] = {}
        self.storms = storms or {}
        self.calls: list[str] = []
        self.injected: dict[str, int] = {}
        self._rng = random.Random(seed)

    def __getattr__(self, name: str) -> Any:
        real = getattr(self._client, name)
        if not callable(real) or name.startswith("_"):
            return real

        def call(**kwargs: Any) -> Any:
            self.calls.append(name)
            fault = self._next(name)
            if fault is None:
                return real(**kwargs)
            self.injected[fault] = self.injected.get(fault, 0) + 1
            return _inject(fault, name, real, kwargs)

        return call

    def _next(self, name: str) -> str | None:
        if self.faults.get(name):
            return self.faults[name].pop(0)
        draw = self._rng.random()
        for fault, probability in self.storms.get(name, []):
            if draw < probability:
                return fault
            draw -= probability
        return None


def _inject(fault: str, name: str, real: Any, kwargs: dict[str, Any]) -> Any:
    if fault == "unprocessed":
        ((table, requests),) = kwargs["RequestItems"].items()
        half = len(requests) // 2 or 1
        real(RequestItems={table: requests[half:]}) if requests[half:] else None
        return {"UnprocessedItems": {table: requests[:half]}}
    if fault == "partial":
        entries = kwargs["Entries"]
        half = len(entries) // 2 or 1
        sent = real(**{**kwargs, "Entries": entries[:half]})
        failed = [{"Id": e["Id"], "SenderFault": False, "Code": "InternalError", "Message": "injected"}
                  for e in entries[half:]]  # fmt: skip
        return {"Successful": sent.get("Successful", []), "Failed": failed + sent.get("Failed", [])}
    if fault == "lost":
        real(**kwargs)
        raise ReadTimeoutError(endpoint_url="injected")
    raise ClientError({"Error": {"Code": fault, "Message": "injected"}}, name)
