"""Every `tally` command through click's runner, each with a bad-input case."""

import json
import re
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tally_cli.main import COMMANDS, cli
from tally_export import records
from tests.support.cli_harness import assert_one_line_error, isolated, run
from tests.support.infra import create_queues, create_table

__all__ = ["isolated"]  # autouse: no local state, an empty config file, the environment restored

STAGE = "t"


@pytest.fixture
def tables(aws: None, boto: Any) -> Any:
    client = boto.client("dynamodb")
    for logical_id in ("SitesTable", "EventsTable", "AggregatesTable"):
        create_table(client, STAGE, logical_id)
    return client


# -- the root group -------------------------------------------------------------------------
@pytest.mark.parametrize("path", [["--help"], *[[name, "--help"] for name in COMMANDS]])
def test_every_command_has_help_with_an_example(path: list[str]) -> None:
    result = run(*path)
    assert result.exit_code == 0
    # An example line, in the description or the epilog.
    assert re.search(r"\n +tally [a-z-]+", result.output), result.output


@pytest.mark.parametrize("group,subcommands", [("sites", ["add", "list", "rotate-key"]), ("queue", ["status"])])
def test_subcommands_have_help_with_an_example(group: str, subcommands: list[str]) -> None:
    for name in subcommands:
        result = run(group, name, "--help")
        assert result.exit_code == 0 and f"tally {group} {name}" in result.output


def test_unknown_command_and_bad_config_are_one_line_errors(isolated: Path) -> None:
    assert_one_line_error(run("nope"), "No such command 'nope'")
    isolated.write_text("[send\ncount = ")
    assert_one_line_error(run("sites", "list"), "cannot read config file")


# -- sites ----------------------------------------------------------------------------------
def test_sites_add_list_rotate(tables: Any, isolated: Path) -> None:
    from tally_contract.sites import hash_secret
    from tally_contract.sites_dynamodb import DynamoSites

    isolated.write_text("[sites.add]\nretention_days = 30\n")  # config file defaults reach subcommands
    added = run("sites", "add", "shop", "--origin", "https://shop.example.com", "--stage", STAGE)
    assert added.exit_code == 0, added.output
    fields = dict(line.split(None, 1) for line in added.output.splitlines() if line.startswith(("write", "secret")))
    write_key = fields["write"].split()[1]
    secret = fields["secret"].split()[1]
    assert f'data-key="{write_key}"' in added.output and "/t.js" in added.output
    assert f'src="https://<api>/{STAGE}/t.js"' in added.output  # the API Gateway stage is named after the stage
    stored = DynamoSites(f"tally-{STAGE}-sites").by_write_key(write_key)
    assert stored is not None and stored.secret_matches(secret)
    assert stored.origins == ("https://shop.example.com",) and stored.retention_days == 30

    listed = run("sites", "list", "--stage", STAGE)
    assert listed.exit_code == 0 and "shop" in listed.output and write_key in listed.output
    assert secret not in listed.output

    rotated = run("sites", "rotate-key", "shop", "--stage", STAGE)
    assert rotated.exit_code == 0 and "secret key" not in rotated.output
    after = DynamoSites(f"tally-{STAGE}-sites").by_id("shop")
    assert after is not None and after.write_key != write_key and after.secret_hash == hash_secret(secret)
    assert after.write_key in rotated.output and after.retention_days == 30


def test_sites_bad_input(tables: Any) -> None:
    assert_one_line_error(run("sites", "add", "no spaces!", "--stage", STAGE), "SITE_ID")
    assert run("sites", "add", "shop", "--stage", STAGE).exit_code == 0
    assert_one_line_error(run("sites", "add", "shop", "--stage", STAGE), "exists")
    assert_one_line_error(run("sites", "rotate-key", "ghost", "--stage", STAGE), "no site 'ghost'")
    assert_one_line_error(run("sites", "add", "x", "--ip-handling", "maybe", "--stage", STAGE), "--ip-handling")
    assert_one_line_error(run("sites", "list", "--stage", "missing"), "ResourceNotFoundException")


