"""The drain and dlq click commands through CliRunner: real Redis, moto SQS, bad input."""

from typing import Any

import pytest
from click.testing import CliRunner

from tally_cli.commands.dlq import dlq
from tally_cli.commands.drain import drain
from tally_ops.sqs import Outgoing, Sqs
from tests.support.jobs import jobs, push
from tests.support.ops import received


@pytest.fixture
def sqs(aws: None, boto: Any) -> Sqs:
    client = boto.client("sqs")
    client.create_queue(QueueName="events")
    client.create_queue(QueueName="events-dlq")
    return Sqs("events", client=client)


def run(command: Any, *args: str) -> Any:
    return CliRunner().invoke(command, list(args), catch_exceptions=False)


def one_line_error(result: Any) -> str:
    assert result.exit_code != 0
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 or lines[-1].startswith("Error:"), result.output
    return str(lines[-1])


def test_help_has_an_example() -> None:
    assert "tally drain --from redis://" in run(drain, "--help").output
    for sub in ("list", "show", "redrive", "purge"):
        assert "tally dlq redrive --from sqs://" in run(dlq, sub, "--help").output


def test_drain_dry_run_then_drain(redis_url: str, redis_client: Any, sqs: Sqs) -> None:
    push(redis_client, bodies := jobs(30))
    dry = run(drain, "--from", redis_url, "--to", "sqs://events", "--dry-run", "--with-scheduled")
    assert dry.exit_code == 0 and dry.output.startswith("would move 30 queued job(s)")
    assert redis_client.llen("queue:default") == 30
    done = run(drain, "--from", redis_url, "--to", "sqs://events", "--chunk", "7")
    assert done.exit_code == 0, done.output
    assert "moved 30 queued job(s)" in done.output
    assert sorted(received(sqs)) == sorted(bodies)


def test_drain_back_from_sqs(redis_url: str, redis_client: Any, sqs: Sqs) -> None:
    bodies = jobs(12)
    sqs.send([Outgoing(b) for b in bodies])
    result = run(drain, "--from", "sqs://events", "--to", redis_url, "--queue", "low")
    assert result.exit_code == 0, result.output
    assert sorted(redis_client.lrange("queue:low", 0, -1)) == sorted(b.encode() for b in bodies)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "ftp://x", "--to", "sqs://q"], "--from: 'ftp://x' must be redis://"),
        (["--from", "redis://127.0.0.1:1/0", "--to", "redis://127.0.0.1:2/0"], "one Redis URL and one sqs://"),
        (["--from", "sqs://q", "--to", "redis://127.0.0.1:1/0", "--with-retries"], "Redis source only"),
        (["--from", "redis://127.0.0.1:1/0", "--to", "sqs://q", "--queue", "a b"], "--queue: 'a b'"),
        (
            ["--from", "redis://127.0.0.1:1/0", "--to", "sqs://q", "--dry-run"],
            "ConnectionError: Error 111 connecting to 127.0.0.1:1",
        ),
        (["--from", "redis://x", "--to", "sqs://q", "--chunk", "0"], "Invalid value for '--chunk'"),
    ],
)
def test_drain_bad_input_is_one_line(args: list[str], message: str) -> None:
    assert message in one_line_error(run(drain, *args))


def test_drain_to_a_missing_sqs_queue_keeps_the_jobs(redis_url: str, redis_client: Any, sqs: Sqs) -> None:
    push(redis_client, jobs(3))
    assert "NonExistentQueue" in one_line_error(run(drain, "--from", redis_url, "--to", "sqs://nope"))
    assert redis_client.llen("queue:default") == 3


def test_dlq_commands_on_sqs(sqs: Sqs) -> None:
    dead = Sqs("events-dlq", client=sqs.client)
    bodies = jobs(3)
    dead.send([Outgoing(b) for b in bodies])
    listed = run(dlq, "list", "--from", "sqs://events-dlq").output.splitlines()
    assert len(listed) == 3
    first_id = listed[0].split("\t")[0]
    shown = run(dlq, "show", first_id, "--from", "events-dlq")  # a bare name, as TALLY_DLQ holds it
    assert shown.output.rstrip("\n") in bodies
    moved = run(dlq, "redrive", "--from", "sqs://events-dlq", "--to", "sqs://events")
    assert moved.exit_code == 0 and "redrove 3 message(s) (receive, send, delete)" in moved.output
    assert sorted(received(sqs)) == sorted(bodies)
    assert "--to: the SQS queue" in one_line_error(run(dlq, "redrive", "--from", "sqs://events-dlq"))
    assert "add --yes" in one_line_error(run(dlq, "purge", "--from", "sqs://events-dlq"))
    assert run(dlq, "purge", "--from", "sqs://events-dlq", "--yes").exit_code == 0


def test_dlq_commands_on_the_dead_set(redis_url: str, redis_client: Any) -> None:
    bodies = jobs(2)
    redis_client.zadd("dead", {bodies[0]: 1.0, bodies[1]: 2.0})
    jid = bodies[0].split('"jid":"')[1][:24]
    listed = run(dlq, "list", "--from", redis_url, "--json").output.splitlines()
    assert len(listed) == 2 and f'"jid": "{jid}"' in listed[1]
    assert run(dlq, "show", jid, "--from", redis_url).output == bodies[0] + "\n"
    assert "no job with jid nope" in one_line_error(run(dlq, "show", "nope", "--from", redis_url))
    assert run(dlq, "redrive", "--from", redis_url, "--id", jid).output == "redrove 1 job(s) from the dead set\n"
    assert redis_client.lrange("queue:default", 0, -1) == [bodies[0].encode()]
    assert run(dlq, "purge", "--from", redis_url, "--yes").output == "purged 1 dead letter(s)\n"
    assert "must be redis://" in one_line_error(run(dlq, "list", "--from", "http://x"))


def test_drain_follow_waits_for_delayed_messages(redis_url: str, redis_client: Any, sqs: Sqs) -> None:
    bodies = jobs(3)
    sqs.send([Outgoing(bodies[0]), Outgoing(bodies[1]), Outgoing(bodies[2], delay=3)])
    args = ["--from", "sqs://events", "--to", redis_url, "--follow", "--interval", "0.5"]
    result = run(drain, *args)
    assert result.exit_code == 0, result.output
    passes = [line for line in result.stdout.splitlines() if line.startswith("moved")]
    # the first pass finds one message still delayed; a later pass moves it, then nothing is left
    assert passes[0].startswith("moved 2 queued job(s)") and passes[0].endswith("1 message(s) delayed or in flight")
    assert passes[-1].endswith("0 message(s) delayed or in flight")
    assert sorted(redis_client.lrange("queue:default", 0, -1)) == sorted(b.encode() for b in bodies)
