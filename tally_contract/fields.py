"""Validators for event fields. Each returns the clean value or raises FieldError(field, why)."""

import ipaddress
import math
import re
import uuid
from collections import deque
from typing import Any

from .errors import FieldError

MAX_NAME = 200
MAX_URL = 2048
MAX_USER_AGENT = 512
MAX_PROPERTIES = 50
MAX_PROPERTY_KEY = 100
MAX_PROPERTY_VALUE = 1024
MAX_IDENTIFIER = 256
MAX_SAFE_INT = 2**53  # beyond this JavaScript clients and JSON tooling lose precision

_EVENT_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s/?#]+")
# Characters SQS refuses in a message body (and that no UTF-8 encoder accepts alone):
# surrogates, U+FFFE, U+FFFF. The body must be identical on every backend, so refuse them.
_UNSENDABLE = re.compile("[\ud800-\udfff\ufffe\uffff]")
_CONTROL = re.compile("[\x00-\x1f\x7f]")
# ActiveJob's namespace, which Sidekiq also reads (its ACTIVE_JOB_PREFIX): Rails' reserved keys
# (_aj_globalid, _aj_serialized, _aj_symbol_keys, _aj_ruby2_keywords,
# _aj_hash_with_indifferent_access) make ActiveJob's deserializer resolve constants, load
# records, build objects and reshape hashes. Rails refuses to serialize a hash holding one;
# Tally refuses the whole prefix, at any depth.
RESERVED_PREFIX = "_aj_"
MAX_FIELD_PATH = 200


def text(field: str, value: Any, limit: int, *, allow_control: bool = False) -> str:
    if not isinstance(value, str):
        raise FieldError(field, f"must be a string, not {json_type(value)}")
    if len(value) > limit:
        raise FieldError(field, f"is longer than {limit} characters")
    if _UNSENDABLE.search(value):
        raise FieldError(field, "contains an unpaired surrogate or a non-character")
    if not allow_control and _CONTROL.search(value):
        raise FieldError(field, "contains a control character")
    return value


def event_id(value: Any) -> str:
    raw = text("event_id", value, 64)
    try:
        return str(uuid.UUID(raw))
    except ValueError:
        pass
    if not _EVENT_ID.fullmatch(raw):
        raise FieldError("event_id", "must be a UUID or 1-64 of A-Z a-z 0-9 . _ : -")
    return raw


def name(value: Any) -> str:
    clean = text("name", value, MAX_NAME).strip()
    if not clean:
        raise FieldError("name", "must not be empty")
    return clean


def url(field: str, value: Any) -> str:
    clean = text(field, value, MAX_URL)
    if not _SCHEME.match(clean):
        raise FieldError(field, "must be an absolute URL such as https://example.com/page")
    return clean


def optional_url(field: str, value: Any) -> str | None:
    if value is None or value == "":
        return None
    return url(field, value)


def ip(value: Any) -> str:
    raw = text("ip", value, 64)
    try:
        return str(ipaddress.ip_address(raw))
    except ValueError:
        raise FieldError("ip", "is not an IPv4 or IPv6 address") from None


def identifier(field: str, value: Any) -> str:
    """A user id or anonymous id: the client's own string (numbers are taken as their text)."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    clean = text(field, value, MAX_IDENTIFIER).strip()
    if not clean:
        raise FieldError(field, "must not be empty")
    return clean


def user_agent(value: Any) -> str:
    return text("user_agent", value, MAX_USER_AGENT)


def properties(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    reserved = reserved_key("properties", value)
    if reserved is not None:
        raise FieldError(reserved, f"is a key reserved by ActiveJob and Sidekiq ({RESERVED_PREFIX}...)")
    if not isinstance(value, dict):
        raise FieldError("properties", f"must be an object, not {json_type(value)}")
    if len(value) > MAX_PROPERTIES:
        raise FieldError("properties", f"has more than {MAX_PROPERTIES} keys")
    return {_property_key(key): _scalar(key, item) for key, item in value.items()}


def reserved_key(field: str, value: Any) -> str | None:
    """The path of the first key starting with ``_aj_`` inside ``value``, at any depth, or None.

    Iterative and breadth first (the shallowest is named): a body may nest as deep as the JSON
    parser allows.
    """
    pending: deque[tuple[str, Any]] = deque([(field, value)])
    while pending:
        path, item = pending.popleft()
        if isinstance(item, dict):
            for key, child in item.items():
                child_path = f"{path}.{key}"[:MAX_FIELD_PATH]
                if isinstance(key, str) and key.startswith(RESERVED_PREFIX):
                    return child_path
                pending.append((child_path, child))
        elif isinstance(item, list):
            pending.extend((f"{path}.{index}"[:MAX_FIELD_PATH], child) for index, child in enumerate(item))
    return None


def _property_key(key: str) -> str:
    field = "properties"
    if not key or len(key) > MAX_PROPERTY_KEY:
        raise FieldError(field, f"keys must be 1-{MAX_PROPERTY_KEY} characters")
    return text(field, key, MAX_PROPERTY_KEY)


def _scalar(key: str, value: Any) -> Any:
    field = f"properties.{key}"
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INT:
            raise FieldError(field, "is a number too large to keep exactly")
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise FieldError(field, "must be a finite number")
        return value
    if isinstance(value, str):
        return text(field, value, MAX_PROPERTY_VALUE, allow_control=True)
    raise FieldError(field, f"must be a string, number, boolean or null, not {json_type(value)}")


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"
