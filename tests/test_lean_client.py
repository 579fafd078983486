"""The lean DynamoDB client sends the same bytes as a stock one, for less CPU."""

from typing import Any

import botocore.config
import botocore.session
from botocore.awsrequest import AWSResponse

from processor_lambda import counters, items
from processor_lambda.lean_client import make_lean

EVENT = {
    "event_id": "0123456789abcdef0123456789abcdef", "site": "shop", "name": "pageview",
    "url": "https://shop.example.com/pricing?utm_source=news", "path": "/pricing", "host": "shop.example.com",
    "referrer": "https://news.example.net/a", "referrer_host": "news.example.net", "utm_source": "news",
    "event_time": "2026-11-26T04:20:00.000Z", "received_at": "2026-11-26T04:20:00.100Z",
    "ip": "198.51.100.0", "user_agent": "Mozilla/5.0 ünïcode", "browser": "Chrome", "os": "Windows",
    "device": "desktop", "visitor_id": "v1", "properties": {"plan": "pro", "n": 3, "ok": True},
}  # fmt: skip


def _client(validate: bool = False) -> Any:
    session = botocore.session.get_session()
    return session.create_client(
        "dynamodb", region_name="us-east-1", aws_access_key_id="k", aws_secret_access_key="s",
        endpoint_url="http://127.0.0.1:9", config=botocore.config.Config(parameter_validation=validate),
    )  # fmt: skip


def _sent(client: Any, operation: str, **params: Any) -> tuple[bytes, str]:
    """The body and User-Agent a call would put on the wire (answered before it leaves)."""
    seen: dict[str, Any] = {}

    def capture(request: Any, **_: Any) -> AWSResponse:
        seen["body"], seen["ua"] = request.body, request.headers["User-Agent"].decode()
        return AWSResponse(request.url, 200, {}, _Raw())

    client.meta.events.register("before-send.dynamodb", capture)
    getattr(client, operation)(**params)
    return seen["body"], seen["ua"]


class _Raw:
    def stream(self, **_: Any) -> Any:
        return iter([b"{}"])


def _requests() -> list[tuple[str, dict[str, Any]]]:
    ((item, _),) = items.pack([(EVENT, 30)], 1_800_000_000)
    update = counters.sum_batch([EVENT])[0]
    return [
        ("batch_write_item", {"RequestItems": {"events": [{"PutRequest": {"Item": item}}] * 3}}),
        ("update_item", {"TableName": "aggregates", "Key": {"pk": {"S": update.pk}, "sk": {"S": update.sk}},
                         "UpdateExpression": "ADD pv :pv SET #ttl = if_not_exists(#ttl, :ttl)",
                         "ExpressionAttributeNames": {"#ttl": "ttl"},
                         "ExpressionAttributeValues": {":pv": {"N": "1"}, ":ttl": {"N": "9"}}}),
        # Not passed through: binary values (raw-event packs, salts) need the real serializer.
        ("put_item", {"TableName": "salts", "Item": {"pk": {"S": "salt"}, "v": {"B": b"\x00\xff"}}}),
    ]  # fmt: skip


def test_bodies_are_byte_identical_to_botocores() -> None:
    stock, lean = _client(), make_lean(_client())
    for operation, params in _requests():
        assert _sent(lean, operation, **params)[0] == _sent(stock, operation, **params)[0], operation


def test_the_pinned_botocore_takes_both_shortcuts() -> None:
    # If a botocore upgrade renames the internals, make_lean silently does nothing: this
    # test is what notices, so the benchmark's figures stay true.
    client = make_lean(_client())
    assert type(client._serializer).__name__ == "PassThroughSerializer"
    validating = make_lean(_client(validate=True))._serializer
    assert type(validating._serializer).__name__ == "PassThroughSerializer"
    ua_first = _sent(client, "update_item", **_requests()[1][1])[1]
    ua_again = _sent(client, "update_item", **_requests()[1][1])[1]
    assert ua_first == ua_again and ua_first.startswith("Botocore/")
    assert make_lean(client) is client  # idempotent: no serializer wrapped twice
