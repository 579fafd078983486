"""SQL over the exported files with DuckDB (``tally query``): a view ``events`` over every hourly
file under a directory laid out as base.key lays them out (local mode's ``.tally/export``, or a
copy of the bucket: ``aws s3 sync s3://<bucket>/events ./export/events``).

The columns are fixed (records.COLUMNS, typed here), so every file reads with one schema and
an empty column is NULL, never a guess; the path adds the partitions ``date`` (DATE) and
``hour`` (INTEGER), which DuckDB uses to skip files a WHERE on them excludes. ``duckdb`` is
imported by the caller's first query only: the CLI's other commands never load it."""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tally_contract.errors import TallyError

from . import records
from .base import PREFIX, SUFFIX

TYPES = {"event_time": "TIMESTAMP", "bot": "BOOLEAN", "properties": "MAP(VARCHAR, VARCHAR)"}  # UTC; else VARCHAR


class QueryError(TallyError):
    """The SQL failed (DuckDB's message), or there are no files to query."""


@dataclass
class Answer:
    columns: list[str]
    rows: list[tuple[Any, ...]]


def view(root: Path) -> str:
    pattern = _quoted(str(root / PREFIX / "**" / f"*{SUFFIX}"))
    columns = ", ".join(f"{_quoted(name)}: {_quoted(TYPES.get(name, 'VARCHAR'))}" for name in records.COLUMNS)
    # A view's definition takes no prepared parameters: the one outside input, the directory, is quoted.
    return (
        f"CREATE VIEW events AS SELECT * FROM read_json({pattern}, format = 'newline_delimited', "  # noqa: S608
        f"compression = 'gzip', hive_partitioning = true, hive_types = {{'date': 'DATE', 'hour': 'INTEGER'}}, "
        f"columns = {{{columns}}})"
    )


def run(sql: str, root: Path) -> Answer:
    import duckdb

    if not any((root / PREFIX).glob(f"**/*{SUFFIX}")):
        raise QueryError(f"no exported files under {root / PREFIX} (docs/export.md)")
    connection = duckdb.connect(":memory:")
    try:
        connection.execute(view(root))
        result = connection.execute(sql)
        columns = [column[0] for column in result.description or []]
        return Answer(columns, result.fetchall() if columns else [])
    except duckdb.Error as exc:
        raise QueryError(str(exc).strip()) from None
    finally:
        connection.close()


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
