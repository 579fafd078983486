"""``tally stats``: views over time and top pages, in the terminal."""

import click

from .. import aggregates
from ..config import target
from ..errors import translated


@click.command()
@click.option("--site", help="Site id; default: the local pipeline's site.")
@click.option(
    "--by", type=click.Choice(["m", "h", "d"]), default="m", show_default=True,
    help="Bucket size: minute, hour, day.",
)  # fmt: skip
@click.option("--last", default=30, show_default=True, type=click.IntRange(1, 1440), help="How many buckets.")
@click.option("--top", default=10, show_default=True, type=click.IntRange(0, 100), help="Top pages.")
@click.option("--stage", default=None, help="AWS stage; default: the running local pipeline, else dev.")
def stats(site: str | None, by: str, last: int, top: int, stage: str | None) -> None:
    """Pageviews, events, visitors and bots per bucket, and the top pages.

    Sealed buckets (exact, after the rollup) show unique visitors; open ones show live counts.

    \b
      tally stats
      tally stats --site shop --by h --last 24 --stage prod
    """
    from tally_contract import aws

    where = target(stage)
    site = site or (where.local.site_id if where.local else None)
    if not site:
        raise click.UsageError("--site is required when local mode is not running")
    bucket_ids = aggregates.buckets(by, last)
    client = aws.client("dynamodb")
    with translated("stats"):
        points = aggregates.series(client, where.aggregates_table, site, by, bucket_ids)
        pages = aggregates.top(client, where.aggregates_table, site, by, points, "page", top)
    _print_series(points)
    if top:
        _print_top(pages)


def _print_series(points: list[aggregates.Point]) -> None:
    peak = max((p.pageviews for p in points), default=0) or 1
    click.echo(f"{'bucket':<16}  {'views':>7}  {'events':>7}  {'visitors':>8}  {'bots':>6}  ")
    for p in points:
        visitors = str(p.visitors) if p.visitors is not None else "~"
        bar = "#" * round(30 * p.pageviews / peak)
        click.echo(f"{p.bucket:<16}  {p.pageviews:>7}  {p.events:>7}  {visitors:>8}  {p.bots:>6}  {bar}")
    click.echo(f"{'total':<16}  {sum(p.pageviews for p in points):>7}  {sum(p.events for p in points):>7}")


def _print_top(pages: list[tuple[str, int]]) -> None:
    click.echo("")
    if not pages:
        click.echo("top pages: none yet")
        return
    width = max(len(page) for page, _ in pages)
    click.echo(f"{'top pages':<{width}}  {'views':>7}")
    for page, count in pages:
        click.echo(f"{page:<{width}}  {count:>7}")
