"""Least privilege, both ways.

Every functional and end-to-end test already fails when a handler makes an AWS call its
function's policy does not allow (the autouse fixture of tests/support/iam_fixtures.py,
tests/support/iam_audit.py). This module runs every
path that touches AWS (ingest, health, a processor batch with good, poison, oversized and
failing jobs, a second processor instance, the rollup, every dashboard route (the Stats API too) and sign-in)
against the stack of each stage, and fails when a policy grants an action on a resource that
no path used: a grant nobody needs. And each function's log grants name its own log group, and
the function strangers reach holds nothing of the dashboard's.
"""

import base64
import json
import os
import time
from typing import Any
from urllib.parse import urlencode

import pytest

from processor_lambda import entry
from tally_contract import envelope
from tally_contract.envelope import JobOptions
from tests.support import iam_audit
from tests.support.dashboard_harness import cookie_value
from tests.support.jobs import tally_job
from tests.support.stack import Stack, deployed

# Grants the code never exercises because AWS uses them on the function's behalf: the Lambda
# runtime writes the logs; the SQS event source mapping polls and deletes with the role of
# the function it invokes.
LOGS = {"logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"}
USED_BY_AWS = {
    "api_handler": LOGS,
    "rollup": LOGS,
    "dashboard": LOGS,
    "purge": LOGS,
    "rollup_worker": LOGS | {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"},
    "process_events": LOGS | {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"},
}


# Actions IAM cannot scope to a resource (the service authorises them only on "*").
NO_RESOURCE_LEVEL = {"cloudwatch:GetMetricStatistics"}


def test_policies_name_no_wildcard_beyond_log_streams() -> None:
    for stage in iam_audit.STAGES:
        for function in iam_audit.FUNCTIONS:
            for sid, actions, resources in iam_audit.statements(iam_audit.policy(function, stage)):
                assert all("*" not in action for action in actions), (stage, function, sid)
                if all(a.startswith("logs:") or a in NO_RESOURCE_LEVEL for a in actions):
                    continue  # logs: test_each_function_logs_only_to_its_own_log_group
                for resource in resources:
                    name = resource.rsplit(":", 1)[-1]
                    if resource.startswith("arn:aws:s3:::"):  # the export bucket, objects under one prefix
                        bucket, _, keys = resource.removeprefix("arn:aws:s3:::").partition("/")
                        assert bucket == f"tally-{stage}-export" and keys in ("events/*", ""), (stage, resource)
                        assert keys or actions == ["s3:ListBucket"], (stage, function, sid)
                        continue
                    named = f"tally-{stage}-" in name or name.startswith(f"parameter/tally/{stage}/")
                    assert "*" not in name and named, (stage, function, sid, resource)


def test_only_the_rollup_worker_writes_exports_and_only_export_files() -> None:
    """Three S3 grants in all: the rollup worker may put objects under events/ of its stage's
    export bucket (it can neither read them back, list, delete, nor write anywhere else); the
    purge may list the bucket and delete under events/ (a deleted site's files), nothing more."""
    for stage in iam_audit.STAGES:
        grants = {(function, action, resource) for function in iam_audit.FUNCTIONS
                  for _, actions, resources in iam_audit.statements(iam_audit.policy(function, stage))
                  for action in actions for resource in resources if action.startswith("s3:")}  # fmt: skip
        bucket = f"arn:aws:s3:::tally-{stage}-export"
        assert grants == {("rollup_worker", "s3:PutObject", f"{bucket}/events/*"), ("purge", "s3:ListBucket", bucket),
                          ("purge", "s3:DeleteObject", f"{bucket}/events/*")}  # fmt: skip
        purge = iam_audit.policy("purge", stage)
        for action, arn in [("s3:GetObject", f"{bucket}/events/x"), ("s3:PutObject", f"{bucket}/events/x"),
                            ("s3:DeleteObject", f"{bucket}/other/x")]:  # fmt: skip
            assert not iam_audit.allowed(purge, action, arn), (stage, action, arn)
        worker = iam_audit.policy("rollup_worker", stage)
        assert iam_audit.allowed(worker, "s3:PutObject", f"{bucket}/events/site=shop/date=2026-11-23/hour=13/x.gz")
        for action, arn in [("s3:GetObject", f"{bucket}/events/x"), ("s3:DeleteObject", f"{bucket}/events/x"),
                            ("s3:ListBucket", bucket), ("s3:PutObject", f"{bucket}/other/x"),
                            ("s3:PutObject", f"arn:aws:s3:::tally-{stage}-exports/events/x"),
                            ("s3:PutBucketPolicy", bucket)]:  # fmt: skip
            assert not iam_audit.allowed(worker, action, arn), (stage, action, arn)


def test_each_function_logs_only_to_its_own_log_group() -> None:
    """The log grants name the function's own group (its streams under ``:*``), under the
    name `chalice deploy` gives the function, and sit in a statement of their own."""
    for stage in iam_audit.STAGES:
        names = deployed_function_names(stage)
        for function in iam_audit.FUNCTIONS:
            assert names[function] == iam_audit.function_name(function, stage)
            group = f"arn:aws:logs:*:*:log-group:/aws/lambda/{names[function]}"
            logs = [(actions, resources) for _, actions, resources in iam_audit.statements(
                iam_audit.policy(function, stage)) if any(a.startswith("logs:") for a in actions)]  # fmt: skip
            assert len(logs) == 1, (stage, function, logs)
            (actions, resources) = logs[0]
            assert set(actions) == LOGS and set(resources) == {group, f"{group}:*"}, (stage, function, resources)
            for other in set(names.values()) - {names[function]}:
                stream = f"arn:aws:logs:us-east-1:{iam_audit.ACCOUNT}:log-group:/aws/lambda/{other}:log-stream:x"
                assert not iam_audit.allowed(iam_audit.policy(function, stage), "logs:PutLogEvents", stream)


def deployed_function_names(stage: str) -> dict[str, str]:
    """Each function's name from Chalice's own deploy planner (what `chalice deploy` creates)."""
    from chalice.config import Config
    from chalice.deploy.appgraph import ApplicationGraphBuilder
    from chalice.deploy.models import LambdaFunction

    from app import app
    from dashboard_app.app import app as dashboard

    names = {}
    for project, chalice_app in (("ingest", app), ("dashboard", dashboard)):
        params = {"chalice_app": chalice_app, "project_dir": str(iam_audit.PROJECTS[project])}
        config = Config(chalice_stage=stage, user_provided_params=params, config_from_disk=iam_audit.CONFIGS[project])
        pending: list[Any] = [ApplicationGraphBuilder().build(config, stage)]
        while pending:  # the functions hang off the REST API, the event source and the schedule
            resource = pending.pop()
            pending += resource.dependencies()
            if isinstance(resource, LambdaFunction):
                is_api = project == "dashboard" and resource.resource_name == "api_handler"
                function = "dashboard" if is_api else resource.resource_name
                names[function] = resource.function_name
    return names


def test_the_function_strangers_reach_cannot_read_the_admin_secret_or_touch_the_dlq() -> None:
    region = f"us-east-1:{iam_audit.ACCOUNT}"
    for stage in iam_audit.STAGES:
        ingest = iam_audit.policy("api_handler", stage)
        dlq = f"arn:aws:sqs:{region}:tally-{stage}-events-dlq"
        refused = [("ssm:GetParameter", f"arn:aws:ssm:{region}:parameter/tally/{stage}/admin")]
        refused += [(action, dlq) for action in ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:SendMessage",
                                                   "sqs:GetQueueAttributes", "sqs:PurgeQueue")]  # fmt: skip
        refused += [(f"dynamodb:{action}", f"arn:aws:dynamodb:{region}:table/tally-{stage}-{table}")
                    for action in ("GetItem", "Query", "Scan", "PutItem") for table in ("auth", "aggregates", "events",
                                                                                        "sites")
                    if table != "aggregates" or action in ("Query", "Scan")]  # fmt: skip
        refused += [("sqs:ReceiveMessage", f"arn:aws:sqs:{region}:tally-{stage}-events")]
        for action, arn in refused:
            assert not iam_audit.allowed(ingest, action, arn), (stage, action, arn)
        granted = {a for _, actions, _ in iam_audit.statements(ingest) for a in actions}
        assert granted == LOGS | {"sqs:SendMessage", "sqs:GetQueueUrl", "sqs:GetQueueAttributes", "dynamodb:Query",
                                  "dynamodb:GetItem", "dynamodb:PutItem"}  # fmt: skip
        # The aggregates table only for the daily salts (ingest computes visitor ids before
        # queueing): GetItem and PutItem of the items whose key is "salt", nothing else of it.
        (salts,) = [s for s in ingest["Statement"] if "aggregates" in str(s["Resource"])]
        assert sorted(salts["Action"]) == ["dynamodb:GetItem", "dynamodb:PutItem"]
        assert salts["Condition"] == {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["salt"]}}


