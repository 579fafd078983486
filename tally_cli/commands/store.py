"""``tally store copy``: copy the main store to another (logic in tally_ops.store_copy)."""

import hashlib
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ..config import state_dir
from ..errors import translated

if TYPE_CHECKING:
    from tally_contract.sites import ListedSites
    from tally_store.base import Store

EXAMPLE = """
\b
Example, DynamoDB to SQLite while ingest keeps queuing (docs/store-copy.md):
  tally store copy --from dynamodb://prod --to sqlite:///srv/tally/tally.db
  tally store copy --from sqlite:///srv/tally/tally.db --to dynamodb://prod
"""


@click.group()
def store() -> None:
    """The main store: copy it to another backend.

    \b
      tally store copy --from dynamodb://prod --to sqlite:///srv/tally/tally.db
    """


@store.command(epilog=EXAMPLE)
@click.option("--from", "source", required=True, help="dynamodb://<stage> or sqlite://<path>")
@click.option("--to", "target", required=True, help="sqlite://<path> or dynamodb://<stage>")
@click.option("--checkpoint", type=click.Path(dir_okay=False), help="Progress file (default: in .tally/).")
@click.option("--days-back", type=click.IntRange(0, 3660), default=1830, show_default=True, help="Oldest day to copy.")
@click.option("--endpoint-url", envvar="TALLY_AWS_ENDPOINT_URL", help="DynamoDB endpoint (moto, local)")
@click.option("--region", envvar="AWS_REGION", help="AWS region")
def copy(source: str, target: str, checkpoint: str | None, days_back: int, endpoint_url: str | None,
         region: str | None) -> None:  # fmt: skip
    """Copy raw events and sites; the target's rollup then seals the same totals.

    Resumable: a crashed copy goes on after the last site hour it finished; run again when
    done, it copies nothing. Run `tally rollup` against the target afterwards.
    """
    from tally_ops.errors import OpsError
    from tally_ops.store_copy import Checkpoint, StoreCopy

    if source == target:
        raise click.BadParameter("--from and --to name the same store", param_hint="--to")
    _aws(endpoint_url, region)
    path = Path(checkpoint) if checkpoint else _default_checkpoint(source, target)
    try:
        with translated("store copy"):
            (source_store, source_sites), (target_store, target_sites) = _open(source), _open(target)
            job = StoreCopy(source_store, target_store, source_sites, target_sites,
                            Checkpoint.open(path, source, target), days_back=days_back)  # fmt: skip
            sites = job.sites()
            units = job.plan(sites)
            with click.progressbar(length=max(len(units), 1), label=f"copying {len(units)} site hours",
                                   file=sys.stderr, item_show_func=_shown) as bar:  # fmt: skip
                report = job.run(sites, units, progress=lambda unit: bar.update(1, unit))
    except OpsError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"copied {report.events} events of {report.units - report.skipped} site hours and {report.sites} "
               f"sites in {report.seconds:.1f} s; {report.skipped} site hours were done before ({path})")  # fmt: skip


def _shown(unit: tuple[str, str] | None) -> str | None:
    return f"{unit[0]} {unit[1]}" if unit else None


def _open(url: str) -> "tuple[Store, ListedSites]":
    import tally_store
    from tally_contract.sites import open_sites

    scheme, _, rest = url.partition("://")
    if scheme not in ("sqlite", "dynamodb") or not rest:
        raise click.BadParameter(f"{url!r}: expected dynamodb://<stage> or sqlite://<path>")
    sites_table = f"tally-{rest}-sites" if scheme == "dynamodb" else ""
    return tally_store.from_url(url), open_sites(url if scheme == "sqlite" else "", sites_table)


def _default_checkpoint(source: str, target: str) -> Path:
    digest = hashlib.sha256(f"{source}\n{target}".encode()).hexdigest()[:12]
    directory = state_dir()
    directory.mkdir(parents=True, exist_ok=True)
    return directory / f"store-copy-{digest}.json"


def _aws(endpoint_url: str | None, region: str | None) -> None:
    import os

    from tally_contract import aws

    if endpoint_url:
        os.environ["AWS_ENDPOINT_URL"] = endpoint_url
    if region:
        os.environ.update(AWS_REGION=region, AWS_DEFAULT_REGION=region)
    aws.reset()
