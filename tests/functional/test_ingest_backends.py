"""The whole ingest path against real backends: sites in (moto) DynamoDB, jobs on (moto) SQS
or a real redis-server. The same request gives the same job bytes on both."""

import io
import json
import logging
from typing import Any, cast

import pytest

from ingest_lambda import runtime
from ingest_lambda.settings import Settings
from tally_contract import aws as aws_clients
from tally_contract import envelope
from tally_contract.sites_dynamodb import DynamoSites
from tally_store.salts import DailySalts, MemorySalts
from tests.support.infra import create_queues, create_table
from tests.support.ingest_harness import ORIGIN, Ingest, new_site

EVENT = {
    "url": "https://shop.example.com/",
    "event_id": "0b1f2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
    "time": "2026-11-23T13:19:59Z",
    "sent_at": "2026-11-23T13:20:00Z",
    "properties": {"q": "é/\u2028"},
}


SALTS = DailySalts(MemorySalts())


def _harness(queue_url: str, sites_table: str, reuse: Ingest | None = None) -> Ingest:
    sites = DynamoSites(sites_table)
    if reuse is None:
        created = new_site()
        sites.put(created.site)
        site, secret = created.site, created.secret_key
    else:
        site, secret = reuse.site, reuse.secret
    # One salts store for both, as the salts table is for every ingest instance: same visitor ids.
    rt = runtime.configure(settings=Settings(queue_url=queue_url, sites_table=sites_table), salts=SALTS,
                           clock=lambda: 1795440000.0)  # fmt: skip
    return Ingest(site, secret, rt.queue, sites)


@pytest.fixture
def table(aws: None, boto: Any) -> Any:
    name = create_table(boto.client("dynamodb"), "test", "SitesTable")
    yield name
    runtime.reset()


def _normalise(job: str) -> dict[str, Any]:
    """The job minus what is unique per push (jid, timestamps, request id)."""
    payload: dict[str, Any] = json.loads(job)
    for key in ("jid", "created_at", "enqueued_at", "correlation_id"):
        payload.pop(key)
    return payload


def test_sqs_and_redis_carry_identical_jobs(table: str, boto: Any, redis_url: str, redis_client: Any) -> None:
    sqs = boto.client("sqs")
    url = create_queues(sqs, "test")["EventsQueue"]

    over_sqs = _harness("sqs://tally-test-events", table)
    assert over_sqs.post(EVENT, headers={"User-Agent": "UA"}).status == 202
    (message,) = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]

    over_redis = _harness(redis_url, table, reuse=over_sqs)
    assert over_redis.post(EVENT, headers={"User-Agent": "UA"}).status == 202
    (pushed,) = redis_client.lrange("queue:default", 0, -1)

    assert redis_client.smembers("queues") == {b"default"}
    assert _normalise(message["Body"]) == _normalise(pushed.decode())
    # Byte for byte: the encoder is the one Sidekiq's JSON matches, on both backends.
    job = envelope.decode(message["Body"])
    assert job.encode() == message["Body"] and '"q":"é/\u2028"' in message["Body"]
    assert job.arguments[0]["event_time"] == "2026-11-23T13:19:59.000Z"


def test_unknown_key_is_looked_up_once_then_cached(table: str, boto: Any) -> None:
    boto.client("sqs").create_queue(QueueName="tally-test-events")
    harness = _harness("sqs://tally-test-events", table)
    assert harness.post({"url": EVENT["url"]}, key="wk_stranger").status == 401
    boto.client("dynamodb").delete_table(TableName=table)  # a second lookup would now fail
    assert harness.post({"url": EVENT["url"]}, key="wk_stranger").status == 401


def test_sites_table_outage_is_a_503_not_a_500(table: str, boto: Any) -> None:
    boto.client("sqs").create_queue(QueueName="tally-test-events")
    harness = _harness("sqs://tally-test-events", table)
    boto.client("dynamodb").delete_table(TableName=table)
    response = harness.post({"url": EVENT["url"]})
    assert response.status == 503 and response.headers["retry-after"] == "5"


def test_missing_queue_is_a_503_and_health_says_so(table: str) -> None:
    harness = _harness("sqs://tally-test-events", table)  # never created
    assert harness.post({"url": EVENT["url"]}).status == 503
    assert harness.request("GET", "/health").status == 503


def test_redis_down_is_a_503(table: str) -> None:
    from tests.support.servers import free_port

    harness = _harness(f"redis://127.0.0.1:{free_port()}/0", table)
    response = harness.post({"batch": [{"url": EVENT["url"]}]})
    assert response.status == 503 and response.json()["rejected"][0]["error"] == "queue_unavailable"


def test_logs_carry_the_api_request_id(table: str, boto: Any) -> None:
    from ingest_lambda import observability

    boto.client("sqs").create_queue(QueueName="tally-test-events")
    harness = _harness("sqs://tally-test-events", table)
    # The Powertools handler keeps the stream it was created with; point it at a buffer.
    buffer = io.StringIO()
    handler = cast(logging.StreamHandler, observability.logger.registered_handler)  # type: ignore[type-arg]
    previous = handler.setStream(buffer)
    try:
        harness.post({"url": "nope"}, headers={"Origin": ORIGIN})
        harness.post({"url": EVENT["url"]}, key="wk_nope")
    finally:
        handler.setStream(previous)
    lines = [json.loads(line) for line in buffer.getvalue().splitlines()]
    events = [line for line in lines if line.get("message") == "events refused"]
    assert events and events[0]["reasons"] == {"invalid_event": 1} and events[0]["first"]["field"] == "url"
    request = [line for line in lines if line.get("message") == "request refused"]
    assert request and request[0]["reason"] == "unauthorized"
    ids = {line["correlation_id"] for line in events + request}
    assert len(ids) == 2 and all(ids), "each request logs under its own API Gateway request id"
    assert events[0]["service"] == "ingest"


def test_clients_are_built_once(table: str, boto: Any) -> None:
    boto.client("sqs").create_queue(QueueName="tally-test-events")
    harness = _harness("sqs://tally-test-events", table)
    harness.post({"url": EVENT["url"]})
    first = aws_clients.client("sqs")
    harness.post({"url": EVENT["url"]})
    assert aws_clients.client("sqs") is first