# -- stats ----------------------------------------------------------------------------------
def test_stats_prints_the_series_and_top_pages(tables: Any) -> None:
    from datetime import UTC, datetime

    from tally_store import buckets
    from tally_store.base import TOTAL, Bucket, CounterUpdate
    from tally_store.dynamodb import DynamoDBStore

    store = DynamoDBStore(f"tally-{STAGE}-events", f"tally-{STAGE}-aggregates")
    earlier, now = buckets.last("m", 2, datetime.now(UTC))
    sealed, live = Bucket("shop", "m", earlier), Bucket("shop", "m", now)
    pricing = ("page", "/pricing")
    updates = [CounterUpdate(sealed, TOTAL, {"pv": 9, "ev": 9, "bots": 2}, mark=True),
               CounterUpdate(sealed, pricing, {"pv": 9}),
               CounterUpdate(live, TOTAL, {"pv": 4, "ev": 5, "bots": 1}, mark=True),
               CounterUpdate(live, ("page", "/"), {"pv": 3}), CounterUpdate(live, pricing, {"pv": 1})]  # fmt: skip
    store.add_counters(updates, 0)
    store.seal(sealed, {TOTAL: {"pv": 7, "ev": 8, "uv": 3, "bots": 1}, pricing: {"pv": 7}}, 0, version=0)
    assert store.mark_clean(sealed, 1)

    result = run("stats", "--site", "shop", "--last", "2", "--stage", STAGE)
    assert result.exit_code == 0, result.output
    rows = [line.split() for line in result.output.splitlines()]
    assert rows[1][:5] == [earlier, "7", "8", "3", "1"]  # sealed: exact values, unique visitors
    assert rows[2][:5] == [now, "4", "5", "~", "1"]  # open: live counters
    assert ["total", "11", "13"] in rows
    assert ["/pricing", "8"] in rows and ["/", "3"] in rows


def test_stats_bad_input(tables: Any) -> None:
    assert_one_line_error(run("stats", "--site", "shop", "--by", "week"), "--by")
    assert_one_line_error(run("stats", "--stage", STAGE), "--site is required")
    assert_one_line_error(run("stats", "--site", "shop", "--last", "0"), "--last")
    # Settings come from the environment too (TALLY_<COMMAND>_<OPTION>), checked like flags.
    from_env = CliRunner().invoke(cli, ["stats", "--site", "shop"], env={"TALLY_STATS_BY": "week"})
    assert_one_line_error(from_env, "--by")


# -- queue status ---------------------------------------------------------------------------
def test_queue_status_sqs(aws: None, boto: Any) -> None:
    sqs = boto.client("sqs")
    urls = create_queues(sqs, STAGE)
    for body in ("a", "b", "c"):
        sqs.send_message(QueueUrl=urls["EventsQueue"], MessageBody=body)
    sqs.send_message(QueueUrl=urls["EventsDeadLetterQueue"], MessageBody="dead")
    result = run("queue", "status", "--stage", STAGE)
    assert result.exit_code == 0, result.output
    rows = {line.rsplit(None, 1)[0].strip(): line.rsplit(None, 1)[1] for line in result.output.splitlines()}
    assert rows["waiting"] == "3" and rows["dead letters"] == "1" and rows["in flight"] == "0"


def test_queue_status_redis(redis_client: Any, redis_url: str) -> None:
    job = {"class": "ProcessRequestJob", "enqueued_at": time.time() - 42}
    redis_client.lpush("queue:default", json.dumps(job), json.dumps({**job, "enqueued_at": time.time()}))
    redis_client.zadd("dead", {"x": 1})
    result = run("queue", "status", "--redis-url", redis_url)
    assert result.exit_code == 0, result.output
    rows = {line.split()[0]: line.split()[1:] for line in result.output.splitlines()}
    assert rows["waiting"] == ["2"] and rows["dead"] == ["set", "1"]
    assert 41 <= int(rows["oldest"][0]) <= 60


def test_queue_status_bad_input(aws: None) -> None:
    assert_one_line_error(run("queue", "status", "--stage", "missing"), "NonExistentQueue")
    assert_one_line_error(run("queue", "status", "--redis-url", "redis://127.0.0.1:1/0"), "cannot read")


