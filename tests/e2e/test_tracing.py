"""Observability in a fresh process, as on a cold Lambda: the EMF lines of the first request and
the first batch (cold-start metric included, stage from the environment), and X-Ray tracing
switchable: off, the ingest never imports the X-Ray SDK (a cold-start cost); on, each request
runs under Powertools' Tracer and still answers."""

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
INGEST = """
import json, sys
from tests.support.ingest_harness import make_ingest
from ingest_lambda import observability
harness = make_ingest()
status = harness.post({"batch": [{"url": "https://shop.example.com/"}, {"url": "nope"}]}).status
print(json.dumps({"status": status, "xray": "aws_xray_sdk" in sys.modules,
                  "middlewares": len(observability.middlewares())}))
"""
PROCESSOR = """
import json, sys, boto3
from moto import mock_aws
from app import process_events
from processor_lambda import entry
from tests.support.apigw import LambdaContext
from tests.support.processor_harness import make_processor
from tests.support.jobs import tally_job
with mock_aws():
    proc = make_processor(boto3.client("dynamodb", region_name="us-east-1"))
    entry.sqs_handler(proc.pipeline)
    record = {"messageId": "m1", "receiptHandle": "r1", "body": tally_job("cold"), "attributes": {},
              "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs", "awsRegion": "us-east-1",
              "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:tally-prod-events"}
    result = process_events({"Records": [record]}, LambdaContext(function_name="tally-prod-process_events"))
print(json.dumps({"status": result, "xray": "aws_xray_sdk" in sys.modules, "middlewares": 0}))
"""


def run(driver: str, trace_disabled: str | None = "true") -> tuple[dict[str, Any], dict[str, Any]]:
    """The driver's report, and its EMF lines by metric name."""
    env = {k: v for k, v in os.environ.items() if k != "POWERTOOLS_TRACE_DISABLED"}
    if trace_disabled is not None:
        env["POWERTOOLS_TRACE_DISABLED"] = trace_disabled
    # Lambda's markers, so the Tracer does not switch itself off as it does outside Lambda.
    env.update(
        TALLY_STAGE="prod",
        AWS_LAMBDA_FUNCTION_NAME="tally-prod",
        _X_AMZN_TRACE_ID="Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
        AWS_XRAY_DAEMON_ADDRESS="127.0.0.1:2000",
        AWS_XRAY_CONTEXT_MISSING="LOG_ERROR",
    )
    proc = subprocess.run(
        [sys.executable, "-c", driver], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.strip().splitlines()
    emf: dict[str, Any] = {}
    for line in (json.loads(line) for line in lines if line.startswith('{"_aws"')):
        (definition,) = line["_aws"]["CloudWatchMetrics"]
        assert definition["Namespace"] == "Tally"
        for metric in definition["Metrics"]:
            emf[metric["Name"]] = {"value": line[metric["Name"]], "dimensions": definition["Dimensions"],
                                   **{d: line[d] for d in definition["Dimensions"][0]}}  # fmt: skip
    return json.loads(lines[-1]), emf


@pytest.mark.slow
def test_a_cold_request_emits_cold_start_and_outcomes_with_stage_and_service() -> None:
    report, emf = run(INGEST)
    assert report["status"] == 207
    # Powertools gives the cold-start metric no default dimensions: the function name has the stage.
    assert emf["ColdStart"] == {"value": [1.0], "dimensions": [["function_name", "service"]],
                                "service": "ingest", "function_name": "tally-dev"}  # fmt: skip
    assert emf["EventsAccepted"]["value"] == [1.0] and emf["EventsRejected"]["value"] == [1.0]
    assert (emf["EventsAccepted"]["stage"], emf["EventsAccepted"]["service"]) == ("prod", "ingest")
    assert emf["EventsRejectedByReason"]["reason"] == "invalid_event"
    assert set(emf) == {"ColdStart", "EventsAccepted", "EventsRejected", "EventsRejectedByReason", "EnqueueLatency"}


@pytest.mark.slow
def test_a_cold_batch_emits_cold_start_and_batch_metrics() -> None:
    report, emf = run(PROCESSOR)
    assert report["status"] == {"batchItemFailures": []}
    cold = emf["ColdStart"]
    assert (cold["value"], cold["service"]) == ([1.0], "processor")
    assert cold["function_name"] == "tally-prod-process_events"
    batch = {
        name: emf[name]["value"] for name in ("BatchSize", "RecordsProcessed", "RecordsFailed", "RecordsDeadLettered")
    }
    assert batch == {
        "BatchSize": [1.0],
        "RecordsProcessed": [1.0],
        "RecordsFailed": [0.0],
        "RecordsDeadLettered": [0.0],
    }
    assert emf["BatchDuration"]["value"][0] > 0 and emf["BatchSize"]["dimensions"] == [["stage", "service"]]


@pytest.mark.slow
@pytest.mark.parametrize("setting", [None, "true"])
def test_tracing_off_never_imports_the_xray_sdk(setting: str | None) -> None:
    report, _ = run(INGEST, setting)
    assert report == {"status": 207, "xray": False, "middlewares": 3}


@pytest.mark.slow
def test_tracing_on_wraps_each_request_and_batch() -> None:
    report, _ = run(INGEST, "false")
    assert report == {"status": 207, "xray": True, "middlewares": 4}
    report, emf = run(PROCESSOR, "false")
    assert (report["status"], report["xray"]) == ({"batchItemFailures": []}, True)
    assert emf["BatchSize"]["value"] == [1.0]


def test_tracing_on_without_the_sdk_runs_untraced(monkeypatch: pytest.MonkeyPatch, caplog: Any) -> None:
    from tally_contract import tracing

    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "false")
    for name in [
        m
        for m in sys.modules
        if m == "aws_xray_sdk" or m.startswith(("aws_xray_sdk.", "aws_lambda_powertools.tracing"))
    ]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "aws_xray_sdk", None)
    assert tracing.middleware("ingest") is None
    assert "tracing requested but unavailable" in caplog.text
