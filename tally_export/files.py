"""The hourly files in a directory (local mode: ``.tally/export``), the same layout as in S3.

Each file is written beside its final name under a temporary one, flushed to disk, then renamed
over the old file (``os.replace`` is atomic on one file system): a reader sees the old file or
the new one, never half of one, and a crash leaves at most a temporary file (``.*.part``,
which no ``*.ndjson.gz`` glob reads) and the hour dirty, to be written again.
"""

import os
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path

from .base import ExportError, key, site_prefix


class FileSink:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def path(self, site: str, hour_id: str) -> Path:
        return self.root / key(site, hour_id)

    def delete_site(self, site: str) -> tuple[int, bool]:
        folder = self.root / site_prefix(site)
        if not folder.is_dir():
            return 0, False
        files = sum(1 for found in folder.rglob("*") if found.is_file())
        try:
            shutil.rmtree(folder)
        except OSError as exc:
            raise ExportError(f"deleting {folder}: {exc}", code=type(exc).__name__) from exc
        return files, False

    def put_hour(self, site: str, hour_id: str, pieces: Iterable[bytes]) -> None:
        target = self.path(site, hour_id)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
        except OSError as exc:
            raise ExportError(f"export to {target.parent}: {exc}", code=type(exc).__name__) from exc
        try:
            with os.fdopen(handle, "wb") as out:
                for piece in pieces:
                    out.write(piece)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, target)
        except BaseException as exc:
            Path(temporary).unlink(missing_ok=True)
            if isinstance(exc, OSError):
                raise ExportError(f"export to {target}: {exc}", code=type(exc).__name__) from exc
            raise
