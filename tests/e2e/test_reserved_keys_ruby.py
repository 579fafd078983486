"""Issue 18, job injection, against real Ruby: a hostile corpus of events (ActiveJob's reserved
keys at every depth of ``properties``, and near misses) is sent through Tally's ingest to Redis,
plain and ActiveJob-wrapped; then Debian's ActiveJob 6.1 deserializes every queued job as a
Rails consumer would (tests/support/ruby/deserialize.rb). It must find only plain values, equal to what
was sent, and Tally's own worker must read the same properties. Before, ModuleSerializer handed
Ruby the class File, ActiveJob::Base.deserialize ran Tempfile.new, and Tally's worker replaced
the properties with the string "Kernel"."""

import json
from typing import Any

import pytest

from ingest_lambda import runtime
from ingest_lambda.settings import Settings
from tally_contract import envelope
from tally_contract.envelope import JobOptions
from tally_contract.queues.redis_queue import RedisQueue
from tests.support.ingest_harness import make_ingest
from tests.support.sidekiq_ruby import require_sidekiq, ruby

pytestmark = pytest.mark.slow
URL = "https://shop.example.com/pricing"
HOSTILE: list[dict[str, Any]] = [
    {"_aj_serialized": "ActiveJob::Serializers::ModuleSerializer", "value": "File"},
    {"_aj_serialized": "ActiveJob::Serializers::ModuleSerializer", "value": "Kernel"},
    {"_aj_serialized": "ActiveJob::Base", "job_class": "Tempfile"},
    {"_aj_serialized": "ActiveJob::Serializers::ObjectSerializer"},
    {"_aj_serialized": "ActiveJob::Serializers::TimeSerializer", "value": "2026-11-23T13:00:00Z"},
    {"_aj_serialized": "ActiveJob::Serializers::SymbolSerializer", "value": "admin"},
    {"_aj_globalid": "gid://shop/User/1"},
    {"_aj_hash_with_indifferent_access": True, "plan": "pro"},
    {"plan": "pro", "_aj_symbol_keys": ["plan"]},
    {"plan": "pro", "_aj_ruby2_keywords": ["plan"]},
    {"nested": {"_aj_serialized": "ActiveJob::Serializers::ModuleSerializer", "value": "File"}},
    {"list": [{"_aj_globalid": "gid://shop/User/1"}]},
]
NEAR_MISSES: list[dict[str, Any]] = [
    {"aj_serialized": "ActiveJob::Serializers::ModuleSerializer", "value": "File"},
    {"_AJ_GLOBALID": "gid://shop/User/1"},
    {"job_class": "Tempfile", "value": "File", "_aj": 1, "x_aj_serialized": "Kernel"},
    {"plan": "pro", "seats": 3, "trial": True, "none": None, "ratio": 0.5, "q": "é/\u2028"},
]


def send_corpus(redis_client: Any, activejob: bool) -> list[tuple[dict[str, Any], int]]:
    harness = make_ingest(queue=RedisQueue(redis_client))
    harness.activate(Settings(job=JobOptions(activejob=activejob)))
    try:
        return [(props, harness.post({"url": URL, "properties": props}).status) for props in HOSTILE + NEAR_MISSES]
    finally:
        runtime.reset()


@pytest.mark.parametrize("activejob", [True, False], ids=["activejob", "plain"])
def test_ruby_finds_only_plain_values_in_what_tally_queued(redis_url: str, redis_client: Any, activejob: bool) -> None:
    require_sidekiq()
    answers = send_corpus(redis_client, activejob)
    assert [status for _, status in answers] == [422] * len(HOSTILE) + [202] * len(NEAR_MISSES), answers

    queued = [envelope.decode(body) for body in reversed(redis_client.lrange("queue:default", 0, -1))]
    assert [job.arguments[0]["properties"] for job in queued] == NEAR_MISSES  # Tally's worker reads them as sent
    reports = [json.loads(line) for line in ruby(redis_url, "activejob", "tests/support/ruby/deserialize.rb")]
    assert len(reports) == len(NEAR_MISSES)
    for report in reports:
        assert report["offenders"] == [], report
    seen = sorted(json.dumps(json.loads(report["args"])[0]["properties"], sort_keys=True) for report in reports)
    assert seen == sorted(json.dumps(props, sort_keys=True) for props in NEAR_MISSES)
