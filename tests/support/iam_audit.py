"""Record the AWS operations each Lambda function performs and hold them against its IAM policy.

Every botocore call goes through ``BaseClient._make_api_call``; while the tests run it is
wrapped, and a call made inside a handler of app.py or dashboard_app/app.py (a Chalice
middleware sets ``FUNCTION`` around each) is recorded as (function, IAM action, resource ARN).
The ARN is rewritten to every stage in ``.chalice/config.json`` through the naming convention
``tally-<stage>-<name>``, so a test that uses ``tally-test-events`` checks ``tally-dev-events``
and ``tally-prod-events``.
"""

import contextvars
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
# The two Chalice projects: the ingest (with the processor and the rollup) and the dashboard.
PROJECTS = {"ingest": ROOT, "dashboard": ROOT / "dashboard_app"}
CONFIGS = {name: json.loads((path / ".chalice" / "config.json").read_text()) for name, path in PROJECTS.items()}
CONFIG = CONFIGS["ingest"]
STAGES = tuple(CONFIG["stages"])
# Every Lambda function: its project and its name under the stage's lambda_functions.
FUNCTIONS = {
    "api_handler": ("ingest", "api_handler"),
    "process_events": ("ingest", "process_events"),
    "rollup": ("ingest", "rollup"),
    "rollup_worker": ("ingest", "rollup_worker"),
    "dashboard": ("dashboard", "api_handler"),
    "purge": ("dashboard", "purge"),
}

FUNCTION: contextvars.ContextVar[str | None] = contextvars.ContextVar("tally_lambda_function", default=None)
# Pool threads see it too: tally_contract.pools hands the caller's context to each task.

# Batch operations are authorised by the single-message action.
_ACTION_OF = {
    "sqs:SendMessageBatch": "sqs:SendMessage",
    "sqs:DeleteMessageBatch": "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibilityBatch": "sqs:ChangeMessageVisibility",
    # A multipart upload's steps are authorised by s3:PutObject.
    "s3:CreateMultipartUpload": "s3:PutObject",
    "s3:UploadPart": "s3:PutObject",
    "s3:CompleteMultipartUpload": "s3:PutObject",
    # A listing is authorised on the bucket, a batch delete by s3:DeleteObject on each key.
    "s3:ListObjectsV2": "s3:ListBucket",
    "s3:DeleteObjects": "s3:DeleteObject",
}
# botocore's signing name -> IAM's action prefix, where they differ.
_IAM_PREFIX = {"monitoring": "cloudwatch"}
_NAME = re.compile(r"^tally-[a-z0-9]+-(?P<rest>.+)$")


@dataclass(frozen=True)
class Call:
    function: str
    action: str
    arn: str  # as called; ``for_stage`` gives the deployed name

    def for_stage(self, stage: str) -> str:
        if self.arn == "*":
            return "*"
        if ":parameter/tally/" in self.arn:  # SSM parameters are named /tally/<stage>/<name>
            prefix, _, rest = self.arn.partition(":parameter/tally/")
            return f"{prefix}:parameter/tally/{stage}/{rest.partition('/')[2]}"
        prefix, sep, name = _split_name(self.arn)
        match = _NAME.match(name)
        if not match:
            raise AssertionError(f"{self.function}: {self.action} on {self.arn}: not named tally-<stage>-<name>")
        return f"{prefix}{sep}tally-{stage}-{match['rest']}"


def _split_name(arn: str) -> tuple[str, str, str]:
    """ARN prefix, separator, and the resource name (tables keep their /index/... suffix, S3
    objects their key)."""
    if arn.startswith("arn:aws:s3:::"):
        return "arn:aws:s3:::", "", arn.removeprefix("arn:aws:s3:::")
    if ":table/" in arn:
        prefix, _, name = arn.partition(":table/")
        return prefix, ":table/", name
    prefix, sep, name = arn.rpartition(":")
    return prefix, sep, name


class Recorder:
    def __init__(self) -> None:
        self.calls: list[Call] = []

    def record(self, client: Any, operation: str, params: dict[str, Any]) -> None:
        function = FUNCTION.get()
        if function is None:
            return  # test setup or a component driven directly, not a Lambda entry point
        service = client.meta.service_model.signing_name
        action = f"{_IAM_PREFIX.get(service, service)}:{operation}"
        action = _ACTION_OF.get(action, action)
        for arn in resource_arns(service, client.meta.region_name, params):
            self.calls.append(Call(function, action, arn))

    def take(self) -> list[Call]:
        calls, self.calls = self.calls, []
        return calls


