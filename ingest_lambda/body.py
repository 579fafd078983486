"""Turn a request body into JSON: bounded decompression, UTF-8, JSON, each with a clear error.

Sizes are checked after decompression, and a gzip stream is inflated only up to the limit
plus one byte, so a gzip bomb is refused after reading at most that much.
"""

import json
import zlib
from typing import Any

from tally_contract import wire

from .errors import MalformedBody, TooLarge, UnsupportedEncoding

MAX_BODY_BYTES = 512 * 1024
# gzip (wbits 31) and zlib-wrapped deflate (wbits 15); raw deflate is what some clients
# mean by "deflate", and wbits -15 reads it.
_WBITS = {"gzip": 31, "x-gzip": 31, "deflate": 15}
_JSON_TYPES = ("application/json", "text/plain", "application/csp-report")
FORM = "application/x-www-form-urlencoded"


def body_kind(content_type: str | None, *, allow_form: bool = True) -> str:
    """ "json" or "form" (an HTML form's, or curl -d's, application/x-www-form-urlencoded).
    JSON may arrive as application/json, as text/plain (sendBeacon) or with no type."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if not media or media in _JSON_TYPES or media.endswith("+json"):
        return "json"
    if allow_form and media == FORM:
        return "form"
    accepted = "JSON (application/json, text/plain)" + (f" or {FORM}" if allow_form else "")
    raise UnsupportedEncoding(f"Content-Type {media!r} is not supported; send {accepted}", field="Content-Type")


def looks_like_json(data: bytes) -> bool:
    """`curl -d '{...}'` labels JSON as a form: a form body never starts with { or [."""
    return data.lstrip()[:1] in (b"{", b"[")


def decode(raw: bytes, content_encoding: str | None) -> bytes:
    if len(raw) > MAX_BODY_BYTES:
        raise TooLarge(f"request body is over {MAX_BODY_BYTES} bytes")
    encoding = (content_encoding or "identity").strip().lower()
    if encoding in ("", "identity"):
        return raw
    if encoding not in _WBITS:
        raise UnsupportedEncoding(
            f"Content-Encoding {encoding!r} is not supported; use gzip, deflate or none",
            field="Content-Encoding",
        )
    return _inflate(raw, _WBITS[encoding])


def _inflate(raw: bytes, wbits: int) -> bytes:
    inflater = zlib.decompressobj(wbits)
    try:
        data = inflater.decompress(raw, MAX_BODY_BYTES + 1)
    except zlib.error:
        if wbits != 15:
            raise MalformedBody("body is not a valid compressed stream") from None
        return _inflate(raw, -15)
    if len(data) > MAX_BODY_BYTES:
        raise TooLarge(f"decompressed body is over {MAX_BODY_BYTES} bytes")
    if not inflater.eof:
        raise MalformedBody("compressed body is truncated")
    return data


def parse_json(data: bytes) -> Any:
    if not data.strip():
        raise MalformedBody('body is empty; send a JSON event or {"batch": [...]}')
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedBody(f"body is not valid UTF-8 (byte {exc.start})") from None
    try:
        return wire.loads(text)
    except RecursionError:
        raise MalformedBody("JSON is nested too deeply") from None
    except ValueError as exc:
        if isinstance(exc, json.JSONDecodeError):
            raise MalformedBody(f"malformed JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
        raise MalformedBody(f"malformed JSON: {exc}") from None
