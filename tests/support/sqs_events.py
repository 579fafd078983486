"""SQS events as Lambda's event source delivers them, for tests that call the handlers."""

from typing import Any

from tally_cli.local.event_source import lambda_record


def queue_arn(sqs: Any, url: str) -> str:
    return str(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"])


def receive_records(sqs: Any, url: str, *, at_most: int, visibility_timeout: int = 300) -> list[dict[str, Any]]:
    """Up to ``at_most`` waiting messages (fewer when the queue runs dry), as Lambda records."""
    arn = queue_arn(sqs, url)
    records: list[dict[str, Any]] = []
    while len(records) < at_most:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=visibility_timeout)
        if not got.get("Messages"):
            break
        records += [lambda_record(m, arn, "us-east-1") for m in got["Messages"]]
    return records


def lambda_event(sqs: Any, url: str, bodies: list[str]) -> dict[str, Any]:
    """Send, then receive, and shape the records as Lambda's SQS event source does."""
    for body in bodies:
        sqs.send_message(QueueUrl=url, MessageBody=body)
    records: list[dict[str, Any]] = []
    while len(records) < len(bodies):
        records += receive_records(sqs, url, at_most=len(bodies) - len(records), visibility_timeout=30)
    return {"Records": records}
