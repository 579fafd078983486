"""``tally export``: a range's raw events as one .ndjson.gz, or the dashboard's panels as a CSV
zip. Both read the store as ``tally stats`` does (the local pipeline's, or a stage's DynamoDB
with the caller's AWS credentials), with the same code the dashboard's downloads run: the part
builder (tally_export/parts.py) followed cursor by cursor, and the query engine."""

import json
import os
import time
from pathlib import Path
from typing import Any

import click

from ..config import Target, target
from ..errors import translated

stage_option = click.option("--stage", default=None, help="AWS stage; default: the running local pipeline, else dev.")
site_option = click.option("--site", help="Site id; default: the local pipeline's site.")
output_option = click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path),
                             help="The file to write (replaced only when the export is complete).")  # fmt: skip


@click.group()
def export() -> None:
    """Download a site's raw events or its dashboard's numbers.

    \b
      tally export events --from 2026-11-01 --to 2026-11-30 -o november.ndjson.gz
      tally export csv --range 30d -o last-30-days.zip
      tally export csv --site shop --range 2026-11-01,2026-11-30 --filter '[["is","visit:country",["DE"]]]' -o de.zip
    """


def _site(where: Target, site: str | None) -> str:
    chosen = site or (where.local.site_id if where.local else None)
    if not chosen:
        raise click.UsageError("--site is required when local mode is not running")
    return chosen


@export.command()
@site_option
@click.option("--from", "start", required=True, help="First day or time (UTC), e.g. 2026-11-01.")
@click.option("--to", "end", required=True, help="Last day (included) or end time (excluded), UTC.")
@output_option
@stage_option
def events(site: str | None, start: str, end: str, output: Path, stage: str | None) -> None:
    """Raw events of a range as NDJSON.gz, each counted event once (no IP, no user agent)."""
    from tally_export import parts

    where = target(stage)
    site_id = _site(where, site)
    try:
        window = parts.window_of(start, end)
    except parts.BadWindow as exc:
        raise click.BadParameter(exc.message, param_hint=f"--{exc.field}") from None
    store, at, count, pieces = where.store(), None, 0, 0
    partial = output.with_name(output.name + ".partial")
    with translated("export"), partial.open("wb") as out:
        while True:
            made = parts.part(store, site_id, window, at)
            out.write(made.body)
            count, pieces, at = count + made.events, pieces + 1, made.next
            if at is None:
                break
    os.replace(partial, output)
    click.echo(f"{count} events of {site_id} in {pieces} part(s), {output.stat().st_size} bytes: {output}")


@export.command()
@site_option
@click.option("--range", "date_range", default="30d", show_default=True,
              help="A Stats API shortcut (day, 7d, 30d, month, 12mo, ...) or START,END dates.")  # fmt: skip
@click.option("--filter", "filters", default="[]", help="Stats API v2 filters as JSON.")
@output_option
@stage_option
def csv(site: str | None, date_range: str, filters: str, output: Path, stage: str | None) -> None:
    """The dashboard's panels for a range as Plausible's CSV zip (visitors.csv, pages.csv, ...)."""
    from tally_export import csv_zip
    from tally_query.engine import Engine
    from tally_query.errors import QueryError

    try:
        chosen: Any = json.loads(filters)
    except ValueError:
        raise click.BadParameter("must be the Stats API's filters as JSON", param_hint="--filter") from None
    where = target(stage)
    site_id = _site(where, site)
    sites = where.sites()
    with translated("export"):
        found = sites.by_id(site_id)
        if found is None or found.deleted_at:
            raise click.ClickException(f"no site {site_id!r} in {where.where()}")
        try:
            body = csv_zip.build(Engine(where.store(), sites.by_id, time.time), found,
                                 csv_zip.checked_range(date_range), chosen)  # fmt: skip
        except QueryError as exc:
            raise click.ClickException(f"{exc.field}: {exc.message}") from None
    output.write_bytes(body)
    click.echo(f"{site_id}, {date_range}: {len(body)} bytes: {output}")
