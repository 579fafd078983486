"""The hourly files in an S3 bucket.

An hour's file is gathered into parts of PART bytes (compressed): a file that fits in one part
(any site under ~100 000 events an hour) is one PutObject; a larger one a multipart upload, a
part at a time, so memory holds one part whatever the hour's size. A failed multipart upload is
not aborted here (that would need one more grant): the bucket's lifecycle rule removes
incomplete uploads after a day (infra/template.yaml, docs/export.md).
"""

from collections.abc import Iterable
from typing import Any

from tally_contract import aws

from .base import ExportError, key, site_prefix

PART = 8 * 1024 * 1024  # S3's smallest part but the last is 5 MiB
CONTENT_TYPE = "application/gzip"


class S3Sink:
    def __init__(self, bucket: str, *, client: Any = None, part: int = PART) -> None:
        self.bucket = bucket
        self._client = client  # built on first use: a rollup that seals no hour never needs it
        self.part = part

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = aws.client("s3")
        return self._client

    def put_hour(self, site: str, hour_id: str, pieces: Iterable[bytes]) -> None:
        upload = _Upload(self, key(site, hour_id))
        held = bytearray()
        for piece in pieces:
            held += piece
            if len(held) >= self.part:
                upload.part(bytes(held))
                held.clear()
        upload.finish(bytes(held))

    def delete_site(self, site: str) -> tuple[int, bool]:
        """One listing's worth (at most 1,000 keys, one DeleteObjects call); no bucket, no files."""
        try:
            listed = self.call("list_objects_v2", Prefix=site_prefix(site), MaxKeys=1000)
        except ExportError as exc:
            if exc.code == "NoSuchBucket":
                return 0, False
            raise
        found = [{"Key": item["Key"]} for item in listed.get("Contents", [])]
        if found:
            done = self.call("delete_objects", Delete={"Objects": found, "Quiet": True})
            if done.get("Errors"):
                raise ExportError(f"deleting {site}'s files: {done['Errors'][0]}")
        return len(found), bool(listed.get("IsTruncated"))

    def call(self, operation: str, **params: Any) -> Any:
        return aws.call(self.client, operation, error=ExportError, Bucket=self.bucket, **params)


class _Upload:
    """One file: a single PUT unless a part filled up before the end, then a multipart upload."""

    def __init__(self, sink: S3Sink, object_key: str) -> None:
        self.sink, self.key = sink, object_key
        self.upload_id = ""
        self.parts: list[dict[str, Any]] = []

    def part(self, body: bytes) -> None:
        if not self.upload_id:
            started = self.sink.call("create_multipart_upload", Key=self.key, ContentType=CONTENT_TYPE)
            self.upload_id = started["UploadId"]
        number = len(self.parts) + 1
        sent = self.sink.call("upload_part", Key=self.key, UploadId=self.upload_id, PartNumber=number, Body=body)
        self.parts.append({"PartNumber": number, "ETag": sent["ETag"]})

    def finish(self, rest: bytes) -> None:
        if not self.upload_id:
            self.sink.call("put_object", Key=self.key, Body=rest, ContentType=CONTENT_TYPE)
            return
        if rest:
            self.part(rest)
        self.sink.call("complete_multipart_upload", Key=self.key, UploadId=self.upload_id,
                       MultipartUpload={"Parts": self.parts})  # fmt: skip
