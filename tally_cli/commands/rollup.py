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
    from tally_aggregates.rollup import Rollup

    with translated("rollup"):
        store = tally_store.from_url(store_url) if store_url else target(stage).store()
        report = Rollup(store).settle()
    fields = dataclasses.asdict(report)
    click.echo("  ".join(f"{name.replace('_', ' ')} {value}" for name, value in fields.items()))
