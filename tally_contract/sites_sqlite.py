"""Sites in a SQLite file (local mode keeps them in its store's database): one row per site,
found by write key through a unique index and by domain through an index on the JSON, the
site's settings as one JSON object (a field added to ``Site`` needs no new column). A deleted
site's row goes (its keys and domain find nothing at once) and its purge's progress is a row of
``deletions``. The same contract as sites_dynamodb.py."""

import dataclasses
import json
from pathlib import Path
from typing import Any

from .errors import StoreUnavailable
from .sites import Deletion, NoSuchSite, Site, SiteExists
from .sqlite_db import Database

SCHEMA = """
CREATE TABLE IF NOT EXISTS sites (site_id TEXT PRIMARY KEY, write_key TEXT NOT NULL UNIQUE, settings TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS sites_by_domain ON sites (json_extract(settings, '$.domain'));
CREATE TABLE IF NOT EXISTS deletions (site_id TEXT PRIMARY KEY, deletion TEXT NOT NULL)
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
        if found:
            return _site(found[0][0])
        gone = self.db.rows("SELECT deletion FROM deletions WHERE site_id = ?", (site_id,))
        return Site(site_id, "", "", deleted_at=_deletion(gone[0][0]).deleted_at) if gone else None

    def put(self, site: Site) -> None:
        with self.db.write() as conn:
            _replace(conn, site)

    def create(self, site: Site) -> None:
        with self.db.write() as conn:
            live = conn.execute("SELECT 1 FROM sites WHERE site_id = ?", (site.site_id,)).fetchone()
            gone = conn.execute("SELECT deletion FROM deletions WHERE site_id = ?", (site.site_id,)).fetchone()
            if live or (gone and _deletion(gone[0]).purged_at is None):
                raise SiteExists(site.site_id)
            _replace(conn, site)

    def update(self, site: Site) -> None:
        with self.db.write() as conn:
            if not conn.execute("SELECT 1 FROM sites WHERE site_id = ?", (site.site_id,)).fetchone():
                raise NoSuchSite(site.site_id)
            _replace(conn, site)

    def delete(self, site_id: str, at: float) -> None:
        with self.db.write() as conn:
            if not conn.execute("DELETE FROM sites WHERE site_id = ?", (site_id,)).rowcount:
                raise NoSuchSite(site_id)
            conn.execute("INSERT OR REPLACE INTO deletions VALUES (?, ?)",
                         (site_id, json.dumps(dataclasses.asdict(Deletion(site_id, at)))))  # fmt: skip

    def listing(self) -> tuple[list[Site], list[Deletion]]:
        gone = self.db.rows("SELECT deletion FROM deletions ORDER BY site_id")
        return sorted(self.all_sites(), key=lambda site: site.site_id), [_deletion(text) for (text,) in gone]

    def save_deletion(self, deletion: Deletion) -> None:
        with self.db.write() as conn:
            conn.execute("UPDATE deletions SET deletion = ? WHERE site_id = ?",
                         (json.dumps(dataclasses.asdict(deletion)), deletion.site_id))  # fmt: skip

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


def _replace(conn: Any, site: Site) -> None:
    conn.execute("DELETE FROM sites WHERE site_id = ?", (site.site_id,))
    conn.execute("DELETE FROM deletions WHERE site_id = ?", (site.site_id,))
    conn.execute(
        "INSERT INTO sites VALUES (?, ?, ?)", (site.site_id, site.write_key, json.dumps(dataclasses.asdict(site)))
    )


def _deletion(text: str) -> Deletion:
    return Deletion(**json.loads(text))
