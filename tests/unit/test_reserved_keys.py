"""Issue 18, job injection: a key ActiveJob (and Sidekiq after it) gives meaning to, ``_aj_...``,
anywhere inside ``properties`` is a 422 naming the field, as Rails refuses to serialize such a
hash ("reserved key"); the real-Ruby side is tests/e2e/test_reserved_keys_ruby.py."""

from typing import Any

import pytest

from ingest_lambda import runtime
from ingest_lambda.settings import Settings
from tally_contract import fields
from tally_contract.envelope import JobOptions
from tests.support.ingest_harness import Ingest

EVENT = {"url": "https://shop.example.com/pricing", "name": "signup"}
# What the audit sent (ModuleSerializer resolved "File"; ActiveJob::Base.deserialize ran
# Tempfile.new), and the other reserved keys of Rails 6.1-7.x.
HOSTILE = [
    ({"_aj_serialized": "ActiveJob::Serializers::ModuleSerializer", "value": "File"}, "properties._aj_serialized"),
    ({"_aj_serialized": "ActiveJob::Base", "job_class": "Tempfile"}, "properties._aj_serialized"),
    ({"_aj_globalid": "gid://shop/User/1"}, "properties._aj_globalid"),
    ({"plan": "pro", "_aj_symbol_keys": ["plan"]}, "properties._aj_symbol_keys"),
    ({"_aj_ruby2_keywords": ["plan"], "plan": "pro"}, "properties._aj_ruby2_keywords"),
    ({"_aj_hash_with_indifferent_access": True}, "properties._aj_hash_with_indifferent_access"),
    ({"_aj_anything_new": 1}, "properties._aj_anything_new"),  # the whole namespace
]
NESTED = [
    ({"a": {"_aj_globalid": "gid://shop/User/1"}}, "properties.a._aj_globalid"),
    ({"a": [{"b": {"_aj_serialized": "ActiveJob::Serializers::ModuleSerializer", "value": "Kernel"}}]},
     "properties.a.0.b._aj_serialized"),
    ({"ok": 1, "list": [1, 2, {"_aj_symbol_keys": []}]}, "properties.list.2._aj_symbol_keys"),
]  # fmt: skip


@pytest.fixture(params=[False, True], ids=["plain", "activejob"])
def activejob_ingest(ingest: Ingest, request: Any) -> Ingest:
    ingest.activate(Settings(job=JobOptions(activejob=request.param)))
    assert runtime.get().settings.job.activejob is request.param
    return ingest


@pytest.mark.parametrize(("properties", "field"), HOSTILE + NESTED)
def test_reserved_keys_at_any_depth_are_a_422_naming_the_field(
    activejob_ingest: Ingest, properties: dict[str, Any], field: str
) -> None:
    response = activejob_ingest.post({**EVENT, "properties": properties})
    assert response.status == 422, response.body
    body = response.json()
    assert body["error"] == "invalid_event" and body["field"] == field
    assert "reserved" in body["message"]
    assert activejob_ingest.jobs() == []


def test_a_batch_refuses_the_hostile_event_and_queues_the_rest(activejob_ingest: Ingest) -> None:
    batch = [{**EVENT, "properties": {"plan": "pro"}}, {**EVENT, "properties": HOSTILE[0][0]}]
    response = activejob_ingest.post({"batch": batch})
    assert response.status == 207
    assert response.json()["rejected"] == [
        {"index": 1, "error": "invalid_event", "field": "properties._aj_serialized",
         "message": "is a key reserved by ActiveJob and Sidekiq (_aj_...)"},
    ]  # fmt: skip
    assert [event["properties"] for event in activejob_ingest.events()] == [{"plan": "pro"}]


@pytest.mark.parametrize("key", ["aj_serialized", "_AJ_globalid", "x_aj_", "_a", "job_class", "value", "_aj"])
def test_near_misses_are_plain_properties(ingest: Ingest, key: str) -> None:
    response = ingest.post({**EVENT, "properties": {key: "v"}})
    assert response.status == 202, response.body
    assert ingest.events()[0]["properties"] == {key: "v"}


def test_the_walk_is_iterative_and_names_the_shallowest() -> None:
    deep: Any = {"_aj_globalid": "x"}
    for _ in range(50_000):  # far deeper than recursion would go
        deep = {"k": [deep]}
    path = fields.reserved_key("properties", deep)
    assert path is not None and path.startswith("properties.k.0.k.0") and len(path) <= fields.MAX_FIELD_PATH
    both = {"a": {"b": {"_aj_x": 1}}, "_aj_y": 2}
    assert fields.reserved_key("properties", both) == "properties._aj_y"
    assert fields.reserved_key("properties", {"a": [1, "two", None, {"b": 3.5}]}) is None