# -- rollup ---------------------------------------------------------------------------------
def test_rollup_seals_a_closed_bucket_and_exports_its_hour(tables: Any, boto: Any) -> None:
    from tally_store.base import TOTAL, Bucket, CounterUpdate
    from tally_store.dynamodb import DynamoDBStore

    store = DynamoDBStore(f"tally-{STAGE}-events", f"tally-{STAGE}-aggregates")
    minute = Bucket("shop", "m", "2026-11-23T13:20")
    event = {"event_id": "e1", "site": "shop", "name": "pageview", "path": "/",
             "event_time": "2026-11-23T13:20:05.000Z", "visitor_id": "v1"}  # fmt: skip
    assert store.write_events([(event, 30)], 1_795_440_000).wait() == []
    store.add_counters([CounterUpdate(minute, TOTAL, {"pv": 2}, mark=True)], 0)  # counted twice live

    s3 = boto.client("s3")
    assert_one_line_error(run("rollup", "--stage", STAGE), "rollup: s3 put_object: NoSuchBucket")  # no bucket
    assert store.bucket_state(Bucket("shop", "h", "2026-11-23T13")).dirty, "the hour waits for its export"
    s3.create_bucket(Bucket=f"tally-{STAGE}-export")
    result = run("rollup", "--stage", STAGE)
    assert result.exit_code == 0, result.output
    assert "sealed 2" in result.output  # the hour (its minute sealed in the failed run), then its day
    total = store.counts([(minute, TOTAL)])[(minute, TOTAL)]
    assert total.sealed is not None and total.sealed["pv"] == 1 and not total.state.dirty
    key = "events/site=shop/date=2026-11-23/hour=13/shop-2026-11-23T13.ndjson.gz"
    exported = records.read(s3.get_object(Bucket=f"tally-{STAGE}-export", Key=key)["Body"].read())
    assert [line["event_id"] for line in exported] == ["e1"]


def test_rollup_without_export(tables: Any) -> None:
    from tally_store.base import TOTAL, Bucket, CounterUpdate
    from tally_store.dynamodb import DynamoDBStore

    store = DynamoDBStore(f"tally-{STAGE}-events", f"tally-{STAGE}-aggregates")
    event = {"event_id": "e1", "site": "shop", "name": "pageview", "event_time": "2026-11-23T13:20:05.000Z"}
    assert store.write_events([(event, 30)], 1_795_440_000).wait() == []
    store.add_counters([CounterUpdate(Bucket("shop", "m", "2026-11-23T13:20"), TOTAL, {"pv": 1}, mark=True)], 0)
    result = run("rollup", "--store", f"dynamodb://{STAGE}", "--no-export")  # the stage has no bucket: none tried
    assert result.exit_code == 0 and "sealed 3" in result.output, result.output


def test_rollup_bad_input(aws: None) -> None:
    assert_one_line_error(run("rollup", "--stage", "missing"), "rollup")


# -- worker and up: bad input (their happy paths run as processes in test_cli_local.py) -----
def test_worker_bad_input() -> None:
    assert_one_line_error(run("worker", "--redis-url", "http://x"), "--redis-url")
    assert_one_line_error(run("worker", "--redis-url", "redis://127.0.0.1:1/0", "--stage", STAGE), "cannot reach")
    assert_one_line_error(run("worker"), "--redis-url")


def test_up_bad_input(isolated: Path) -> None:
    assert_one_line_error(run("up", "--queue", "ftp://x"), "--queue")
    assert_one_line_error(run("up", "--queue", "sqs://tally-x-events"), "needs --aws-emulator")
    assert_one_line_error(run("up", "--aws-emulator", "--batch-size", "50", "--batch-window", "0"), "batch window")
    assert_one_line_error(run("up", "--port", "70000"), "--port")
    data = str(isolated.parent / "data")
    assert_one_line_error(run("up", "--jobs", "no.such.module", "--port", "0", "--data-dir", data), "cannot import it")


def test_up_reports_a_busy_port() -> None:
    import socket

    from tests.support.servers import free_port

    for flag in ("--aws-port", "--port"):
        with socket.socket() as busy:
            busy.bind(("127.0.0.1", 0))
            busy.listen()
            ports = {"--aws-port": str(free_port()), "--port": str(free_port())}
            ports[flag] = str(busy.getsockname()[1])
            result = run("up", "--aws-emulator", *[item for pair in ports.items() for item in pair])
        assert_one_line_error(result, "in use")
    with socket.socket() as busy:  # the default needs the API's port only
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        assert_one_line_error(run("up", "--port", str(busy.getsockname()[1])), "in use")
