"""What every route reads off a request the same way: its body as bytes, its query, who sent
it (key, secret, origin, client IP, user agent, Do Not Track) and the CORS headers of its
answer. The routes of /events and of each client's API (ingest_lambda/clients/) share these."""

import base64
import binascii
from collections.abc import Mapping
from typing import Any

from chalice.app import Request

from tally_contract.clientip import client_ip

from . import cors, privacy, runtime
from .errors import IngestError, OriginNotAllowed
from .service import Sender

# Server senders of SDKs that only take one "write key" string give "wk_...:sk_...": Basic
# auth's user and password, which is what such an SDK sends when it appends its ":".
KEY_SEPARATOR = ":"


def raw_body(request: Request) -> bytes:
    raw = request.raw_body
    return raw if isinstance(raw, bytes) else raw.encode("utf-8", "surrogatepass")


def query(request: Request) -> Mapping[str, str]:
    """The query, last value of each name (Chalice's MultiDict)."""
    return request.query_params or {}


def query_lists(request: Request) -> dict[str, list[str]]:
    """The query with every value of each name, for Rails-style parameters (a[]=1&a[]=2)."""
    params = request.query_params
    return {name: params.getlist(name) for name in params} if params else {}


def split_key(text: str | None) -> tuple[str | None, str | None]:
    """(write key, secret key) from "wk_...", "wk_...:sk_..." or "wk_...:sk_...:"."""
    if not text:
        return None, None
    key, _, secret = text.partition(KEY_SEPARATOR)
    secret = secret.rstrip(KEY_SEPARATOR)
    return key or None, secret or None


def basic_credentials(request: Request) -> tuple[str | None, str | None]:
    """(user, password) of ``Authorization: Basic``, or (None, None)."""
    header = request.headers.get("authorization", "")
    if header[:6].lower() != "basic ":
        return None, None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None, None
    user, _, password = decoded.partition(":")
    return user or None, password.rstrip(KEY_SEPARATOR) or None


def bearer_secret(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    return header[7:].strip() or None if header[:7].lower() == "bearer " else None


def sender(request: Request, write_key: str | None, secret: str | None = None) -> Sender:
    headers = request.headers
    identity = request.context.get("identity") or {}
    rt = runtime.get()
    return Sender(
        write_key=write_key,
        secret=secret,
        origin=headers.get("origin"),
        ip=client_ip(identity.get("sourceIp"), headers.get("x-forwarded-for"), rt.settings.trusted_proxies),
        user_agent=headers.get("user-agent"),
        request_id=request.context.get("requestId"),
        tracking_refused=privacy.tracking_refused(headers),
        country=headers.get("cloudfront-viewer-country"),
    )


def cors_headers(origin: str | None, error: IngestError | None) -> dict[str, str]:
    if origin is None or not cors.is_valid_origin(origin) or isinstance(error, OriginNotAllowed):
        return {}
    return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}


def json_object(payload: Any) -> dict[str, Any]:
    """The body as an object, for wire formats that are always one."""
    if not isinstance(payload, dict):
        from .errors import InvalidEvent

        raise InvalidEvent("body must be a JSON object", field="body")
    return payload
