"""``tally rollup``: seal the aggregates now instead of waiting for the schedule."""

import dataclasses
from typing import TYPE_CHECKING

import click

from ..config import Target, target
from ..errors import translated

if TYPE_CHECKING:
    from tally_export.base import Sink


@click.command()
@click.option("--stage", default=None, help="AWS stage; default: the running local pipeline, else dev.")
@click.option(
    "--store", "store_url", metavar="URL", help="A store by URL instead: sqlite://<path>, dynamodb://<stage>."
)
@click.option("--export/--no-export", default=True, show_default=True,
              help="Write each hour sealed to the export, as the scheduled rollup does (docs/export.md).")  # fmt: skip
def rollup(stage: str | None, store_url: str | None, export: bool) -> None:
    """Seal every dirty aggregate bucket now: minutes from raw events, then their hours and days.

    Each hour sealed is exported as the scheduled rollup exports it: to the local pipeline's
    export directory, to the stage's bucket (tally-<stage>-export), or where TALLY_EXPORT_BUCKET
    or TALLY_EXPORT_DIR say. --no-export seals without (those hours then have no file until
    they are sealed again).

    \b
      tally rollup
      tally rollup --stage prod
      tally rollup --store sqlite:///srv/tally/tally.db
    """
    import tally_store
    from processor_lambda.request_job import SiteSettings, declared
    from tally_aggregates.rollup import Rollup
    from tally_contract.sites import open_sites

    with translated("rollup"):
        where = None
        if store_url:
            scheme, _, rest = store_url.partition("://")
            store = tally_store.from_url(store_url)
            sites = open_sites(store_url, f"tally-{rest}-sites" if scheme == "dynamodb" else "")
        else:
            where = target(stage)
            store, sites = where.store(), where.sites()
        # The sites' goals and counted properties are rows of the seal, as the scheduled rollup's.
        settings = SiteSettings(sites.by_id)
        sink = export_of(where, store_url) if export else None
        report = Rollup(store, declared=lambda site: declared(settings, site), export=sink).settle()
    fields = dataclasses.asdict(report)
    click.echo("  ".join(f"{name.replace('_', ' ')} {value}" for name, value in fields.items()))


def export_of(where: Target | None, store_url: str | None) -> "Sink | None":
    """Where a stage's hourly files are: the environment's, the local pipeline's directory, the
    stage's bucket (or none for a SQLite file named by --store)."""
    from tally_export import base
    from tally_export.files import FileSink
    from tally_export.s3 import S3Sink

    named = base.from_environment()
    if named is not None:
        return named
    if where is None:  # --store: DynamoDB's stage has its bucket; a SQLite file has no export of its own
        scheme, _, rest = (store_url or "").partition("://")
        return S3Sink(f"tally-{rest}-export") if scheme == "dynamodb" else None
    if where.local is not None:
        return FileSink(where.local.export_dir) if where.local.export_dir else None
    return S3Sink(f"tally-{where.stage}-export")
