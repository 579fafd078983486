"""What the client modules share: reading a JSON body within a limit, the lenient reading of an
SDK's properties, and resolving the write key an SDK carries.

SDKs send what their libraries collect (nested objects, long strings, dozens of keys) and do
not retry a 4xx, so refusing an event for its properties would lose it. Properties are read
leniently, and what is dropped or cut is documented (docs/event-contract.md): nested objects
are flattened to dotted keys (three levels), lists and deeper objects kept as their JSON text,
strings cut to 1,024 characters, at most 50 keys; integers past 2^53 become text. Everything
else about an event (its name, URL, ids, times) is validated as strictly as on /events.
"""

import math
from collections.abc import Callable, Mapping
from typing import Any

from chalice.app import Request

from tally_contract import fields, wire

from .. import body, edge
from ..errors import TooLarge

_DEPTH = 3


def json_body(request: Request, limit: int = body.MAX_BODY_BYTES) -> Any:
    """The decoded (gzip, deflate) body parsed as JSON; ``limit`` bytes after decompression."""
    body.body_kind(request.headers.get("content-type"), allow_form=False)
    data = body.decode(edge.raw_body(request), request.headers.get("content-encoding"))
    if len(data) > limit:
        raise TooLarge(f"request body is over {limit} bytes")
    return body.parse_json(data)


def properties(value: Any, skip: Callable[[str], bool] | None = None) -> dict[str, Any]:
    """An SDK's properties as Tally keeps them (see the module's docstring)."""
    out: dict[str, Any] = {}
    if isinstance(value, Mapping):
        _add(out, "", value, 0, skip)
    return out


def _add(
    out: dict[str, Any], prefix: str, value: Mapping[Any, Any], depth: int, skip: Callable[[str], bool] | None
) -> None:
    for name, item in value.items():
        key = f"{prefix}.{name}" if prefix else str(name)
        if len(out) >= fields.MAX_PROPERTIES:
            return
        if not key or len(key) > fields.MAX_PROPERTY_KEY or (skip is not None and skip(key)):
            continue
        if isinstance(item, Mapping) and depth + 1 < _DEPTH:
            _add(out, key, item, depth + 1, skip)
            continue
        scalar = _scalar(item)
        if scalar is not _DROP:
            out[key] = scalar


_DROP = object()


def _scalar(value: Any) -> Any:
    if value is None or isinstance(value, bool | str):
        return value[: fields.MAX_PROPERTY_VALUE] if isinstance(value, str) else value
    if isinstance(value, int):
        return value if abs(value) <= fields.MAX_SAFE_INT else str(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else _DROP
    try:
        text = wire.dumps(value)
    except (ValueError, TypeError, RecursionError):
        return _DROP
    return text if len(text) <= fields.MAX_PROPERTY_VALUE else _DROP


def obj(value: Any) -> dict[str, Any]:
    """``value`` if it is an object, else an empty one (an SDK field that may be absent)."""
    return value if isinstance(value, dict) else {}


def text(value: Any) -> str | None:
    """A string field an SDK may send as a number (ids), or None."""
    if isinstance(value, str):
        return value or None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None
