"""The exported line: fixed columns, no IP or user agent, properties as strings, and gzip
pieces that decompress to the same lines whatever the chunk size."""

import gzip

from tally_export import records


def _event(n: int) -> dict[str, object]:
    return {"event_id": f"e{n}", "site": "s", "name": "pageview", "event_time": "2026-11-23T14:19:50.000Z",
            "path": f"/p{n}", "ip": "203.0.113.9", "user_agent": "Mozilla/5.0", "correlation_id": "req-1",
            "bot": 0, "properties": {"plan": "pro", "n": n, "ok": True}}  # fmt: skip


def test_the_line_has_every_column_and_nothing_else() -> None:
    line = records.exported(_event(1))
    assert tuple(line) == records.COLUMNS
    assert line["path"] == "/p1" and line["referrer"] is None and line["bot"] is False
    assert line["properties"] == {"plan": "pro", "n": "1", "ok": "true"}
    assert "ip" not in line and "user_agent" not in line and "correlation_id" not in line


def test_gzipped_pieces_join_into_one_file_of_every_event() -> None:
    events = [_event(n) for n in range(20_000)]
    pieces = list(records.gzipped(events, chunk=1024))
    assert len(pieces) > 2
    lines = records.read(b"".join(pieces))
    assert [line["event_id"] for line in lines] == [f"e{n}" for n in range(20_000)]
    assert gzip.decompress(b"".join(records.gzipped([]))) == b""
