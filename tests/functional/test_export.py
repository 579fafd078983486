"""The hourly export, exactly once: generated traffic through the real processor (batches
redelivered and reordered, resends, late events that reseal an hour), the rollup exporting each
sealed hour, some uploads failing on their first attempt; then every exported file read back
and held against the sealed counts and the oracle (tests/support/exports.py). On DynamoDB with
S3 on moto, and on the memory store with the files adapter."""

from pathlib import Path
from typing import Any

import pytest

from tally_aggregates.rollup import Rollup
from tally_export import records
from tally_export.base import ExportError
from tally_export.files import FileSink
from tally_export.s3 import S3Sink
from tally_store.base import Bucket
from tests.support import exports
from tests.support.infra import resources
from tests.support.processor_harness import make_processor


class FlakyS3:
    """The S3 client, but the first PutObject of each chosen hour's file answers 500 (S3's
    InternalError, which botocore's own retries may also run out on)."""

    def __init__(self, client: Any, chosen: Any) -> None:
        self.client, self.chosen = client, chosen
        self.failed: list[str] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)

    def put_object(self, **params: Any) -> Any:
        from botocore.exceptions import ClientError

        key = params["Key"]
        if self.chosen(key) and key not in self.failed:
            self.failed.append(key)
            error = {"Error": {"Code": "InternalError", "Message": "We encountered an internal error."},
                     "ResponseMetadata": {"HTTPStatusCode": 500}}  # fmt: skip
            raise ClientError(error, "PutObject")
        return self.client.put_object(**params)


def objects(s3: Any, bucket: str) -> dict[str, bytes]:
    keys = [o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="events/")
            for o in page.get("Contents", [])]  # fmt: skip
    return {key: s3.get_object(Bucket=bucket, Key=key)["Body"].read() for key in keys}


@pytest.mark.parametrize("seed", [7, 1234])
def test_exported_hours_equal_the_sealed_counts_on_dynamodb_and_s3(aws: None, boto: Any, seed: int) -> None:
    proc = make_processor(boto.client("dynamodb"))
    bucket = resources("test")["ExportBucket"]["Properties"]["BucketName"]
    s3 = boto.client("s3")
    s3.create_bucket(Bucket=bucket)
    flaky = FlakyS3(s3, lambda key: key.endswith(("T23.ndjson.gz", "T01.ndjson.gz")))
    failed = exports.run_traffic(proc, S3Sink(bucket, client=flaky), seed)
    assert failed == len(flaky.failed) >= 1  # each failure stopped a run; the next one exported the hour
    by_hour = exports.check(proc, objects(s3, bucket))
    assert {exports.hour_of_key(key) for key in flaky.failed} <= set(by_hour)
    assert sum(map(len, by_hour.values())) > 0


@pytest.mark.parametrize("seed", [3, 99, 2026])
def test_exported_hours_equal_the_sealed_counts_on_memory_and_files(tmp_path: Path, seed: int) -> None:
    proc = make_processor()
    sink = exports.FailingFirst(FileSink(tmp_path), lambda hour: hour.endswith("T00"))
    assert exports.run_traffic(proc, sink, seed) == len(sink.failed) >= 1
    files = {str(p.relative_to(tmp_path)): p.read_bytes() for p in tmp_path.rglob("*.ndjson.gz")}
    exports.check(proc, files)
    assert not list(tmp_path.rglob("*.part")), "no temporary file left behind"


def test_a_failed_export_leaves_the_hour_dirty_and_unsealed(tmp_path: Path) -> None:
    from tests.support.jobs import tally_job

    proc = make_processor()
    proc.pipeline.process(
        [tally_job("a", at="2026-11-23T13:18:30.000Z"), tally_job("b", at="2026-11-23T13:40:00.000Z")]
    )
    sink = exports.FailingFirst(FileSink(tmp_path), lambda hour: True)
    with pytest.raises(ExportError, match="dropped"):
        Rollup(proc.store, declared=proc.declared, clock=lambda: 4e9, export=sink).settle()
    hour = Bucket("shop", "h", "2026-11-23T13")
    assert proc.store.bucket_state(hour).dirty and exports.sealed_counts(proc, hour)["ev"] == 0
    assert not list(tmp_path.rglob("*.ndjson.gz"))
    report = Rollup(proc.store, declared=proc.declared, clock=lambda: 4e9, export=sink).settle()
    assert (report.exported, report.sealed) == (1, 2)  # the hour (its minutes sealed before the failure), its day
    (path,) = tmp_path.rglob("*.ndjson.gz")
    assert [line["event_id"] for line in records.read(path.read_bytes())] == ["a", "b"]
    assert not proc.store.bucket_state(hour).dirty


def test_large_hours_go_up_in_parts(aws: None, boto: Any) -> None:
    """A file larger than a part: a multipart upload, a part in memory at a time."""
    import os

    s3 = boto.client("s3")
    s3.create_bucket(Bucket="tally-test-export")
    sink = S3Sink("tally-test-export", client=s3, part=5 * 1024 * 1024)
    pieces = [os.urandom(1024 * 1024) for _ in range(11)]
    sink.put_hour("shop", "2026-11-23T13", iter(pieces))
    key = "events/site=shop/date=2026-11-23/hour=13/shop-2026-11-23T13.ndjson.gz"
    head = s3.head_object(Bucket="tally-test-export", Key=key)
    assert head["ContentLength"] == 11 * 1024 * 1024 and head["ETag"].endswith('-3"')  # 5 + 5 + 1 MiB
    assert s3.get_object(Bucket="tally-test-export", Key=key)["Body"].read() == b"".join(pieces)


def test_s3_errors_become_export_errors(aws: None, boto: Any) -> None:
    sink = S3Sink("tally-test-missing", client=boto.client("s3"))
    with pytest.raises(ExportError, match="NoSuchBucket") as caught:
        sink.put_hour("shop", "2026-11-23T13", [b"x"])
    assert caught.value.code == "NoSuchBucket" and not caught.value.retryable