def exercise_every_path(stack: Stack) -> None:
    """Each AWS-touching path of the three functions, through app.py's handlers."""
    assert stack.post([{"url": "https://shop.example.com/"}]).status == 202
    plausible = b'{"n": "pageview", "u": "https://shop.example.com/", "d": "shop.example.com"}'
    headers = {"Content-Type": "text/plain", "Accept": "*/*"}
    assert stack.request("POST", "/api/event", body=plausible, headers=headers).status == 202  # site by domain
    assert stack.get("/health").status == 200
    stack.process(stack.receive())
    # A job delivered again beside another of its shard and minute ("a" and "c"): its event
    # lands in a second, larger pack, and sealing the minute deletes the first (DeleteItem).
    for bodies in ([tally_job("a")], [tally_job("a"), tally_job("c")]):
        for body in bodies:
            stack.client("sqs").send_message(QueueUrl=stack.outputs["EventsQueueUrl"], MessageBody=body)
        stack.process(stack.receive())
    # A poison job, an event too large for DynamoDB even compressed (BatchWriteItem refuses the
    # batch, each pack is retried alone), and a job whose handler fails (the others are deleted).
    sqs = stack.client("sqs")
    huge = envelope.build([{"site": "shop", "url": "https://shop.example.com/", "received_at": 1795440000,
                            "properties": {"blob": base64.b64encode(os.urandom(450_000)).decode()}}])  # fmt: skip
    flaky = envelope.build([1], JobOptions(job_class="Flaky"))
    stack.post([{"url": "https://shop.example.com/a"}])
    for body in ("not a job", envelope.encode(huge), envelope.encode(flaky)):
        sqs.send_message(QueueUrl=stack.outputs["EventsQueueUrl"], MessageBody=body)
    entry.sqs_handler().pipeline.registry.register("Flaky", _fail)
    with pytest.raises(Exception, match="will be retried"):
        stack.process(stack.receive())
    # A fresh instance finds the day's salt already made.
    entry.reset()
    stack.post([{"url": "https://shop.example.com/b"}])
    stack.process(stack.receive())
    entry.rollup(entry.build_rollup(clock=lambda: 4_000_000_000.0))
    # The schedule sends the closed minutes to the rollup queue, the worker seals them; then
    # their hours, then their days. A run while work still waits sends nothing.
    assert stack.rollup()["sent"] > 0 and stack.rollup()["behind"]
    minutes = stack.rollup_work()
    assert minutes["sealed"] > 0 and minutes["packs_removed"] == 1
    for _ in range(2):
        assert stack.rollup()["sent"] > 0
        assert stack.rollup_work()["sealed"] > 0
    exercise_the_dashboard(stack)


