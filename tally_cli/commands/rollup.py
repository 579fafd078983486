"""``tally rollup``: seal the aggregates now instead of waiting for the schedule."""

import dataclasses

import click

from ..config import target
from ..errors import translated


@click.command()
@click.option("--stage", default=None, help="AWS stage; default: the running local pipeline, else dev.")
def rollup(stage: str | None) -> None:
    """Seal every dirty aggregate bucket now: minutes from raw events, then their hours and days.

    \b
      tally rollup
      tally rollup --stage prod
    """
    from tally_aggregates.rollup import Rollup

    where = target(stage)
    with translated("rollup"):
        report = Rollup(where.store()).settle()
    fields = dataclasses.asdict(report)
    click.echo("  ".join(f"{name.replace('_', ' ')} {value}" for name, value in fields.items()))
