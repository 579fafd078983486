"""The admin record in local mode: a row of the store's SQLite file (file mode 0600 is the
CLI's: ``tally up`` creates its data directory for this user only). The same contract as SSM:
``put`` without ``overwrite`` refuses atomically when the parameter exists."""

from pathlib import Path

from tally_contract.sqlite_db import Database

from .errors import DashboardError, Unavailable

SCHEMA = "CREATE TABLE IF NOT EXISTS parameters (name TEXT PRIMARY KEY, value TEXT NOT NULL)"


class ParameterExists(DashboardError):
    """``put`` without ``overwrite`` found the parameter there."""


class SQLiteParameters:
    def __init__(self, path: str | Path) -> None:
        self.db = Database(path, schema=SCHEMA, error=Unavailable)

    def get(self, name: str) -> str:
        found = self.db.rows("SELECT value FROM parameters WHERE name = ?", (name,))
        if not found:
            raise Unavailable(f"no parameter {name} in {self.db.path}")
        return str(found[0][0])

    def put(self, name: str, value: str, *, overwrite: bool) -> None:
        verb = "INSERT OR REPLACE" if overwrite else "INSERT OR IGNORE"
        with self.db.write() as conn:
            if conn.execute(f"{verb} INTO parameters VALUES (?, ?)", (name, value)).rowcount != 1:
                raise ParameterExists(f"parameter {name} exists in {self.db.path}")
