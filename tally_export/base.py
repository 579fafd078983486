"""The hourly export's seam: where a sealed hour's file goes (``key``) and what takes it (``Sink``).

One file per (site, UTC hour), Hive-style so Athena and DuckDB partition on the path:

    events/site=<site>/date=<YYYY-MM-DD>/hour=<HH>/<site>-<YYYY-MM-DDTHH>.ndjson.gz

The key is a function of the hour alone and a seal writes the whole file, so sealing an hour
again (a redelivered work item, a late event, a retry after a failed upload) overwrites the
file with what the hour counts now: exactly once per event, whatever the number of attempts
(docs/export.md, "Exactly once").
"""

import os
from collections.abc import Iterable
from typing import Protocol

from tally_contract.errors import ServiceError

PREFIX = "events"
SUFFIX = ".ndjson.gz"


class ExportError(ServiceError):
    """A sink could not take an hour's file (the hour stays dirty and is exported again)."""


class Sink(Protocol):
    def put_hour(self, site: str, hour_id: str, pieces: Iterable[bytes]) -> None:
        """Store ``pieces`` (one NDJSON.gz file, tally_export.records.gzipped) as the file of
        ``site``'s hour ``hour_id`` (``2026-11-23T13``), replacing it whole; return only once
        it is durable, raise ExportError otherwise."""

    def delete_site(self, site: str) -> tuple[int, bool]:
        """Delete up to a bounded batch of ``site``'s files (a deleted site's purge): how many
        went, and whether more remain."""


def key(site: str, hour_id: str) -> str:
    date, hour = hour_id[:10], hour_id[11:13]
    return f"{site_prefix(site)}date={date}/hour={hour}/{site}-{hour_id}{SUFFIX}"


def site_prefix(site: str) -> str:
    return f"{PREFIX}/site={site}/"


def from_environment() -> Sink | None:
    """``TALLY_EXPORT_BUCKET`` (S3, on AWS), else ``TALLY_EXPORT_DIR`` (a directory, local
    mode), else None: no export."""
    bucket = os.environ.get("TALLY_EXPORT_BUCKET", "")
    if bucket:
        from .s3 import S3Sink

        return S3Sink(bucket)
    directory = os.environ.get("TALLY_EXPORT_DIR", "")
    if directory:
        from .files import FileSink

        return FileSink(directory)
    return None