def exercise_the_dashboard(stack: Stack) -> None:
    """Every read API call, the DLQ redrive (the poison job above is in the DLQ), a failed and
    a good login, a page read with the session and the logout."""
    import os

    from dashboard import runtime
    from dashboard.auth import provision_admin

    password = provision_admin(stack.client("ssm"), os.environ["TALLY_ADMIN_PARAMETER"])
    token = runtime.get().accounts().mint("iam", "admin", (), "test", time.time())[1]
    runtime.reset()  # so the app's own first request reads the credentials, under its policy
    assert sign_in(stack, "wrong", "198.51.100.1").status == 401
    assert sign_in(stack, "wrong", "198.51.100.1").status == 429
    session = cookie_value(sign_in(stack, password, "198.51.100.2"), "tally_session")
    page = stack.get("/dashboard", headers={"Cookie": f"tally_session={session}"})
    assert page.status == 200
    csrf = page.body.decode().split('name="csrf" content="', 1)[1].split('"', 1)[0]
    form = {"Cookie": f"tally_session={session}", "Content-Type": "application/x-www-form-urlencoded"}
    assert stack.request("POST", "/dashboard/logout", body=f"csrf={csrf}".encode(), headers=form).status == 303
    auth = {"Authorization": f"Bearer {token}"}
    day = {"site_id": "shop", "period": "day", "date": "2026-11-23"}
    reads = [("/stats/sites", None), ("/api/v1/stats/aggregate", day),
             ("/api/v1/stats/breakdown", {**day, "property": "event:page"}), ("/stats/events", {"site": "shop"}),
             ("/admin/health", None), ("/admin/dlq", None)]  # fmt: skip
    for path, query in reads:
        response = stack.get(path, headers=auth, query=query)
        assert response.status == 200, (path, response.body)
    headers = {**auth, "Content-Type": "application/json"}
    stats = {"site_id": "shop", "metrics": ["visitors"], "date_range": ["2026-11-23", "2026-11-23"]}
    response = stack.request("POST", "/api/v2/query", body=json.dumps(stats).encode(), headers=headers)
    assert response.status == 200, response.body  # reads its site by id (GetItem), then the aggregates
    response = stack.request("POST", "/admin/dlq/redrive", body=b"{}", headers=headers)
    assert response.status == 200 and response.json()["moved"] >= 1, response.body
    exercise_the_admin_api(stack, auth)


