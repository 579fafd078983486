"""The auth store in local mode's SQLite file (beside the admin record, dashboard/parameters_sqlite.py):
sessions by the SHA-256 of their id, login attempts by client. The same contract as
sessions_dynamodb.py; ``claim_attempt`` reads and writes under one write lock (BEGIN IMMEDIATE),
so two processes (or threads) never both claim a client's attempt."""

from pathlib import Path

from tally_contract.sqlite_db import Database

from .errors import Unavailable
from .sessions import FORGET_SECONDS, Attempts, Session

SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
  digest TEXT PRIMARY KEY, scope TEXT NOT NULL, credential TEXT NOT NULL, expires_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS login_attempts (
  client TEXT PRIMARY KEY, failures INTEGER NOT NULL, not_before REAL NOT NULL, expires_at REAL NOT NULL)
"""


class SQLiteAuthStore:
    def __init__(self, path: str | Path) -> None:
        self.db = Database(path, schema=SCHEMA, error=Unavailable)

    def put_session(self, session: Session) -> None:
        with self.db.write() as conn:
            conn.execute("INSERT OR REPLACE INTO sessions VALUES (?, ?, ?, ?)",
                         (session.digest, session.scope, session.credential, session.expires_at))  # fmt: skip

    def get_session(self, digest: str) -> Session | None:
        found = self.db.rows("SELECT scope, credential, expires_at FROM sessions WHERE digest = ?", (digest,))
        return Session(digest, *found[0]) if found else None

    def delete_session(self, digest: str) -> None:
        with self.db.write() as conn:
            conn.execute("DELETE FROM sessions WHERE digest = ?", (digest,))

    def claim_attempt(self, client: str, now: float, hold_until: float) -> tuple[bool, Attempts]:
        with self.db.write() as conn:
            found = conn.execute(
                "SELECT failures, not_before FROM login_attempts WHERE client = ?", (client,)
            ).fetchone()
            attempts = Attempts(*found) if found else Attempts(0, 0.0)
            if attempts.not_before > now:
                return False, attempts
            conn.execute("INSERT OR REPLACE INTO login_attempts VALUES (?, ?, ?, ?)",
                         (client, attempts.failures, hold_until, hold_until + FORGET_SECONDS))  # fmt: skip
        return True, attempts

    def put_attempts(self, client: str, attempts: Attempts, expires_at: float) -> None:
        with self.db.write() as conn:
            conn.execute("INSERT OR REPLACE INTO login_attempts VALUES (?, ?, ?, ?)",
                         (client, attempts.failures, attempts.not_before, expires_at))  # fmt: skip

    def delete_attempts(self, client: str) -> None:
        with self.db.write() as conn:
            conn.execute("DELETE FROM login_attempts WHERE client = ?", (client,))
