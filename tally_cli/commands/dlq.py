"""``tally dlq``: the SQS dead-letter queue or Sidekiq's dead set (logic in tally_ops.dlq_*)."""

import json
import time
from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, Any, TypeVar

import click

from tally_ops.errors import OpsError

if TYPE_CHECKING:  # the rest of tally_ops imports redis and botocore: loaded when a command runs
    from tally_ops.dlq_redis import RedisDeadLetters
    from tally_ops.dlq_sqs import SqsDeadLetters

F = TypeVar("F", bound=Callable[..., Any])

EXAMPLE = """
\b
Examples:
  tally dlq list --from sqs://tally-prod-events-dlq
  tally dlq redrive --from sqs://tally-prod-events-dlq --to sqs://tally-prod-events
  tally dlq list --from redis://127.0.0.1:6379/0          # Sidekiq's dead set
  tally dlq redrive --from redis://127.0.0.1:6379/0 --id 0123456789abcdef01234567
"""


COMMON = (
    click.option(
        "--from", "source", required=True, envvar="TALLY_DLQ", help="sqs://<dlq> (or its bare name) or redis://..."
    ),
    click.option("--endpoint-url", envvar="TALLY_AWS_ENDPOINT_URL", help="SQS endpoint (moto, local)"),
    click.option("--region", envvar="AWS_REGION", help="AWS region"),
)


def _common(command: F) -> F:
    """The shared options (listed first in --help) and one-line errors."""
    for option in reversed(COMMON):
        command = option(command)

    @wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except OpsError as exc:
            raise click.ClickException(str(exc)) from None

    return run  # type: ignore[return-value]


def _letters(source: str, endpoint_url: str | None, region: str | None) -> "SqsDeadLetters | RedisDeadLetters":
    from tally_ops.connect import redis_at, sqs_at, target
    from tally_ops.dlq_redis import RedisDeadLetters
    from tally_ops.dlq_sqs import SqsDeadLetters

    where = target(source, "--from")
    if where.kind == "redis":
        return RedisDeadLetters(redis_at(where))
    return SqsDeadLetters(sqs_at(where, endpoint_url=endpoint_url, region=region))


@click.group("dlq", epilog=EXAMPLE)
def dlq() -> None:
    """Inspect, redrive or purge dead letters (SQS DLQ or Sidekiq's dead set)."""


@dlq.command("list", epilog=EXAMPLE)
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="one JSON object per line")
@_common
def list_(source: str, endpoint_url: str | None, region: str | None, limit: int, as_json: bool) -> None:
    """List dead letters: id, jid, class, queue, error."""
    for letter in _letters(source, endpoint_url, region).entries(limit):
        row = letter.summary()
        when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(letter.at)) if letter.at else ""
        if as_json:
            click.echo(json.dumps({**row, "at": when, "receive_count": letter.receive_count}))
        else:
            click.echo("\t".join([row["id"], row["jid"], row["class"], row["queue"], when, row["error"][:120]]))


@dlq.command("show", epilog=EXAMPLE)
@click.argument("letter_id")
@_common
def show(source: str, endpoint_url: str | None, region: str | None, letter_id: str) -> None:
    """Print one dead letter's job exactly as stored (SQS message id or Sidekiq jid)."""
    letter = _letters(source, endpoint_url, region).show(letter_id)
    click.echo(letter.body.decode("utf-8", "replace"))


@dlq.command("redrive", epilog=EXAMPLE)
@click.option("--to", "destination", envvar="TALLY_QUEUE_URL", help="SQS: the queue to send back to (sqs://...)")
@click.option("--id", "ids", multiple=True, help="only these message ids / jids (repeatable)")
@click.option("--queue", help="Redis: push to this queue instead of each job's own")
@click.option("--no-move-task", is_flag=True, help="SQS: copy one by one even where StartMessageMoveTask exists")
@_common
def redrive(source: str, endpoint_url: str | None, region: str | None, destination: str | None, **options: Any) -> None:
    """Send dead letters back to be processed, job bytes unchanged."""
    from tally_ops.connect import sqs_at, target
    from tally_ops.dlq_redis import RedisDeadLetters

    letters = _letters(source, endpoint_url, region)
    if isinstance(letters, RedisDeadLetters):
        moved = letters.redrive(options["ids"], options["queue"])
        click.echo(f"redrove {moved} job(s) from the dead set")
        return
    if not destination:
        raise OpsError("--to: the SQS queue to redrive into is required (sqs://<queue>)")
    queue = sqs_at(target(destination, "--to"), endpoint_url=endpoint_url, region=region)
    result = letters.redrive(queue, options["ids"], use_move_task=not options["no_move_task"])
    how = f"StartMessageMoveTask {result.task}" if result.task else "receive, send, delete"
    click.echo(f"redrove {result.moved} message(s) ({how})")


@dlq.command("purge", epilog=EXAMPLE)
@click.option("--id", "ids", multiple=True, help="only these message ids / jids (repeatable)")
@click.option("--yes", is_flag=True, help="really delete")
@_common
def purge(source: str, endpoint_url: str | None, region: str | None, ids: tuple[str, ...], yes: bool) -> None:
    """Delete dead letters for good (all, or --id ...)."""
    if not yes:
        raise OpsError("purge deletes jobs for good: add --yes")
    deleted = _letters(source, endpoint_url, region).purge(ids)
    click.echo(f"purged {deleted} dead letter(s)")
