"""``tally drain``: move queued jobs from Redis to SQS or back (logic in tally_ops.drain)."""

import sys
import time
from typing import TYPE_CHECKING, Any

import click

from tally_ops.errors import OpsError

if TYPE_CHECKING:  # the rest of tally_ops imports redis and botocore: loaded when the command runs
    from tally_ops.drain import RedisToSqs, Report, SqsToRedis

EXAMPLE = """
\b
Example, the Redis -> SQS cut-over (docs/migration.md):
  tally drain --from redis://127.0.0.1:6379/0 --to sqs://tally-prod-events \\
      --with-scheduled --with-retries --dry-run
"""


@click.command("drain", epilog=EXAMPLE)
@click.option("--from", "source", required=True, envvar="TALLY_DRAIN_FROM", help="redis://host:port/db or sqs://queue")
@click.option("--to", "destination", required=True, envvar="TALLY_DRAIN_TO", help="sqs://queue or redis://host:port/db")
@click.option("--queue", default="default", show_default=True, envvar="TALLY_JOB_QUEUE", help="Sidekiq queue name")
@click.option("--with-scheduled", is_flag=True, help="also move the schedule set (Redis -> SQS)")
@click.option("--with-retries", is_flag=True, help="also move the retry set (Redis -> SQS)")
@click.option("--chunk", type=click.IntRange(1, 10_000), default=100, show_default=True, help="jobs per step")
@click.option("--dry-run", is_flag=True, help="count what would move; move nothing")
@click.option("--follow", is_flag=True, help="repeat until no job is left behind (timed jobs due later)")
@click.option("--interval", type=click.FloatRange(0.1, 900), default=30.0, show_default=True, help="--follow pause, s")
@click.option("--endpoint-url", envvar="TALLY_AWS_ENDPOINT_URL", help="SQS endpoint (moto, local)")
@click.option("--region", envvar="AWS_REGION", help="AWS region")
def drain(source: str, destination: str, queue: str, **options: Any) -> None:
    """Move queued jobs between Redis and SQS without losing one."""
    try:
        mover = _mover(source, destination, queue, options)
        if options["dry_run"]:
            _print_plan(mover.plan())
            return
        while True:
            report = _run(mover)
            _print_report(report)
            if not options["follow"] or not (report.held_back or report.remaining):
                return
            time.sleep(options["interval"])
    except OpsError as exc:
        raise click.ClickException(str(exc)) from None


def _mover(source: str, destination: str, queue: str, options: dict[str, Any]) -> "RedisToSqs | SqsToRedis":
    from tally_contract.sidekiq_redis import RETRY, SCHEDULE
    from tally_ops.connect import redis_at, sqs_at, target
    from tally_ops.drain import RedisToSqs, SqsToRedis

    src, dst = target(source, "--from"), target(destination, "--to")
    if {src.kind, dst.kind} != {"redis", "sqs"}:
        raise OpsError("--from and --to must be one Redis URL and one sqs:// queue")
    if not queue or any(c.isspace() for c in queue):
        raise OpsError(f"--queue: {queue!r} is not a queue name")
    aws = {"endpoint_url": options["endpoint_url"], "region": options["region"]}
    sets = [name for flag, name in (("with_scheduled", SCHEDULE), ("with_retries", RETRY)) if options[flag]]
    if src.kind == "redis":
        return RedisToSqs(redis_at(src), sqs_at(dst, **aws), queue, options["chunk"], sets)
    if sets:
        raise OpsError("--with-scheduled/--with-retries apply to a Redis source only (SQS has no schedule to read)")
    return SqsToRedis(sqs_at(src, **aws), redis_at(dst), queue)


def _run(mover: "RedisToSqs | SqsToRedis") -> "Report":
    plan = mover.plan()
    total = plan.moved + plan.resent + plan.timed
    with click.progressbar(length=max(total, 1), label="draining", file=sys.stderr) as bar:
        return mover.run(progress=bar.update)


def _print_plan(plan: "Report") -> None:
    click.echo(
        f"would move {plan.moved} queued job(s), resend {plan.resent} left in flight, "
        f"send {plan.timed} timed job(s) with a delay; {plan.held_back} timed job(s) due later stay; "
        f"{plan.remaining} message(s) delayed or in flight"
    )


def _print_report(report: "Report") -> None:
    click.echo(
        f"moved {report.moved} queued job(s), resent {report.resent}, sent {report.timed} timed job(s); "
        f"{report.held_back} timed job(s) held back, {report.remaining} message(s) delayed or in flight"
    )
