"""infra/template.yaml: what the issue asks of it (statically, since moto skips alarms), and
the pipeline run end to end against the resources the stack creates in moto's CloudFormation,
under the names .chalice/config.json gives each stage."""

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tally_export import records
from tests.support.iam_audit import CONFIG, STAGES
from tests.support.infra import TEMPLATE
from tests.support.stack import Stack, deployed, stage_environment

ROOT = Path(__file__).resolve().parents[2]
T = yaml.safe_load(TEMPLATE.read_text())
R = T["Resources"]
alarms_skipped = pytest.mark.filterwarnings("ignore:Tried to parse AWS.+Alarm")


def _of_type(kind: str) -> dict[str, Any]:
    return {name: res["Properties"] for name, res in R.items() if res["Type"] == kind}


def test_queues_redrive_retain_encrypt_and_outlast_the_processor() -> None:
    dlq, queue = R["EventsDeadLetterQueue"]["Properties"], R["EventsQueue"]["Properties"]
    assert dlq["MessageRetentionPeriod"] == 14 * 86400
    assert dlq["SqsManagedSseEnabled"] is True and queue["SqsManagedSseEnabled"] is True
    assert queue["RedrivePolicy"]["maxReceiveCount"] == 5
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": ["EventsDeadLetterQueue", "Arn"]}
    for stage in STAGES:
        timeout = CONFIG["stages"][stage]["lambda_functions"]["process_events"]["lambda_timeout"]
        assert queue["VisibilityTimeout"] >= 6 * timeout, stage


def test_the_rollup_queue_redrives_and_outlasts_its_worker() -> None:
    dlq, queue = R["RollupDeadLetterQueue"]["Properties"], R["RollupQueue"]["Properties"]
    assert dlq["SqsManagedSseEnabled"] is True and queue["SqsManagedSseEnabled"] is True
    assert queue["RedrivePolicy"] == {"deadLetterTargetArn": {"Fn::GetAtt": ["RollupDeadLetterQueue", "Arn"]},
                                      "maxReceiveCount": 5}  # fmt: skip
    for stage in STAGES:
        timeout = CONFIG["stages"][stage]["lambda_functions"]["rollup_worker"]["lambda_timeout"]
        assert queue["VisibilityTimeout"] >= 6 * timeout, stage
        assert stage_environment(stage)["TALLY_ROLLUP_QUEUE_NAME"] == f"tally-{stage}-rollup"