def exercise_the_admin_api(stack: Stack, auth: dict[str, str]) -> None:
    """Sites made, edited, listed and deleted (then purged); users and tokens listed; the audit log."""
    headers = {**auth, "Content-Type": "application/json"}
    for path in ("/admin/sites", "/admin/users", "/admin/tokens", "/admin/audit"):
        assert stack.get(path, headers=headers).status == 200, path
    made = stack.request("POST", "/admin/sites", body=b'{"site": "blog"}', headers=headers)
    assert made.status == 201, made.body
    edited = stack.request("PATCH", "/admin/sites/blog", body=b'{"retention_days": 30}', headers=headers)
    assert edited.status == 200, edited.body
    invited = stack.request("POST", "/admin/users", body=b'{"name": "vera", "sites": ["blog"]}', headers=headers)
    assert invited.status == 201, invited.body
    assert stack.request("DELETE", "/admin/sites/shop", headers=auth).status == 202
    report = stack.purge()
    assert report["pending"] == 1 and report["removed"] > 0, report


def sign_in(stack: Stack, password: str, source_ip: str) -> Any:
    form = stack.get("/dashboard/login")
    nonce = cookie_value(form, "tally_login")
    csrf = form.body.decode().split('name="csrf" value="', 1)[1].split('"', 1)[0]
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": f"tally_login={nonce}"}
    body = urlencode({"csrf": csrf, "password": password}).encode()
    return stack.request("POST", "/dashboard/login", body=body, headers=headers, source_ip=source_ip)


def _fail(arguments: list[Any], job: Any) -> None:
    raise ConnectionError("upstream down")


@pytest.mark.filterwarnings("ignore:Tried to parse AWS.+Alarm")
@pytest.mark.parametrize("stage", iam_audit.STAGES)
def test_every_grant_is_used(stage: str, monkeypatch: pytest.MonkeyPatch, iam_recorder: Any) -> None:
    with deployed(stage, monkeypatch) as stack:
        iam_recorder.take()
        exercise_every_path(stack)
        calls = iam_recorder.calls  # left for the autouse check: every one must be allowed too
        used = {(c.function, c.action.lower(), c.for_stage(stage)) for c in calls}
    unused = []
    for function in iam_audit.FUNCTIONS:
        for sid, actions, resources in iam_audit.statements(iam_audit.policy(function, stage)):
            for action in actions:
                if action in USED_BY_AWS[function]:
                    continue
                for resource in resources:
                    single = {"Statement": [{"Effect": "Allow", "Action": action, "Resource": resource}]}
                    if not any(f == function and iam_audit.allowed(single, a, arn) for f, a, arn in used):
                        unused.append(f"{function} {sid}: {action} on {resource}")
    assert not unused, "granted but never used:\n" + "\n".join(unused)


def test_the_audit_refuses_what_a_policy_does_not_name(monkeypatch: pytest.MonkeyPatch) -> None:
    queue = "arn:aws:sqs:us-east-1:123456789012:tally-test-events"
    send = iam_audit.Call("api_handler", "sqs:SendMessage", queue)
    assert iam_audit.violations([send]) == []
    assert send.for_stage("prod") == "arn:aws:sqs:us-east-1:123456789012:tally-prod-events"
    receive = iam_audit.Call("api_handler", "sqs:ReceiveMessage", queue)
    assert len(iam_audit.violations([receive])) == len(iam_audit.STAGES)
    other_queue = iam_audit.Call("api_handler", "sqs:SendMessage", queue + "-dlq")
    assert len(iam_audit.violations([other_queue])) == len(iam_audit.STAGES)
    # The ingest may query the write-key index, not the table itself.
    table = "arn:aws:dynamodb:us-east-1:123456789012:table/tally-test-sites"
    assert iam_audit.violations([iam_audit.Call("api_handler", "dynamodb:Query", table + "/index/by_write_key")]) == []
    assert iam_audit.violations([iam_audit.Call("api_handler", "dynamodb:Query", table)])
    with pytest.raises(AssertionError, match="not named tally-<stage>-<name>"):
        iam_audit.violations([iam_audit.Call("api_handler", "sqs:SendMessage", "arn:aws:sqs:us-east-1:1:events")])


def test_batch_calls_are_checked_as_their_single_action() -> None:
    class Meta:
        service_model = type("Model", (), {"signing_name": "sqs"})
        region_name = "us-east-1"

    recorder = iam_audit.Recorder()
    token = iam_audit.FUNCTION.set("process_events")
    try:
        url = "https://sqs.us-east-1.amazonaws.com/123456789012/tally-test-events"
        recorder.record(type("Client", (), {"meta": Meta})(), "DeleteMessageBatch", {"QueueUrl": url})
    finally:
        iam_audit.FUNCTION.reset(token)
    (call,) = recorder.take()
    assert (call.action, call.arn) == ("sqs:DeleteMessage", "arn:aws:sqs:us-east-1:123456789012:tally-test-events")
