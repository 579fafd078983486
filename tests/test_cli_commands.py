"""Every `tally` command through click's runner, each with a bad-input case."""

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from tally_cli.main import COMMANDS, cli
from tests.infra import create_queues, create_table

STAGE = "t"


# What commands set in their own process (the pipeline's settings, local mode's endpoint):
# restored after each test so nothing leaks into the next.
PROCESS_ENV = ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
               "AWS_DEFAULT_REGION", "AWS_REGION", "TALLY_STAGE", "TALLY_QUEUE_URL", "TALLY_SITES_TABLE",
               "TALLY_EVENTS_TABLE", "TALLY_AGGREGATES_TABLE", "TALLY_DLQ", "TALLY_SITE_CACHE_SECONDS",
               "POWERTOOLS_METRICS_DISABLED", "POWERTOOLS_LOG_LEVEL")  # fmt: skip


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """No local-mode state and an empty config file, whatever this machine has."""
    from tally_contract import aws

    config = tmp_path / "config.toml"
    config.write_text("")
    for name in PROCESS_ENV:
        if name in os.environ:
            monkeypatch.setenv(name, os.environ[name])
        else:
            monkeypatch.setenv(name, "")
            monkeypatch.delenv(name)
    monkeypatch.setenv("TALLY_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("TALLY_CONFIG", str(config))
    yield config
    aws.reset()  # clients built for another endpoint


@pytest.fixture
def tables(aws: None, boto: Any) -> Any:
    client = boto.client("dynamodb")
    for logical_id in ("SitesTable", "EventsTable", "AggregatesTable"):
        create_table(client, STAGE, logical_id)
    return client


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def assert_one_line_error(result: Result, text: str) -> None:
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and text in errors[0], result.output


# -- the root group -------------------------------------------------------------------------
@pytest.mark.parametrize("path", [["--help"], *[[name, "--help"] for name in COMMANDS]])
def test_every_command_has_help_with_an_example(path: list[str]) -> None:
    result = run(*path)
    assert result.exit_code == 0
    assert "tally " in result.output.split("Options:")[0]


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
def _counter(client: Any, pk: str, sk: str, **numbers: int) -> None:
    item = {"pk": {"S": pk}, "sk": {"S": sk}, **{k: {"N": str(v)} for k, v in numbers.items()}}
    if sk == "total#" and "spv" not in numbers:
        item["dirty"] = {"S": "1"}
    client.put_item(TableName=f"tally-{STAGE}-aggregates", Item=item)


def test_stats_prints_the_series_and_top_pages(tables: Any) -> None:
    from tally_cli.aggregates import buckets

    earlier, now = buckets("m", 2)
    _counter(tables, f"shop#m#{earlier}", "total#", pv=9, ev=9, spv=7, sev=8, suv=3, sbots=1, bots=2)
    _counter(tables, f"shop#m#{earlier}", "page#/pricing", pv=9, spv=7)
    _counter(tables, f"shop#m#{now}", "total#", pv=4, ev=5, bots=1)
    _counter(tables, f"shop#m#{now}", "page#/", pv=3)
    _counter(tables, f"shop#m#{now}", "page#/pricing", pv=1)

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
def test_rollup_seals_a_closed_bucket(tables: Any) -> None:
    from processor_lambda import keys

    bucket = "2026-11-23T13:20"
    pk = keys.event_pk("shop", "2026-11-23T13:20:05.000Z", "e1")
    event = {"id": "e1", "s": "shop", "n": "pageview", "t": "2026-11-23T13:20:05.000Z", "v": "v1", "bot": False}
    tables.put_item(
        TableName=f"tally-{STAGE}-events",
        Item={"pk": {"S": pk}, "sk": {"S": "2026-11-23T13:20:05.000Z#e1"}, "n": {"S": "pageview"},
              "p": {"S": "/"}, "e": {"S": json.dumps(event)}},
    )  # fmt: skip
    _counter(tables, f"shop#m#{bucket}", "total#", pv=2, ver=1)

    result = run("rollup", "--stage", STAGE)
    assert result.exit_code == 0, result.output
    assert "sealed 1" in result.output
    total = tables.get_item(TableName=f"tally-{STAGE}-aggregates", Key={"pk": {"S": f"shop#m#{bucket}"},
                                                                        "sk": {"S": "total#"}})["Item"]  # fmt: skip
    assert total["spv"] == {"N": "1"} and "dirty" not in total


def test_rollup_bad_input(aws: None) -> None:
    assert_one_line_error(run("rollup", "--stage", "missing"), "rollup")


# -- send -----------------------------------------------------------------------------------
@pytest.fixture
def local_api(ingest: Any) -> Any:
    from app import app
    from tally_cli.local.http_server import LocalHttpServer

    server = LocalHttpServer(app, "127.0.0.1", 0)
    server.start()
    yield server, ingest
    server.stop()


def test_send_posts_batches_with_identity(local_api: Any) -> None:
    server, ingest = local_api
    result = run(
        "send", "--api-url", server.base_url, "--key", ingest.site.write_key, "--secret-key", ingest.secret,
        "-n", "45", "--batch-size", "20", "--seed", "7",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "sent 45 events in 3 requests" in result.output and "accepted 45, rejected 0" in result.output
    events = ingest.events()
    assert len(events) == 45
    assert all(e["ip"] and e["user_agent"] and e["url"].startswith("https://shop.example.com/") for e in events)
    assert any("bot" in e["user_agent"].lower() for e in events)
    assert len({e["url"] for e in events}) > 3


def test_send_reports_rejections_and_bad_input(local_api: Any) -> None:
    server, _ = local_api
    result = run("send", "--api-url", server.base_url, "--key", "wk_unknown", "-n", "3")
    assert_one_line_error(result, "no event was accepted")
    assert "rejected 3: 401 unauthorized" in result.output
    assert_one_line_error(run("send", "--api-url", "ftp://x", "--key", "k"), "--api-url")
    assert_one_line_error(run("send", "-n", "3"), "--api-url is required")
    assert_one_line_error(run("send", "--api-url", "http://127.0.0.1:1/api", "--key", "k"), "cannot reach")
    assert_one_line_error(run("send", "--api-url", server.base_url, "--key", "k", "--batch-size", "101"), "101")


def _http(method: str, url: str, body: bytes | None = None, headers: dict[str, str] | None = None) -> Any:
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, data=body, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def test_local_http_server_speaks_api_gateway(local_api: Any) -> None:
    import gzip

    server, ingest = local_api
    key = ingest.site.write_key
    body = gzip.compress(json.dumps({"batch": [{"url": "https://shop.example.com/a"}, {"name": "signup"}]}).encode())
    status, _, answer = _http("POST", f"{server.base_url}/events?key={key}", body,
                              {"Content-Type": "application/json", "Content-Encoding": "gzip"})  # fmt: skip
    assert status == 202 and json.loads(answer)["accepted"] == 2  # the gzip body arrived as bytes
    status, headers, gif = _http("GET", f"{server.base_url}/i.gif?key={key}&url=https%3A%2F%2Fshop.example.com%2Fp")
    assert status == 202 and headers["Content-Type"] == "image/gif" and gif.startswith(b"GIF")
    status, headers, script = _http("GET", f"{server.base_url.removesuffix('/api')}/t.js")  # no stage prefix
    assert status == 200 and b"sendBeacon" in script
    preflight = {"Origin": "https://shop.example.com", "Access-Control-Request-Method": "POST"}
    status, headers, _ = _http("OPTIONS", f"{server.base_url}/events?key={key}", headers=preflight)
    assert status in (200, 204) and headers["Access-Control-Allow-Origin"] == "https://shop.example.com"
    assert _http("GET", f"{server.base_url}/nope")[0] == 403  # API Gateway's answer to an unknown route
    assert _http("DELETE", f"{server.base_url}/events")[0] == 405
    assert [e["url"] for e in ingest.events()][:1] == ["https://shop.example.com/a"]
    assert len(ingest.events()) == 3


# -- worker and up: bad input (their happy paths run as processes in test_cli_local.py) -----
def test_worker_bad_input() -> None:
    assert_one_line_error(run("worker", "--redis-url", "http://x"), "--redis-url")
    assert_one_line_error(run("worker", "--redis-url", "redis://127.0.0.1:1/0", "--stage", STAGE), "cannot reach")
    assert_one_line_error(run("worker"), "--redis-url")


def test_up_bad_input() -> None:
    assert_one_line_error(run("up", "--backend", "redis"), "--redis-url")
    assert_one_line_error(run("up", "--batch-size", "50", "--batch-window", "0"), "batch window")
    assert_one_line_error(run("up", "--port", "70000"), "--port")


def test_up_reports_a_busy_port() -> None:
    import socket

    from tests.servers import free_port

    for flag in ("--aws-port", "--port"):
        with socket.socket() as busy:
            busy.bind(("127.0.0.1", 0))
            busy.listen()
            ports = {"--aws-port": str(free_port()), "--port": str(free_port())}
            ports[flag] = str(busy.getsockname()[1])
            result = run("up", *[item for pair in ports.items() for item in pair])
        assert_one_line_error(result, "in use")
