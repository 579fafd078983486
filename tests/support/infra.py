"""Create AWS resources in moto from infra/template.yaml, so tests and deploys share one
definition of every queue and table."""

import json
from pathlib import Path
from typing import Any

import yaml

TEMPLATE = Path(__file__).resolve().parents[2] / "infra" / "template.yaml"


def resources(stage: str) -> dict[str, dict[str, Any]]:
    text = TEMPLATE.read_text().replace("${Stage}", stage)
    template = yaml.safe_load(text)
    return {name: _resolve(res) for name, res in template["Resources"].items()}


def _resolve(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"Fn::Sub"} and isinstance(value["Fn::Sub"], str):
            return value["Fn::Sub"]
        return {k: _resolve(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v) for v in value]
    return value


def create_table(client: Any, stage: str, logical_id: str) -> str:
    props = resources(stage)[logical_id]["Properties"]
    kwargs = {
        key: props[key]
        for key in ("TableName", "AttributeDefinitions", "KeySchema", "BillingMode", "GlobalSecondaryIndexes")
        if key in props
    }
    client.create_table(**kwargs)
    return str(props["TableName"])


def create_queues(client: Any, stage: str) -> dict[str, str]:
    """The events and rollup queues with their DLQs wired by ARN as the template does. Returns
    logical id -> URL."""
    urls: dict[str, str] = {}
    for queue in ("Events", "Rollup"):
        urls.update(_queue_pair(client, resources(stage), queue))
    return urls


def _queue_pair(client: Any, res: dict[str, dict[str, Any]], name: str) -> dict[str, str]:
    dlq_props = res[f"{name}DeadLetterQueue"]["Properties"]
    dlq_url = client.create_queue(QueueName=dlq_props["QueueName"])["QueueUrl"]
    dlq_arn = client.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    props = res[f"{name}Queue"]["Properties"]
    redrive = props["RedrivePolicy"]
    attributes = {
        "VisibilityTimeout": str(props["VisibilityTimeout"]),
        "RedrivePolicy": json.dumps(
            {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(redrive["maxReceiveCount"])}
        ),
    }
    url = client.create_queue(QueueName=props["QueueName"], Attributes=attributes)["QueueUrl"]
    return {f"{name}Queue": url, f"{name}DeadLetterQueue": dlq_url}
