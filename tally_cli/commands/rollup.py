"""``tally rollup``: seal the aggregates now instead of waiting for the schedule."""

import dataclasses

import click

from ..config import target
from ..errors import translated


@click.command()
@click.option("--stage", default=None, help="AWS stage; default: the running local pipeline, else dev.")
@click.option(
    "--store", "store_url", metavar="URL", help="A store by URL instead: sqlite://<path>, dynamodb://<stage>."
)
def rollup(stage: str | None, store_url: str | None) -> None:
    """Seal every dirty aggregate bucket now: minutes from raw events, then their hours and days.

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
        if store_url:
            scheme, _, rest = store_url.partition("://")
            store = tally_store.from_url(store_url)
            sites = open_sites(store_url, f"tally-{rest}-sites" if scheme == "dynamodb" else "")
        else:
            where = target(stage)
            store, sites = where.store(), where.sites()
        # The sites' goals and counted properties are rows of the seal, as the scheduled rollup's.
        settings = SiteSettings(sites.by_id)
        report = Rollup(store, declared=lambda site: declared(settings, site)).settle()
    fields = dataclasses.asdict(report)
    click.echo("  ".join(f"{name.replace('_', ' ')} {value}" for name, value in fields.items()))
