"""ActiveJob's serialization (Rails 6.1 to 7.x): wrap Tally's arguments, strip Rails' markers."""

import uuid
from typing import Any

from .errors import EnvelopeError
from .timeutil import format_iso

SYMBOL_KEYS = "_aj_symbol_keys"
RUBY2_KEYWORDS = "_aj_ruby2_keywords"
INDIFFERENT = "_aj_hash_with_indifferent_access"
SERIALIZED = "_aj_serialized"
GLOBALID = "_aj_globalid"
_MARKERS = frozenset({SYMBOL_KEYS, RUBY2_KEYWORDS, INDIFFERENT})
# Serializers whose payload is {"_aj_serialized": ..., "value": ...}: Time, TimeWithZone,
# DateTime, Date, Symbol, Module, BigDecimal. Duration carries seconds in "value" too.
_VALUE_KEY = "value"


def wrap_payload(job_class: str, queue: str, args: list[Any], now: float) -> dict[str, Any]:
    """The hash Rails 6.1's ``JobWrapper`` carries in ``args[0]``."""
    return {
        "job_class": job_class,
        "job_id": str(uuid.uuid4()),
        "provider_job_id": None,
        "queue_name": queue,
        "priority": None,
        "arguments": [_serialize(arg, top=True) for arg in args],
        "executions": 0,
        "exception_executions": {},
        "locale": "en",
        "timezone": "UTC",
        "enqueued_at": format_iso(now)[:-5] + "Z",  # Rails 6.1 writes whole seconds
    }


def _serialize(value: Any, *, top: bool = False) -> Any:
    # Top-level event keys go as symbols (``event[:url]`` in Ruby, as a Rails producer's own
    # jobs have them); nested hashes (properties) keep string keys, marked with an empty list.
    if isinstance(value, dict):
        out = {key: _serialize(item) for key, item in value.items()}
        out[SYMBOL_KEYS] = list(value) if top else []
        return out
    if isinstance(value, list):
        return [_serialize(item) for item in value]
    return value


def check_payload(args: list[Any]) -> None:
    if len(args) != 1 or not isinstance(args[0], dict):
        raise EnvelopeError("ActiveJob wrapper args must be one hash")
    if not isinstance(args[0].get("arguments"), list):
        raise EnvelopeError("ActiveJob payload has no arguments list")


def unwrap_arguments(payload: dict[str, Any]) -> list[Any]:
    return [deserialize(arg) for arg in payload["arguments"]]


def deserialize(value: Any) -> Any:
    """A plain JSON value with ActiveJob's markers removed and serialized objects unpacked."""
    if isinstance(value, list):
        return [deserialize(item) for item in value]
    if not isinstance(value, dict):
        return value
    if SERIALIZED in value:
        return deserialize(value.get(_VALUE_KEY))
    if GLOBALID in value and len(value) == 1:
        return value[GLOBALID]
    return {key: deserialize(item) for key, item in value.items() if key not in _MARKERS}