def test_tables_are_on_demand_recoverable_encrypted_and_expire() -> None:
    tables = _of_type("AWS::DynamoDB::Table")
    assert set(tables) == {"SitesTable", "EventsTable", "AggregatesTable", "AuthTable"}
    for name, props in tables.items():
        assert props["BillingMode"] == "PAY_PER_REQUEST", name
        assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}, name
        assert props["SSESpecification"] == {"SSEEnabled": True}, name
    for name in ("EventsTable", "AggregatesTable"):
        assert tables[name]["TimeToLiveSpecification"] == {"AttributeName": "ttl", "Enabled": True}
    # Sessions and login backoff expire too; pk/sk leave room for users and API tokens.
    assert tables["AuthTable"]["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert [k["AttributeName"] for k in tables["AuthTable"]["KeySchema"]] == ["pk", "sk"]


def test_the_export_bucket_is_private_encrypted_tls_only_and_expires() -> None:
    bucket = R["ExportBucket"]["Properties"]
    assert bucket["BucketName"] == {"Fn::Sub": "tally-${Stage}-export"}
    (encryption,) = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert encryption["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}
    assert set(bucket["PublicAccessBlockConfiguration"].values()) == {True}
    assert len(bucket["PublicAccessBlockConfiguration"]) == 4
    rules = {rule["Id"]: rule for rule in bucket["LifecycleConfiguration"]["Rules"]}
    expire = rules["expire-exports"]
    assert expire["ExpirationInDays"] == {"Ref": "ExportRetentionDays"} and expire["Status"] == "Enabled"
    assert expire["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 1}
    (statement,) = R["ExportBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert R["ExportBucketPolicy"]["Properties"]["Bucket"] == {"Ref": "ExportBucket"}
    assert (statement["Effect"], statement["Principal"], statement["Action"]) == ("Deny", "*", "s3:*")
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert statement["Resource"] == [{"Fn::GetAtt": ["ExportBucket", "Arn"]}, {"Fn::Sub": "${ExportBucket.Arn}/*"}]
    for stage in STAGES:  # the rollup worker exports to its stage's bucket; no other function knows it
        functions = CONFIG["stages"][stage]["lambda_functions"]
        assert functions["rollup_worker"]["environment_variables"] == {"TALLY_EXPORT_BUCKET": f"tally-{stage}-export"}
        assert "TALLY_EXPORT_BUCKET" not in CONFIG["stages"][stage]["environment_variables"]


def test_every_alarm_pages_the_topic_and_the_email_is_optional() -> None:
    alarms = _of_type("AWS::CloudWatch::Alarm")
    assert {
        "DeadLetterAlarm", "QueueAgeAlarm", "ProcessorErrorsAlarm", "RollupErrorsAlarm",
        "Ingest5xxAlarm", "Ingest4xxAlarm", "DynamoThrottleAlarm", "RollupBacklogAlarm", "RollupDeadLetterAlarm",
    } == set(alarms)  # fmt: skip
    for name, props in alarms.items():
        assert props["AlarmActions"] == [{"Ref": "AlarmTopic"}], name
        # The backlog metric is emitted every minute: none at all means the rollup stopped.
        missing = "breaching" if name == "RollupBacklogAlarm" else "notBreaching"
        assert props["TreatMissingData"] == missing, name
        assert "docs/operations.md" in props["AlarmDescription"], name
    assert R["AlarmEmailSubscription"]["Condition"] == "HasAlarmEmail"
    assert T["Parameters"]["AlarmEmail"]["Default"] == ""


def test_dashboard_shows_the_metrics_the_code_emits() -> None:
    body = R["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    widgets = json.loads(body.replace("${Stage}", "dev").replace("${AWS::Region}", "us-east-1"))["widgets"]
    metrics = [m for w in widgets for m in w["properties"]["metrics"]]
    shown = {m[1] for m in metrics if m[0] == "Tally"}
    expressions = [m[0]["expression"] for m in metrics if isinstance(m[0], dict)]
    shown |= {name for e in expressions for name in re.findall(r'MetricName="(\w+)"', e)}
    emitted = set()
    for module in ("ingest_lambda/observability.py", "processor_lambda/observability.py"):
        emitted |= set(re.findall(r'name="(\w+)"', (ROOT / module).read_text()))
    emitted.add("ColdStart")  # Powertools' capture_cold_start_metric
    assert shown <= emitted, shown - emitted
    assert {"EventsAccepted", "EventsRejectedByReason", "BatchSize", "BatchDuration", "RecordsProcessed"} <= shown
    assert "ColdStart" in shown and "ApproximateAgeOfOldestMessage" in body and "events-dlq" in body
    assert len(widgets) >= 7


def test_outputs_name_every_resource() -> None:
    referenced = set(re.findall(r"\{'(?:Ref|Fn::GetAtt)': \[?'(\w+)", str(T["Outputs"])))
    assert set(R) <= referenced, set(R) - referenced


def test_config_names_follow_the_template_per_stage() -> None:
    queue = R["EventsQueue"]["Properties"]["QueueName"]["Fn::Sub"]
    for stage in STAGES:
        env = stage_environment(stage)
        assert env["TALLY_STAGE"] == stage
        assert env["TALLY_SQS_QUEUE_NAME"] == queue.replace("${Stage}", stage)
        assert env["TALLY_QUEUE_URL"] == "sqs://" + queue.replace("${Stage}", stage)
        assert env["TALLY_DLQ"] == f"tally-{stage}-events-dlq"
        assert env["TALLY_SITES_TABLE"] == f"tally-{stage}-sites"
        assert env["TALLY_AUTH_TABLE"] == f"tally-{stage}-auth"
        params = (ROOT / "infra" / "stages" / f"{stage}.params").read_text()
        assert re.search(r"^ApiThrottleRate=\d+$", params, re.M) and re.search(r"^ApiThrottleBurst=\d+$", params, re.M)


def _stored(stack: Stack) -> list[dict[str, Any]]:
    from tally_store import dynamodb_packs

    return list(dynamodb_packs.unique_events(stack.scan("EventsTableName")))


@alarms_skipped
@pytest.mark.parametrize("stage", STAGES)
def test_ingest_to_rollup_against_the_stack(stage: str, monkeypatch: pytest.MonkeyPatch, caplog: Any) -> None:
    from processor_lambda import entry

    with deployed(stage, monkeypatch) as stack:
        env = stage_environment(stage)
        assert stack.outputs["EventsQueueName"] == env["TALLY_SQS_QUEUE_NAME"]
        assert stack.outputs["EventsTableName"] == env["TALLY_EVENTS_TABLE"]
        assert stack.outputs["AggregatesTableName"] == env["TALLY_AGGREGATES_TABLE"]
        single = stack.post([{"url": "https://shop.example.com/one"}])
        assert single.status == 202, single.body
        single_request = stack.last_request_id
        batch = stack.post([{"url": f"https://shop.example.com/p{i}"} for i in range(20)], gzip_body=True)
        assert batch.status == 202, batch.body
        event = stack.receive()
        assert len(event["Records"]) == 21
        assert stack.process(event) == {"batchItemFailures": []}
        stored = _stored(stack)
        assert len(stored) == 21
        assert {e["correlation_id"] for e in stored if e["url"].endswith("/one")} == {single_request}
        assert {e["correlation_id"] for e in stored if not e["url"].endswith("/one")} == {stack.last_request_id}
        entry.rollup(entry.build_rollup(clock=lambda: 4_000_000_000.0))
        planned = stack.rollup()  # the schedule: work to the rollup queue
        assert _logged(caplog, "rollup finished")["function_name"] == f"tally-{stage}-rollup"
        report = stack.rollup_work()  # a worker seals it
        assert _logged(caplog, "rollup work done")["function_name"] == f"tally-{stage}-rollup_worker"
        assert planned["sent"] == report["sealed"] > 0 and report["still_dirty"] == 0
        assert report["events_read"] == 21, "each event read by its minute..."
        stack.rollup()
        assert stack.rollup_work()["events_read"] == 21, "...and by its hour"
        # ...which the worker exported to the stage's bucket, whole, as it sealed it.
        s3 = stack.client("s3")
        (found,) = s3.list_objects_v2(Bucket=stack.outputs["ExportBucketName"])["Contents"]
        assert found["Key"].startswith("events/site=shop/date=") and found["Key"].endswith(".ndjson.gz")
        blob = s3.get_object(Bucket=stack.outputs["ExportBucketName"], Key=found["Key"])["Body"].read()
        assert sorted(line["event_id"] for line in records.read(blob)) == sorted(e["event_id"] for e in stored)
        stack.rollup()
        days = stack.rollup_work()
        assert days["events_read"] == 0 and days["summaries_read"] > 0, "a day derives from its hours' summaries"
        assert stack.rollup()["oldest_unsealed"] == 0, "nothing closed is left unsealed"
        dead = stack.client("sqs").get_queue_attributes(
            QueueUrl=stack.outputs["EventsDeadLetterQueueUrl"], AttributeNames=["ApproximateNumberOfMessages"]
        )
        assert dead["Attributes"]["ApproximateNumberOfMessages"] == "0"


def _logged(caplog: Any, message: str) -> dict[str, Any]:
    """The last such line as the Powertools logger writes it (JSON, with the Lambda context it
    holds now: format right after the call)."""
    from processor_lambda.observability import logger

    record = [r for r in caplog.records if r.getMessage() == message][-1]
    return json.loads(logger.registered_formatter.format(record))  # type: ignore[no-any-return]


@alarms_skipped
def test_throttling_is_applied_to_the_deployed_api(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("throttle", ROOT / "infra" / "throttle.py")
    assert spec and spec.loader
    throttle = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(throttle)
    with deployed("prod", monkeypatch) as stack:
        apigw = stack.client("apigateway")
        api = apigw.create_rest_api(name="tally")["id"]
        root = apigw.get_resources(restApiId=api)["items"][0]["id"]
        apigw.put_method(restApiId=api, resourceId=root, httpMethod="GET", authorizationType="NONE")
        apigw.put_integration(restApiId=api, resourceId=root, httpMethod="GET", type="MOCK")
        apigw.create_deployment(restApiId=api, stageName=stack.api_stage)  # "prod", as Chalice deploys it
        (tmp_path / ".chalice" / "deployed").mkdir(parents=True)
        (tmp_path / ".chalice" / "config.json").write_text(json.dumps(CONFIG))
        (tmp_path / ".chalice" / "deployed" / "prod.json").write_text(
            json.dumps({"resources": [{"name": "rest_api", "resource_type": "rest_api", "rest_api_id": api}]})
        )
        assert throttle.apply(stack.boto, "prod", tmp_path) == {"rateLimit": "500", "burstLimit": "1000"}
        settings = apigw.get_stage(restApiId=api, stageName="prod")["methodSettings"]["*/*"]
        assert (settings["throttlingRateLimit"], settings["throttlingBurstLimit"]) == (500.0, 1000)


# AWS requests the code makes for 20 events once warm (docs/operations.md, "Cost"): the ingest
# sends one SendMessageBatch per request of up to 10 events; the processor writes raw events 25
# to a BatchWriteItem and one UpdateItem per counter item the batch touches (20 distinct pages,
# one minute: 66). SQS polling and deletes are the event source mapping's, outside the code.
MEASURED_PER_20_EVENTS = {
    "single": {("api_handler", "sqs:SendMessage"): 20},
    "batch": {("api_handler", "sqs:SendMessage"): 2},
    # One PutItem a batch: the heartbeat the dashboard's pipeline panel reads.
    "processor": {
        ("process_events", "dynamodb:BatchWriteItem"): 1,
        ("process_events", "dynamodb:UpdateItem"): 66,
        ("process_events", "dynamodb:PutItem"): 1,
    },
}


@alarms_skipped
def test_requests_per_event(monkeypatch: pytest.MonkeyPatch, iam_recorder: Any) -> None:
    from collections import Counter

    seen = [0]

    def counted() -> dict[tuple[str, str], int]:
        """Calls since the last count (left in the recorder for the autouse policy check)."""
        new, seen[0] = iam_recorder.calls[seen[0] :], len(iam_recorder.calls)
        return dict(Counter((c.function, c.action) for c in new))

    with deployed("prod", monkeypatch) as stack:
        stack.post([{"url": "https://shop.example.com/warm"}])  # site lookup, queue URL, day salt
        stack.process(stack.receive())
        seen[0] = len(iam_recorder.calls)
        for i in range(20):
            stack.post([{"url": f"https://shop.example.com/s{i}"}])
        assert counted() == MEASURED_PER_20_EVENTS["single"]
        stack.process(stack.receive())
        assert counted() == MEASURED_PER_20_EVENTS["processor"]
        stack.post([{"url": f"https://shop.example.com/b{i}"} for i in range(20)])
        assert counted() == MEASURED_PER_20_EVENTS["batch"]
        stack.process(stack.receive())
        assert counted() == MEASURED_PER_20_EVENTS["processor"]
