"""Sites in a SQLite file (local mode keeps them in its store's database): one row per site,
found by write key through a unique index and by domain through an index on the JSON, the
site's settings as one JSON object (a field added to ``Site`` needs no new column). The same
contract as sites_dynamodb.py."""

import dataclasses
import json
from pathlib import Path
from typing import Any

from .errors import StoreUnavailable
from .sites import Site
from .sqlite_db import Database

SCHEMA = """
CREATE TABLE IF NOT EXISTS sites (site_id TEXT PRIMARY KEY, write_key TEXT NOT NULL UNIQUE, settings TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS sites_by_domain ON sites (json_extract(settings, '$.domain'));
"""
MAX_SITES = 200
_FIELDS = {f.name: f for f in dataclasses.fields(Site)}


class SQLiteSites:
    def __init__(self, path: str | Path) -> None:
        self.db = Database(path, schema=SCHEMA, error=StoreUnavailable)

    def by_write_key(self, write_key: str) -> Site | None:
        found = self.db.rows("SELECT settings FROM sites WHERE write_key = ?", (write_key,))
        return _site(found[0][0]) if found else None

    def by_domain(self, domain: str) -> Site | None:
        """Plausible's tracker names its site by domain (``Site.domain``, normalised)."""
        query = "SELECT settings FROM sites WHERE json_extract(settings, '$.domain') = ? ORDER BY site_id LIMIT 1"
        found = self.db.rows(query, (domain,))
        return _site(found[0][0]) if found else None

    def by_id(self, site_id: str) -> Site | None:
        found = self.db.rows("SELECT settings FROM sites WHERE site_id = ?", (site_id,))
        return _site(found[0][0]) if found else None

    def put(self, site: Site) -> None:
        settings = json.dumps(dataclasses.asdict(site))
        with self.db.write() as conn:
            conn.execute("DELETE FROM sites WHERE site_id = ?", (site.site_id,))
            conn.execute("INSERT INTO sites VALUES (?, ?, ?)", (site.site_id, site.write_key, settings))

    def site_ids(self) -> list[str]:
        return [
            site_id for (site_id,) in self.db.rows("SELECT site_id FROM sites ORDER BY site_id LIMIT ?", (MAX_SITES,))
        ]

    def all_sites(self) -> list[Site]:
        return [_site(settings) for (settings,) in self.db.rows("SELECT settings FROM sites ORDER BY site_id")]


def _site(settings: str) -> Site:
    data: dict[str, Any] = json.loads(settings)
    known: dict[str, Any] = {
        name: tuple(value) if isinstance(value, list) else value for name, value in data.items() if name in _FIELDS
    }
    return Site(**known)
