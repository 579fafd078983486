"""The hourly files' layout and the files adapter: a file replaced whole or not at all."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from tally_export import base, records
from tally_export.base import ExportError
from tally_export.files import FileSink
from tally_export.s3 import S3Sink


def test_one_key_per_site_and_hour_hive_style() -> None:
    assert base.key("shop", "2026-11-23T09") == "events/site=shop/date=2026-11-23/hour=09/shop-2026-11-23T09.ndjson.gz"


def test_a_file_is_replaced_whole_or_left_as_it_was(tmp_path: Path) -> None:
    sink = FileSink(tmp_path)
    first = [{"event_id": "a", "site": "shop", "event_time": "2026-11-23T13:00:00.000Z"}]
    sink.put_hour("shop", "2026-11-23T13", records.gzipped(first))
    path = sink.path("shop", "2026-11-23T13")
    before = path.read_bytes()

    def broken() -> Iterator[bytes]:
        yield b"\x1f\x8b half a file"
        raise ExportError("the read below failed")

    with pytest.raises(ExportError, match="read below"):
        sink.put_hour("shop", "2026-11-23T13", broken())
    assert path.read_bytes() == before and [p.name for p in path.parent.iterdir()] == [path.name]
    second = [*first, {"event_id": "b", "site": "shop", "event_time": "2026-11-23T13:30:00.000Z"}]
    sink.put_hour("shop", "2026-11-23T13", records.gzipped(second))
    assert [line["event_id"] for line in records.read(path.read_bytes())] == ["a", "b"]


def test_an_unwritable_directory_is_an_export_error(tmp_path: Path) -> None:
    (tmp_path / "events").write_text("a file where a directory should be")
    with pytest.raises(ExportError) as caught:
        FileSink(tmp_path).put_hour("shop", "2026-11-23T13", [b""])
    assert caught.value.retryable


def test_the_environment_picks_the_sink(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("TALLY_EXPORT_BUCKET", raising=False)
    monkeypatch.delenv("TALLY_EXPORT_DIR", raising=False)
    assert base.from_environment() is None
    monkeypatch.setenv("TALLY_EXPORT_DIR", str(tmp_path))
    sink = base.from_environment()
    assert isinstance(sink, FileSink) and sink.root == tmp_path
    monkeypatch.setenv("TALLY_EXPORT_BUCKET", "tally-dev-export")
    bucket = base.from_environment()
    assert isinstance(bucket, S3Sink) and bucket.bucket == "tally-dev-export" and bucket._client is None
