"""`tally up` and `tally worker` as real processes: events over plain HTTP, counted in the
aggregates, a clean stop on SIGINT/SIGTERM with no process left behind."""

import json
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tally_contract import sites as site_model
from tally_contract.queues.redis_queue import RedisQueue
from tests.support import raw_store
from tests.support.jobs import tally_job
from tests.support.local_up import EMULATOR, aws_client, cli_env, start_up, tally
from tests.support.servers import free_port
from tests.support.waiting import wait_for

__all__ = ["start_up"]  # the fixture: `tally up` as a process on free ports (tests/support/local_up.py)
pytestmark = pytest.mark.slow
HUMAN = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"


def _session_members(sid: int) -> list[int]:
    """Every live process in the session ``sid`` (what start_new_session gave the child)."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[3]) == sid and fields[0] != "Z":  # fields: state ppid pgrp session ...
            members.append(int(entry.name))
    return members


def _port_closed(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return False
    except OSError:
        return True


def _counted(client: Any, table: str) -> int:
    items = client.scan(
        TableName=table,
        FilterExpression="begins_with(pk, :m) AND sk = :total",
        ExpressionAttributeValues={":m": {"S": "local#m#"}, ":total": {"S": "total#"}},
    )["Items"]
    return sum(int(item.get("pv", {}).get("N", "0")) for item in items)


def _views(tmp_path: Path) -> int:
    """Pageviews of the last hours as `tally stats --json` reports them."""
    stats = json.loads(tally(tmp_path, "stats", "--by", "h", "--last", "2", "--json").stdout)
    return int(stats["totals"]["views"])


def _post(api_url: str, write_key: str, secret: str, events: list[dict[str, Any]]) -> dict[str, Any]:
    request = urllib.request.Request(
        f"{api_url}/events?key={write_key}",
        data=json.dumps({"batch": events}).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {secret}"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 202
        answer: dict[str, Any] = json.loads(response.read())
        return answer


def _stop_and_check(proc: "subprocess.Popen[str]", state: dict[str, Any], sig: int) -> str:
    assert _session_members(proc.pid) == [proc.pid]  # threads only: no child processes
    proc.send_signal(sig)
    proc.wait(timeout=60)
    output: str = state["log"].read_text()
    assert proc.returncode == 0, output
    assert _session_members(proc.pid) == []
    assert _port_closed(state["api_port"]) and (state["aws_port"] is None or _port_closed(state["aws_port"]))
    assert not state["file"].exists()
    assert "Traceback" not in output
    return output


def test_up_counts_events_sent_over_http_and_stops_cleanly(start_up: Any, tmp_path: Path) -> None:
    proc, state = start_up()
    api = state["api_url"]
    assert api == f"http://127.0.0.1:{state['api_port']}/local"  # the stage's prefix (`tally up`'s default stage)
    assert state["queue_url"].startswith("sqlite://") and state["store_url"].startswith("sqlite://")
    with urllib.request.urlopen(f"{api}/health", timeout=10) as response:
        assert response.status == 200
    events = [{"url": f"https://shop.example.com/p{i % 3}", "ip": f"198.51.100.{i}", "user_agent": HUMAN}
              for i in range(7)]  # fmt: skip
    assert _post(api, state["write_key"], state["secret_key"], events)["accepted"] == 7
    assert wait_for(lambda: _views(tmp_path) == 7, 90, "7 pageviews counted", proc)

    stats = tally(tmp_path, "stats", "--last", "3")
    assert ["total", "7"] in [line.split()[:2] for line in stats.stdout.splitlines()]
    queue = tally(tmp_path, "queue", "status")
    assert "waiting    0" in queue.stdout and "dead set   0" in queue.stdout

    output = _stop_and_check(proc, state, signal.SIGINT)
    assert f'<script defer src="{api}/t.js" data-key="{state["write_key"]}"></script>' in output
    assert f"{api}/dashboard/" in output and "Ctrl-C" in output
    assert state["secret_key"] not in output
    # A person reads the terminal: one line per batch, no JSON, no emulator warnings.
    assert re.search(r"^\d\d:\d\d:\d\d batch +\d+ jobs +0 failed", output, re.M), output
    assert "{" not in output.replace(state["api_url"], "") and "Moto" not in output


def test_up_keeps_its_data_and_keys_across_a_restart(start_up: Any, tmp_path: Path) -> None:
    proc, first = start_up()
    events = [{"url": "https://shop.example.com/", "ip": "203.0.113.7", "user_agent": HUMAN}] * 3
    assert _post(first["api_url"], first["write_key"], first["secret_key"], events)["accepted"] == 3
    wait_for(lambda: _views(tmp_path) == 3, 60, "3 pageviews counted", proc)
    _stop_and_check(proc, first, signal.SIGTERM)
    proc, again = start_up()
    keys = ("write_key", "secret_key", "admin_password", "site_id")
    assert {k: again[k] for k in keys} == {k: first[k] for k in keys}
    assert _views(tmp_path) == 3
    assert _post(again["api_url"], first["write_key"], first["secret_key"], events)["accepted"] == 3
    wait_for(lambda: _views(tmp_path) == 6, 60, "6 pageviews counted", proc)
    _stop_and_check(proc, again, signal.SIGTERM)


def test_up_on_the_aws_emulator(start_up: Any, tmp_path: Path) -> None:
    proc, state = start_up(EMULATOR)
    assert state["queue_url"].startswith("sqs://") and not state["store_url"]
    events = [{"url": "https://shop.example.com/", "ip": f"203.0.113.{i}", "user_agent": HUMAN} for i in range(4)]
    assert _post(state["api_url"], state["write_key"], state["secret_key"], events)["accepted"] == 4
    dynamodb = aws_client(state, "dynamodb")
    wait_for(lambda: _counted(dynamodb, "tally-local-aggregates") == 4, 90, "4 pageviews counted", proc)
    assert _views(tmp_path) == 4
    output = _stop_and_check(proc, state, signal.SIGTERM)
    assert "No Moto CloudFormation support" not in output


def test_up_with_the_redis_queue(start_up: Any, tmp_path: Path, redis_url: str, redis_client: Any) -> None:
    proc, state = start_up("--queue", redis_url)
    assert state["queue_url"] == redis_url
    events = [{"url": "https://shop.example.com/", "ip": f"203.0.113.{i}", "user_agent": HUMAN} for i in range(4)]
    assert _post(state["api_url"], state["write_key"], state["secret_key"], events)["accepted"] == 4
    wait_for(lambda: _views(tmp_path) == 4, 90, "4 pageviews counted", proc)
    # Ingest queued on Redis (Sidekiq's queues set) and the Redis worker emptied the queue.
    assert redis_client.smembers("queues") == {b"default"} and redis_client.llen("queue:default") == 0
    _stop_and_check(proc, state, signal.SIGTERM)


def test_worker_command_consumes_redis(tmp_path: Path, redis_url: str, redis_client: Any) -> None:
    from tally_cli.local.emulator import Emulator
    from tally_contract.sites_dynamodb import to_item

    emulator = Emulator(free_port())
    emulator.start()
    try:
        deployed = emulator.deploy("w")
        dynamodb = emulator.client("dynamodb")
        dynamodb.put_item(TableName=deployed.sites_table, Item=to_item(site_model.create("shop").site))
        assert RedisQueue(redis_client).push("default", [tally_job(f"w-{i}") for i in range(5)]) == []
        env = cli_env(tmp_path, AWS_ENDPOINT_URL=emulator.endpoint_url, AWS_ACCESS_KEY_ID="x",
                   AWS_SECRET_ACCESS_KEY="x", AWS_DEFAULT_REGION="us-east-1")  # fmt: skip
        proc = subprocess.Popen([sys.executable, "-m", "tally_cli", "worker", "--redis-url", redis_url,
                                 "--stage", "w", "--batch-size", "10"], env=env, cwd=tmp_path,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # fmt: skip
        try:
            stored = lambda: raw_store.stored_count(dynamodb, deployed.events_table) == 5  # noqa: E731
            drained = lambda: redis_client.llen("queue:default") == 0  # noqa: E731
            wait_for(stored, 60, "5 events", proc)
            wait_for(drained, 10, "an empty queue")
        finally:
            proc.send_signal(signal.SIGTERM)
            output, _ = proc.communicate(timeout=60)
        assert proc.returncode == 0, output
        assert "stopped" in output
    finally:
        emulator.stop()


def test_make_install_puts_a_tally_command_in_the_venv(tmp_path: Path) -> None:
    """`make install` runs `pip install -e .`: the console script exists and starts."""
    script = Path(sys.executable).parent / "tally"
    assert script.exists(), "no tally script next to the interpreter: run `make install`"
    started = time.monotonic()
    result = subprocess.run([str(script), "--help"], env=cli_env(tmp_path), cwd=tmp_path, capture_output=True,
                            text=True, timeout=60, check=True)  # fmt: skip
    assert "up" in result.stdout and "send" in result.stdout
    assert time.monotonic() - started < 10  # lazy subcommands: --help imports no AWS or Redis code
    heavy = ("boto3", "botocore", "moto", "redis", "chalice")
    code = (
        "import sys, tally_cli.main as m; m.cli(['--help'], standalone_mode=False); "
        f"print(sorted(n for n in sys.modules if n.split('.')[0] in {heavy!r}))"
    )
    imported = subprocess.run([sys.executable, "-c", code], env=cli_env(tmp_path), cwd=tmp_path, capture_output=True,
                              text=True, timeout=60, check=True)  # fmt: skip
    assert imported.stdout.strip().splitlines()[-1] == "[]"


def test_up_log_format_json_keeps_the_emf_lines(start_up: Any, tmp_path: Path) -> None:
    proc, state = start_up("--log-format", "json")
    events = [{"url": "https://shop.example.com/", "ip": "203.0.113.4", "user_agent": HUMAN}] * 3
    assert _post(state["api_url"], state["write_key"], state["secret_key"], events)["accepted"] == 3
    wait_for(lambda: '"kind": "batch"' in state["log"].read_text(), 60, "a batch line", proc)
    output = _stop_and_check(proc, state, signal.SIGTERM)
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    batch = next(line for line in lines if line.get("kind") == "batch")
    assert (batch["size"], batch["failed"]) == (3, 0)  # a job an event
    metrics = {
        m["Name"] for line in lines for d in line.get("_aws", {}).get("CloudWatchMetrics", []) for m in d["Metrics"]
    }
    assert {"EventsAccepted", "BatchSize", "RecordsProcessed"} <= metrics
