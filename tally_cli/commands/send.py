"""``tally send``: synthetic traffic to local mode or a deployed API."""

import json
import random
import sys
import time
from datetime import UTC, datetime

import click

from ..config import read_state
from ..traffic import Sender, SendError, Summary, Traffic, pace


@click.command()
@click.option("--count", "-n", default=100, show_default=True, type=click.IntRange(1, 10_000_000), help="Events.")
@click.option(
    "--rate", default=0.0, show_default=True, type=click.FloatRange(0), help="Events/s; 0: as fast as possible."
)
@click.option("--batch-size", default=20, show_default=True, type=click.IntRange(1, 100), help="Events a request.")
@click.option(
    "--visitors", default=200, show_default=True, type=click.IntRange(1, 1_000_000), help="Distinct visitors."
)
@click.option("--api-url", envvar="TALLY_API_URL", help="API base (https://<api>/<stage>); default: local mode.")
@click.option("--key", envvar="TALLY_WRITE_KEY", help="Site write key; default: local mode's site.")
@click.option(
    "--secret-key", envvar="TALLY_SECRET_KEY", help="Site secret key: sends each event's IP and user agent, as a "
    "server sender does. Default: local mode's; without it events carry no IP and one user agent."
)  # fmt: skip
@click.option("--seed", type=int, help="Repeatable traffic.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
def send(
    count: int,
    rate: float,
    batch_size: int,
    visitors: int,
    api_url: str | None,
    key: str | None,
    secret_key: str | None,
    seed: int | None,
    as_json: bool,
) -> None:
    """Send realistic synthetic events (pages, referrers, browsers and bots, IPs) in batches.

    \b
      tally send --count 1000 --rate 50
      tally send --api-url https://abc.execute-api.us-east-1.amazonaws.com/prod --key wk_... -n 10

    The summary breaks the accepted events down as the aggregates count them: by event name
    (pageviews are the views) and, apart, the bots (user agents the processor takes for bots),
    which count in a bucket's bot total only. Events are stamped when the API receives them,
    between the summary's start and end times.
    """
    write_key = key
    local = read_state()
    if api_url is None and local is not None:
        api_url, write_key, secret_key = local.api_url, write_key or local.write_key, secret_key or local.secret_key
    if not api_url:
        raise click.UsageError("--api-url is required when local mode is not running")
    if not api_url.startswith(("http://", "https://")):
        raise click.BadParameter("must start with http:// or https://", param_hint="--api-url")
    if not write_key:
        raise click.UsageError("--key is required with --api-url")
    traffic = Traffic(random.Random(seed), visitors=visitors, with_identity=bool(secret_key))
    sender = Sender(api_url, write_key, secret_key)
    summary = Summary()
    started, started_at = time.monotonic(), _now()
    try:
        with click.progressbar(length=count, label="sending", file=sys.stderr) as bar:
            while summary.sent < count:
                size = min(batch_size, count - summary.sent)
                pace(rate, started, summary.sent + size)
                sender.send([traffic.event() for _ in range(size)], summary, traffic.is_bot)
                bar.update(size)
    except SendError as exc:
        raise click.ClickException(str(exc)) from None
    summary.seconds = time.monotonic() - started
    window = (started_at, _now())
    if as_json:
        click.echo(json.dumps(_as_dict(summary, window), sort_keys=True))
    else:
        _report(summary, window)
    if summary.accepted == 0:
        raise click.ClickException("no event was accepted")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _as_dict(summary: Summary, window: tuple[str, str]) -> dict[str, object]:
    return {
        "sent": summary.sent, "requests": summary.requests, "seconds": round(summary.seconds, 3),
        "accepted": summary.accepted, "rejected": dict(summary.rejected),
        "names": dict(summary.names), "bots": summary.bots, "from": window[0], "to": window[1],
    }  # fmt: skip


def _report(summary: Summary, window: tuple[str, str]) -> None:
    rate = summary.sent / summary.seconds if summary.seconds else 0.0
    click.echo(
        f"sent {summary.sent} events in {summary.requests} requests, {summary.seconds:.1f} s ({rate:.0f}/s): "
        f"accepted {summary.accepted}, rejected {summary.rejected_total}"
    )
    for reason, events in summary.rejected.most_common():
        click.echo(f"  rejected {events}: {reason}")
    if summary.accepted:
        names = ", ".join(f"{name} {n}" for name, n in sorted(summary.names.items(), key=lambda kv: (-kv[1], kv[0])))
        click.echo(f"  counted: {names or 'nothing'}; bots {summary.bots} (bot total only)")
        click.echo(f"  received {window[0]} .. {window[1]}")
