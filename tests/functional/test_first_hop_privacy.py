"""Keep the least from the first hop: the stack of a stage (infra/template.yaml in moto), a
request carrying a full address, tokens in the URL's query and fragment and a search in its
referrer. The job on the queue, the same job after SQS dead-letters it, and the DLQ panel hold
no more of the visitor than the event the processor stores from that job."""

import base64
import json
import os
from typing import Any

import pytest

from tally_contract import envelope, sites
from tally_contract.sites_dynamodb import DynamoSites
from tests.support import raw_store
from tests.support.stack import ORIGIN, Stack, deployed

ADDRESS = "203.0.113.77"
SECRETS = (ADDRESS, "s3cret", "email", "someone", "access_token", "confidential")
EVENT = {
    "url": "https://shop.example.com/pricing?utm_source=news&token=s3cret&email=someone%40example.com#access_token=x",
    "referrer": "https://search.example.net/results?q=confidential+words",
    "properties": {"plan": "pro"},
}


def post(stack: Stack, write_key: str) -> None:
    response = stack.request("POST", "/events", body=json.dumps(EVENT).encode(),
                             headers={"Content-Type": "application/json", "Origin": ORIGIN, "Accept": "*/*",
                                      "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0"},
                             query={"key": write_key}, source_ip=ADDRESS)  # fmt: skip
    assert response.status == 202, response.body


def dead_letter(stack: Stack, count: int) -> list[str]:
    """Receive every message past the queue's maxReceiveCount, never deleting: SQS moves them."""
    sqs, queue, dlq = stack.client("sqs"), stack.outputs["EventsQueueUrl"], stack.outputs["EventsDeadLetterQueueUrl"]
    for _ in range(12):
        sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, VisibilityTimeout=0)
    dead = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10, VisibilityTimeout=0).get("Messages", [])
    assert len(dead) == count
    return [m["Body"] for m in dead]


def test_queued_and_dead_lettered_jobs_hold_no_more_than_the_stored_event(monkeypatch: pytest.MonkeyPatch) -> None:
    with deployed("dev", monkeypatch) as stack:
        dropping = sites.create("private", origins=(ORIGIN,), ip_handling="drop")
        DynamoSites(stack.outputs["SitesTableName"], client=stack.client("dynamodb")).put(dropping.site)
        post(stack, stack.site.site.write_key)  # truncate: the default
        post(stack, dropping.site.write_key)
        sqs = stack.client("sqs")
        got = sqs.receive_message(QueueUrl=stack.outputs["EventsQueueUrl"], MaxNumberOfMessages=10, VisibilityTimeout=0)
        queued = [m["Body"] for m in got["Messages"]]
        assert len(queued) == 2
        for body in queued:
            assert not [s for s in SECRETS if s in body], body
        dead = dead_letter(stack, 2)
        assert sorted(dead) == sorted(queued)  # SQS moves the bytes as they were: nothing more

        # The processor stores exactly what the jobs hold (the copies below are the same bytes).
        for body in dead:
            sqs.send_message(QueueUrl=stack.outputs["EventsQueueUrl"], MessageBody=body)
        stack.process(stack.receive())
        table = stack.outputs["EventsTableName"]
        stored = {e["event_id"]: e for e in raw_store.events(stack.client("dynamodb"), table)}
        for body in queued:
            event = envelope.decode(body).arguments[0]
            kept = stored[event["event_id"]]
            for field in ("ip", "url", "referrer", "user_agent", "visitor_id", "properties", "site"):
                assert event.get(field) == kept.get(field), field
        by_site = {envelope.decode(b).arguments[0]["site"]: envelope.decode(b).arguments[0] for b in queued}
        assert by_site["shop"]["ip"] == "203.0.113.0" and by_site["private"]["ip"] is None
        assert by_site["shop"]["url"] == "https://shop.example.com/pricing?utm_source=news"
        assert by_site["shop"]["referrer"] == "https://search.example.net/results"
        assert by_site["shop"]["visitor_id"] != by_site["private"]["visitor_id"]  # per site, from the whole address

        assert sorted(m["body"] for m in dlq_panel(stack)) == sorted(dead)


def dlq_panel(stack: Stack) -> list[dict[str, Any]]:
    from dashboard import runtime
    from dashboard.auth import provision_admin

    provision_admin(stack.client("ssm"), os.environ["TALLY_ADMIN_PARAMETER"])
    token = runtime.get().authenticator().issue("t", "admin", 600)
    response = stack.get("/admin/dlq", headers={"Authorization": f"Bearer {token}"})
    assert response.status == 200, response.body
    messages: list[dict[str, Any]] = response.json()["messages"]
    assert len(messages) == 2
    return messages


def test_old_jobs_with_raw_fields_are_shown_reduced() -> None:
    """A job queued before ingest did this (or by a Rails producer): the panel reduces it."""
    from dashboard.dead_letters import as_stored
    from tests.support.jobs import tally_job

    old = tally_job("old", url="https://shop.example.com/a?token=s3cret&utm_medium=mail", ip=ADDRESS)
    site = sites.create("shop", ip_handling="drop").site
    (shown,) = as_stored([{"id": "1", "body": old}], {"shop": site})
    event = envelope.decode(shown["body"]).arguments[0]
    assert event["ip"] is None and event["url"] == "https://shop.example.com/a?utm_medium=mail"
    assert ADDRESS not in shown["body"] and "s3cret" not in shown["body"]
    assert as_stored([{"id": "2", "body": "not a job " + base64.b64encode(b"x").decode()}], {})[0]["body"].startswith(
        "not a job"
    )
