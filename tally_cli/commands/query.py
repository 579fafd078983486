"""``tally query``: SQL over the exported hourly files (tally_export.sql, docs/export.md)."""

import csv
import json
import sys
from pathlib import Path
from typing import Any

import click

DEFAULT_DIR = Path(".tally") / "export"  # where `tally up` exports (TALLY_EXPORT_DIR)


@click.command()
@click.argument("sql")
@click.option("--dir", "directory", type=click.Path(file_okay=False), envvar="TALLY_EXPORT_DIR",
              default=str(DEFAULT_DIR), show_default=True, help="Exported files (with events/ inside).")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="One JSON object a row.")
@click.option("--csv", "as_csv", is_flag=True, help="CSV with a header row.")
def query(sql: str, directory: str, as_json: bool, as_csv: bool) -> None:
    """Run SQL against the view ``events``: one row per exported event (the columns of
    docs/export.md, partitions ``date`` and ``hour``).

    \b
      tally query "SELECT count(*) FROM events WHERE NOT bot"
      tally query --csv "SELECT path, count(*) AS views FROM events
                         WHERE name = 'pageview' GROUP BY path ORDER BY views DESC LIMIT 10"
      aws s3 sync s3://tally-prod-export/events ./export/events
      tally query --dir ./export "SELECT date, count(*) FROM events GROUP BY date ORDER BY date"
    """
    from tally_export.sql import QueryError, run

    if as_json and as_csv:
        raise click.UsageError("--json or --csv, not both")
    try:
        answer = run(sql, Path(directory))
    except QueryError as exc:
        raise click.ClickException(f"query: {exc}") from None
    if as_json:
        for row in answer.rows:
            click.echo(json.dumps(dict(zip(answer.columns, row, strict=True)), default=_json, ensure_ascii=False))
    elif as_csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(answer.columns)
        writer.writerows([[_text(value) for value in row] for row in answer.rows])
    else:
        _table(answer.columns, [[_text(value) for value in row] for row in answer.rows])


def _table(columns: list[str], rows: list[list[str]]) -> None:
    widths = [max([len(name), *(len(row[i]) for row in rows)]) for i, name in enumerate(columns)]
    click.echo("  ".join(name.ljust(width) for name, width in zip(columns, widths, strict=True)).rstrip())
    click.echo("  ".join("-" * width for width in widths))
    for row in rows:
        click.echo("  ".join(value.ljust(width) for value, width in zip(row, widths, strict=True)).rstrip())
    click.echo(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")


def _json(value: Any) -> Any:
    """Dates and times as ISO 8601 (event_time is UTC), anything else DuckDB returns as text."""
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)