ACCOUNT = "123456789012"  # moto's account; policies name any account


def resource_arns(service: str, region: str, params: dict[str, Any]) -> Iterator[str]:
    if service == "sqs":
        name = params.get("QueueName") or str(params.get("QueueUrl", "")).rstrip("/").rsplit("/", 1)[-1]
        yield f"arn:aws:sqs:{region}:{ACCOUNT}:{name}"
    elif service == "dynamodb":
        tables = list(params.get("RequestItems", {})) or [params["TableName"]]
        index = f"/index/{params['IndexName']}" if params.get("IndexName") else ""
        for table in tables:
            yield f"arn:aws:dynamodb:{region}:{ACCOUNT}:table/{table}{index}"
    elif service == "s3" and "Delete" in params:  # DeleteObjects: each key
        for found in params["Delete"]["Objects"]:
            yield f"arn:aws:s3:::{params['Bucket']}/{found['Key']}"
    elif service == "s3" and "Bucket" in params:  # an object, or the bucket itself
        yield f"arn:aws:s3:::{params['Bucket']}" + (f"/{params['Key']}" if "Key" in params else "")
    elif service == "ssm" and "Name" in params:
        yield f"arn:aws:ssm:{region}:{ACCOUNT}:parameter{params['Name']}"
    else:
        yield "*"


def policy(function: str, stage: str) -> dict[str, Any]:
    project, key = FUNCTIONS[function]
    name = CONFIGS[project]["stages"][stage]["lambda_functions"][key]["iam_policy_file"]
    return json.loads((PROJECTS[project] / ".chalice" / name).read_text())  # type: ignore[no-any-return]


def function_name(function: str, stage: str) -> str:
    """The function's name as `chalice deploy` gives it (so its log group, /aws/lambda/<name>)."""
    project, key = FUNCTIONS[function]
    app_name = CONFIGS[project]["app_name"]
    return f"{app_name}-{stage}" if key == "api_handler" else f"{app_name}-{stage}-{key}"


def _pattern(glob: str, *, case: bool) -> re.Pattern[str]:
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in glob)
    return re.compile(f"^{body}$", 0 if case else re.IGNORECASE)


def _listed(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else value


def statements(document: dict[str, Any]) -> Iterator[tuple[str, list[str], list[str]]]:
    for statement in document["Statement"]:
        assert statement["Effect"] == "Allow", "policies only allow"
        yield statement.get("Sid", ""), _listed(statement["Action"]), _listed(statement["Resource"])


def allowed(document: dict[str, Any], action: str, arn: str) -> bool:
    return any(
        any(_pattern(a, case=False).match(action) for a in actions)
        and any(_pattern(r, case=True).match(arn) for r in resources)
        for _, actions, resources in statements(document)
    )


def violations(calls: list[Call]) -> list[str]:
    """Every call no policy of its function allows, for any stage."""
    found = []
    for call in sorted(set(calls), key=lambda c: (c.function, c.action, c.arn)):
        for stage in STAGES:
            arn = call.for_stage(stage) if call.arn != "*" else "*"
            if not allowed(policy(call.function, stage), call.action, arn):
                found.append(f"{call.function} ({stage}): {call.action} on {arn} is not in its policy")
    return found


def install(recorder: Recorder) -> Any:
    """Wrap every botocore client's API call; returns the original to restore."""
    from botocore.client import BaseClient

    original = BaseClient._make_api_call

    def _make_api_call(self: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
        recorder.record(self, operation_name, api_params)
        return original(self, operation_name, api_params)

    BaseClient._make_api_call = _make_api_call
    return original


def attribute_middleware(http_function: str, scheduled_function: str = "rollup") -> Any:
    """A Chalice middleware: every AWS call under a handler belongs to that handler's function
    (``http_function`` for the app's API routes, ``scheduled_function`` for its schedule)."""

    def middleware(event: Any, get_response: Any) -> Any:
        from chalice.app import CloudWatchEvent, Request, SQSEvent

        if isinstance(event, Request):
            function = http_function
        elif isinstance(event, SQSEvent):
            name = str(getattr(event.context, "function_name", ""))
            function = "rollup_worker" if name.endswith("rollup_worker") else "process_events"
        elif isinstance(event, CloudWatchEvent):
            function = scheduled_function
        else:
            raise AssertionError(f"no Lambda function for {type(event).__name__}")
        token = FUNCTION.set(function)
        try:
            return get_response(event)
        finally:
            FUNCTION.reset(token)

    return middleware
