"""The exported form of a stored event, one JSON object a line, the same in every export (the
hourly files, the raw download, ``tally query``): fixed columns, so Athena and DuckDB read every
file with one schema. What the dashboard shows and counts, and no more: the IP, the user agent,
the request's correlation id and the client's own clock stay behind (the stored event keeps
them for the site's retention; an export outlives it)."""

import gzip
import json
import zlib
from collections.abc import Iterable, Iterator
from typing import Any

from tally_store.base import Event

COLUMNS = (
    "event_id", "site", "name", "event_time", "url", "path", "host", "referrer", "referrer_host",
    "browser", "browser_version", "os", "os_version", "device", "bot", "country", "visitor_id", "user_id",
    "utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content", "properties",
)  # fmt: skip


def exported(event: Event) -> dict[str, Any]:
    """Every column present (null when empty); ``properties`` a JSON object of strings (Athena's
    ``map<string,string>``, DuckDB's ``MAP(VARCHAR, VARCHAR)``); ``event_time`` as stored (ISO
    8601 UTC with milliseconds, ``2026-11-23T14:19:50.000Z``)."""
    line: dict[str, Any] = {name: event.get(name) or None for name in COLUMNS}
    line["bot"] = bool(event.get("bot"))
    line["properties"] = {str(k): _text(v) for k, v in (event.get("properties") or {}).items()}
    return line


def line(event: Event) -> bytes:
    return json.dumps(exported(event), separators=(",", ":"), ensure_ascii=False).encode() + b"\n"


def gzipped(events: Iterable[Event], chunk: int = 64 * 1024) -> Iterator[bytes]:
    """NDJSON.gz in pieces of about ``chunk`` bytes: memory holds one piece and the compressor's
    window, whatever the number of events (a streamed download, an S3 multipart upload)."""
    packer = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)  # 16+: a gzip member
    held: list[bytes] = []
    size = 0
    for event in events:
        held.append(packer.compress(line(event)))
        size += len(held[-1])
        if size >= chunk:
            yield b"".join(held)
            held, size = [], 0
    held.append(packer.flush())
    yield b"".join(held)


def read(blob: bytes) -> list[dict[str, Any]]:
    """The lines of one exported file (tests, ``tally query``'s checks)."""
    return [json.loads(text) for text in gzip.decompress(blob).splitlines() if text]


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
