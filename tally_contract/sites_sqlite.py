"""Sites in a SQLite file (local mode keeps them in its store's database): one row per site,
found by write key through a unique index. The same contract as sites_dynamodb.py."""

import json
from pathlib import Path
from typing import Any

from .errors import StoreUnavailable
from .sites import Site
from .sqlite_db import Database

SCHEMA = """
CREATE TABLE IF NOT EXISTS sites (
  site_id TEXT PRIMARY KEY, write_key TEXT NOT NULL UNIQUE, secret_hash TEXT NOT NULL, origins TEXT NOT NULL,
  respect_dnt INTEGER NOT NULL, ip_handling TEXT NOT NULL, retention_days INTEGER NOT NULL, rate_limit INTEGER NOT NULL)
"""
MAX_SITES = 200


class SQLiteSites:
    def __init__(self, path: str | Path) -> None:
        self.db = Database(path, schema=SCHEMA, error=StoreUnavailable)

    def by_write_key(self, write_key: str) -> Site | None:
        found = self.db.rows("SELECT * FROM sites WHERE write_key = ?", (write_key,))
        return _site(found[0]) if found else None

    def by_id(self, site_id: str) -> Site | None:
        found = self.db.rows("SELECT * FROM sites WHERE site_id = ?", (site_id,))
        return _site(found[0]) if found else None

    def put(self, site: Site) -> None:
        with self.db.write() as conn:
            conn.execute("DELETE FROM sites WHERE site_id = ?", (site.site_id,))
            conn.execute("INSERT INTO sites VALUES (?, ?, ?, ?, ?, ?, ?, ?)", _row(site))

    def site_ids(self) -> list[str]:
        return [
            site_id for (site_id,) in self.db.rows("SELECT site_id FROM sites ORDER BY site_id LIMIT ?", (MAX_SITES,))
        ]

    def every_site(self) -> list[Site]:
        return [_site(row) for row in self.db.rows("SELECT * FROM sites ORDER BY site_id")]


def _row(site: Site) -> tuple[Any, ...]:
    origins = json.dumps(list(site.origins))
    return (site.site_id, site.write_key, site.secret_hash, origins, int(site.respect_dnt), site.ip_handling,
            site.retention_days, site.rate_limit)  # fmt: skip


def _site(row: tuple[Any, ...]) -> Site:
    site_id, write_key, secret_hash, origins, respect_dnt, ip_handling, retention_days, rate_limit = row
    return Site(site_id, write_key, secret_hash, tuple(json.loads(origins)), bool(respect_dnt),
                ip_handling, retention_days, rate_limit)  # fmt: skip
