"""The SQLite edge: a database file opened in WAL mode with a busy timeout, connections pooled
for threads, every write in a ``BEGIN IMMEDIATE`` transaction, and sqlite3's errors turned into
the project's at this one place. Only ``sqlite*.py`` modules hold SQL.

Several processes may open the same file (``tally up``, workers, ``tally rollup``): WAL lets
readers run beside the one writer, and a writer that finds the file locked waits up to
``BUSY_TIMEOUT`` seconds before the call fails with a retryable error. ``BEGIN IMMEDIATE`` takes
the write lock before the first read of a transaction, so a read-then-write (a conditional
update, a queue fetch) never sees data another writer changes under it, and never fails half
way on a lock upgrade that the busy timeout cannot wait out.

``synchronous=FULL`` (the default here): a commit returns only after the WAL is on disk, so a
2xx answered for a queued job survives a power cut, not just a killed process.
"""

import queue
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .errors import ServiceError, StorageError

BUSY_TIMEOUT = 30.0  # seconds a writer waits for another's transaction
IDLE_CONNECTIONS = 8  # kept open for the next thread; more are opened when needed
# What a retry may cure: another writer held the file, or the disk briefly failed us.
_RETRYABLE = ("locked", "busy", "disk i/o", "unable to open")


class Database:
    """One SQLite file. ``schema`` (CREATE ... IF NOT EXISTS statements) runs once per process
    on first use; ``error`` is the TallyError subclass its failures raise."""

    def __init__(
        self, path: str | Path, *, schema: str = "", error: type[ServiceError] = StorageError, synchronous: str = "FULL"
    ) -> None:
        self.path = str(path)
        self.schema = schema
        self.error = error
        self.synchronous = synchronous
        self._idle: queue.SimpleQueue[sqlite3.Connection] = queue.SimpleQueue()
        self._ready = False
        self._lock = threading.Lock()

    @contextmanager
    def connection(self) -> Iterator[sqlite3.Connection]:
        """A connection of the pool for the length of the block (autocommit: no transaction)."""
        try:
            conn = self._idle.get_nowait()
        except queue.Empty:
            conn = self._open()
        try:
            with self.translated():
                yield conn
        finally:
            if conn.in_transaction:  # an error left it open: never hand a transaction on
                conn.rollback()
            if self._idle.qsize() < IDLE_CONNECTIONS:
                self._idle.put(conn)
            else:
                conn.close()

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction (BEGIN IMMEDIATE ... COMMIT; ROLLBACK on any exception)."""
        with self.connection() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.rollback()
                raise
            conn.execute("COMMIT")

    def rows(self, sql: str, parameters: Any = ()) -> list[Any]:
        """Every row of one read (a statement sees one snapshot in WAL mode)."""
        with self.connection() as conn:
            return conn.execute(sql, parameters).fetchall()

    @contextmanager
    def translated(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            text = str(exc)
            retryable = isinstance(exc, sqlite3.OperationalError) and any(w in text.lower() for w in _RETRYABLE)
            code = getattr(exc, "sqlite_errorname", type(exc).__name__)
            raise self.error(f"SQLite {self.path}: {text}", code=code, retryable=retryable) from exc

    def close(self) -> None:
        """Close the idle connections (those in use close when given back after this)."""
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                return

    def _open(self) -> sqlite3.Connection:
        with self.translated():
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            # isolation_level=None: transactions only where this module begins them.
            conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(f"PRAGMA synchronous={self.synchronous}")
            with self._lock:
                if not self._ready:
                    conn.executescript(f"BEGIN IMMEDIATE; {self.schema}; COMMIT;")
                    self._ready = True
            return conn
