"""infra/template.yaml deployed into moto's CloudFormation, and the app configured as
`chalice deploy --stage <stage>` would configure it (.chalice/config.json's environment).

Drives the functions the way Lambda does: API Gateway events into the app, SQS records
received from the stack's queue into ``process_events``, a schedule event into ``rollup``.
"""

import gzip
import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest

from tally_contract.sites import NewSite, create
from tests.support.apigw import HttpResponse, LambdaContext, app_for, decode_response, rest_event
from tests.support.iam_audit import CONFIG, CONFIGS
from tests.support.infra import TEMPLATE
from tests.support.sqs_events import receive_records

ORIGIN = "https://shop.example.com"


@dataclass
class Stack:
    stage: str
    outputs: dict[str, str]
    boto: Any
    site: NewSite

    @property
    def api_stage(self) -> str:
        """The API Gateway stage `chalice deploy` puts this stage's API in."""
        return str(CONFIG["stages"][self.stage]["api_gateway_stage"])

    def client(self, service: str) -> Any:
        return self.boto.client(service, region_name="us-east-1")

    def post(self, events: list[dict[str, Any]], *, gzip_body: bool = False) -> HttpResponse:
        from app import app

        body = json.dumps({"batch": events} if len(events) != 1 else events[0]).encode()
        headers = {"Content-Type": "application/json", "Origin": ORIGIN, "Accept": "*/*"}
        if gzip_body:
            body, headers["Content-Encoding"] = gzip.compress(body), "gzip"
        query = {"key": self.site.site.write_key}
        event = rest_event("POST", "/events", body=body, headers=headers, query=query, stage=self.api_stage)
        self.last_request_id = event["requestContext"]["requestId"]
        return decode_response(app(event, LambdaContext(function_name=f"tally-{self.stage}")))

    def get(self, path: str, **kwargs: Any) -> HttpResponse:
        return self.request("GET", path, **kwargs)

    def request(self, method: str, path: str, **kwargs: Any) -> HttpResponse:
        """Any route of either app, ``kwargs`` as tests.support.apigw.rest_event takes them (body, headers, query)."""
        event = rest_event(method, path, stage=self.api_stage, **kwargs)
        return decode_response(app_for(path)(event, LambdaContext(function_name=f"tally-{self.stage}")))

    def receive(self, queue_output: str = "EventsQueueUrl", *, at_most: int = 10_000) -> dict[str, Any]:
        """Everything waiting in a queue, as the Lambda SQS event source would deliver it."""
        records = receive_records(self.client("sqs"), self.outputs[queue_output], at_most=at_most,
                                  visibility_timeout=360)  # fmt: skip
        return {"Records": records}

    def process(self, event: dict[str, Any]) -> Any:
        from app import process_events

        return process_events(event, _context(f"tally-{self.stage}-process_events"))

    def rollup(self) -> Any:
        from app import rollup

        event = {"version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event", "source": "aws.events",
                 "account": "123456789012", "time": "2026-11-23T13:20:00Z", "region": "us-east-1",
                 "resources": [], "detail": {}}  # fmt: skip
        return rollup(event, _context(f"tally-{self.stage}-rollup"))

    def purge(self) -> Any:
        """The dashboard app's scheduled purge of deleted sites' data."""
        from dashboard.purge import reset
        from dashboard_app.app import purge

        reset()  # built from this stage's environment
        event = {"version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event", "source": "aws.events",
                 "account": "123456789012", "time": "2026-11-23T13:20:00Z", "region": "us-east-1",
                 "resources": [], "detail": {}}  # fmt: skip
        return purge(event, _context(f"tally-dashboard-{self.stage}-purge"))

    def rollup_work(self) -> Any:
        """Every message waiting in the rollup queue, through ``rollup_worker``."""
        from app import rollup_worker

        event = self.receive("RollupQueueUrl")
        return rollup_worker(event, _context(f"tally-{self.stage}-rollup_worker")) if event["Records"] else None

    def scan(self, output: str) -> list[dict[str, Any]]:
        return self.client("dynamodb").scan(TableName=self.outputs[output])["Items"]  # type: ignore[no-any-return]


def _context(name: str) -> LambdaContext:
    return LambdaContext(
        function_name=name, invoked_function_arn=f"arn:aws:lambda:us-east-1:123456789012:function:{name}"
    )


def stage_environment(stage: str) -> dict[str, str]:
    """Both apps' environment for the stage, with what single functions add (one process runs
    them all here): a name set twice must have one value."""
    merged: dict[str, str] = {}
    for config in CONFIGS.values():
        settings = config["stages"][stage]
        functions = [f.get("environment_variables", {}) for f in settings.get("lambda_functions", {}).values()]
        for variables in (settings["environment_variables"], *functions):
            for name, value in variables.items():
                assert merged.setdefault(name, value) == value, f"{name} differs between the {stage} functions"
    return merged


def stack_parameters(stage: str) -> dict[str, str]:
    """What `make deploy` passes: the stage, then infra/stages/<stage>.params."""
    lines = (TEMPLATE.parent / "stages" / f"{stage}.params").read_text().splitlines()
    pairs = [line.split("=", 1) for line in lines if line.strip() and not line.startswith("#")]
    return {"Stage": stage, **{key: value for key, value in pairs}}


@contextmanager
def deployed(stage: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    import boto3
    from moto import mock_aws

    from tally_contract.sites_dynamodb import DynamoSites

    for name, value in stage_environment(stage).items():
        monkeypatch.setenv(name, value)
    _reset()
    with mock_aws():
        session = boto3.session.Session(region_name="us-east-1")
        cloudformation = session.client("cloudformation")
        cloudformation.create_stack(
            StackName=f"tally-{stage}",
            TemplateBody=TEMPLATE.read_text(),
            Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in stack_parameters(stage).items()],
        )
        (described,) = cloudformation.describe_stacks(StackName=f"tally-{stage}")["Stacks"]
        assert described["StackStatus"] == "CREATE_COMPLETE", described.get("StackStatusReason")
        outputs = {o["OutputKey"]: o["OutputValue"] for o in described["Outputs"]}
        site = create("shop", origins=(ORIGIN,), domain="shop.example.com")
        DynamoSites(outputs["SitesTableName"], client=session.client("dynamodb")).put(site.site)
        try:
            yield Stack(stage, outputs, session, site)
        finally:
            _reset()


def _reset() -> None:
    from dashboard import runtime as dashboard_runtime
    from ingest_lambda import runtime
    from processor_lambda import entry
    from tally_contract import aws

    aws.reset()
    runtime.reset()
    entry.reset()
    dashboard_runtime.reset()
