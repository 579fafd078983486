"""``tally stats``: views over time and top pages, in the terminal."""

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import click

from ..config import target
from ..errors import translated

if TYPE_CHECKING:
    from tally_aggregates.reader import Point, Ranked


@click.command()
@click.option("--site", help="Site id; default: the local pipeline's site.")
@click.option(
    "--by", type=click.Choice(["m", "h", "d"]), default="m", show_default=True,
    help="Bucket size: minute, hour, day.",
)  # fmt: skip
@click.option("--last", default=30, show_default=True, type=click.IntRange(1, 1440), help="How many buckets.")
@click.option("--top", default=10, show_default=True, type=click.IntRange(0, 100), help="Top pages.")
@click.option("--stage", default=None, help="AWS stage; default: the running local pipeline, else dev.")
@click.option("--json", "as_json", is_flag=True, help="The same numbers as one JSON object.")
def stats(site: str | None, by: str, last: int, top: int, stage: str | None, as_json: bool) -> None:
    """Pageviews, events, visitors and bots per bucket, and the top pages.

    Sealed buckets (exact, after the rollup) show unique visitors; open ones show live counts.

    \b
      tally stats
      tally stats --site shop --by h --last 24 --stage prod
      tally stats --json
    """
    from tally_aggregates.reader import AggregateReader
    from tally_store import buckets

    where = target(stage)
    site = site or (where.local.site_id if where.local else None)
    if not site:
        raise click.UsageError("--site is required when local mode is not running")
    bucket_ids = buckets.last(by, last, datetime.now(UTC))
    reader = AggregateReader(where.store())
    with translated("stats"):
        points = reader.series(site, by, bucket_ids)
        pages = [row for row in reader.top(site, by, bucket_ids, "page", top) if row.views] if top else []
    if as_json:
        click.echo(json.dumps(_as_json(site, by, points, pages), indent=2))
        return
    _print_series(points)
    if top:
        _print_top(pages)


def _as_json(site: str, by: str, points: "list[Point]", pages: "list[Ranked]") -> dict[str, Any]:
    """What the table shows: visitors only for sealed buckets (None while a bucket is live)."""
    shown = [{"bucket": p.bucket, "views": p.numbers.views, "events": p.numbers.events,
              "visitors": p.numbers.visitors if p.numbers.sealed else None, "bots": p.numbers.bots,
              "sealed": p.numbers.sealed} for p in points]  # fmt: skip
    totals = {name: sum(int(point[name] or 0) for point in shown) for name in ("views", "events", "bots")}
    return {"site": site, "granularity": by, "points": shown, "totals": totals,
            "top_pages": [{"page": row.value, "views": row.views} for row in pages]}  # fmt: skip


def _print_series(points: "list[Point]") -> None:
    peak = max((p.numbers.views for p in points), default=0) or 1
    click.echo(f"{'bucket':<16}  {'views':>7}  {'events':>7}  {'visitors':>8}  {'bots':>6}  ")
    for point in points:
        n = point.numbers
        visitors = str(n.visitors) if n.sealed and n.visitors is not None else "~"
        bar = "#" * round(30 * n.views / peak)
        click.echo(f"{point.bucket:<16}  {n.views:>7}  {n.events:>7}  {visitors:>8}  {n.bots:>6}  {bar}")
    views, events = sum(p.numbers.views for p in points), sum(p.numbers.events for p in points)
    click.echo(f"{'total':<16}  {views:>7}  {events:>7}")


def _print_top(pages: "list[Ranked]") -> None:
    click.echo("")
    if not pages:
        click.echo("top pages: none yet")
        return
    width = max(len(row.value) for row in pages)
    click.echo(f"{'top pages':<{width}}  {'views':>7}")
    for row in pages:
        click.echo(f"{row.value:<{width}}  {row.views:>7}")
