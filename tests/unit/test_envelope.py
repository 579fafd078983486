"""The job envelope against Sidekiq 6.4.1's own bytes."""

import json
import re
from pathlib import Path

import pytest

from tally_contract import activejob, envelope
from tally_contract.envelope import JobOptions
from tally_contract.errors import EnvelopeError

CAPTURES = Path(__file__).resolve().parents[1] / "support" / "vectors" / "sidekiq-6.4.1"
VECTORS = sorted(CAPTURES.glob("*.json"))


def test_captures_are_present() -> None:
    assert len(VECTORS) >= 6, f"golden vectors missing under {CAPTURES}"


@pytest.mark.parametrize("path", VECTORS, ids=[p.stem for p in VECTORS])
def test_golden_vector_round_trips_byte_for_byte(path: Path) -> None:
    original = path.read_bytes().rstrip(b"\n")
    job = envelope.decode(original)
    assert job.encode().encode("utf-8") == original


def test_plain_capture_fields() -> None:
    job = envelope.decode((CAPTURES / "plain_unicode_args.json").read_bytes())
    assert job.job_class == "HardWorker"
    # U+2028 stays raw in Ruby's JSON, and so must it in ours.
    assert job.arguments == [1, "café/\u2028"]
    assert not job.is_activejob


def test_activejob_symbol_keys_are_stripped() -> None:
    job = envelope.decode((CAPTURES / "activejob_symbol_keys.json").read_bytes())
    assert job.is_activejob and job.job_class == "ProcessRequestJob"
    assert job.arguments == [
        {
            "ip": "203.0.113.7",
            "user_agent": "Mozilla/5.0 (X11; Linux x86_64)",
            "url": "https://example.com/a?b=1",
            "time": "2024-05-01T12:00:00Z",
        }
    ]


def test_activejob_keyword_args_are_stripped() -> None:
    job = envelope.decode((CAPTURES / "activejob_keyword_args.json").read_bytes())
    assert job.arguments == [{"ip": "kw", "url": "x"}]


def test_scheduled_member_has_no_enqueued_at_and_still_decodes() -> None:
    job = envelope.decode((CAPTURES / "activejob_scheduled_member.json").read_bytes())
    assert "enqueued_at" not in job.payload
    assert job.arguments[0]["ip"] == "203.0.113.7"


def test_serialized_values_and_indifferent_access_are_unpacked() -> None:
    payload = {
        "arguments": [
            {
                "at": {
                    "_aj_serialized": "ActiveJob::Serializers::TimeWithZoneSerializer",
                    "value": "2024-05-01T12:00:00.000000000Z",
                    "time_zone": "UTC",
                },
                "kind": {"_aj_serialized": "ActiveJob::Serializers::SymbolSerializer", "value": "view"},
                "wait": {
                    "_aj_serialized": "ActiveJob::Serializers::DurationSerializer",
                    "value": 3600,
                    "parts": [["hours", 1]],
                },
                "params": {"url": "/a", "_aj_hash_with_indifferent_access": True},
                "user": {"_aj_globalid": "gid://app/User/1"},
                "_aj_symbol_keys": ["at", "kind", "wait", "params", "user"],
            }
        ]
    }
    assert activejob.unwrap_arguments(payload) == [
        {
            "at": "2024-05-01T12:00:00.000000000Z",
            "kind": "view",
            "wait": 3600,
            "params": {"url": "/a"},
            "user": "gid://app/User/1",
        }
    ]


def test_build_plain_has_sidekiq_key_order_and_jid() -> None:
    job = envelope.build([{"url": "https://a.example/"}], clock=lambda: 1795440775.7694116)
    assert list(job) == ["retry", "queue", "class", "args", "jid", "created_at", "enqueued_at"]
    assert re.fullmatch(r"[0-9a-f]{24}", job["jid"])
    assert envelope.encode(job).startswith(
        '{"retry":true,"queue":"default","class":"ProcessRequestJob","args":[{"url":"https://a.example/"}],"jid":"'
    )
    assert envelope.encode(job).endswith(',"created_at":1795440775.7694116,"enqueued_at":1795440775.7694116}')


def test_build_activejob_matches_the_rails_shape() -> None:
    options = JobOptions(activejob=True)
    job = envelope.build([{"url": "u", "properties": {"plan": "pro"}}], options, clock=lambda: 1795440775.5)
    captured = json.loads((CAPTURES / "activejob_symbol_keys.json").read_text())
    assert list(job) == list(captured)
    assert list(job["args"][0]) == list(captured["args"][0])
    assert job["args"][0]["enqueued_at"] == "2026-11-23T13:32:55Z"
    argument = job["args"][0]["arguments"][0]
    assert argument == {
        "url": "u",
        "properties": {"plan": "pro", "_aj_symbol_keys": []},
        "_aj_symbol_keys": ["url", "properties"],
    }
    decoded = envelope.decode(envelope.encode(job))
    assert decoded.arguments == [{"url": "u", "properties": {"plan": "pro"}}]


def test_build_sidekiq8_millisecond_timestamps() -> None:
    job = envelope.build([1], JobOptions(millis=True), clock=lambda: 1795440775.7694116)
    assert job["created_at"] == 1795440775769 and job["enqueued_at"] == 1795440775769
    assert '"created_at":1795440775769,' in envelope.encode(job)


def test_unknown_keys_pass_through_in_order() -> None:
    body = '{"retry":3,"queue":"q","class":"X","args":[],"jid":"ab","bid":"b1","tags":["t"],"created_at":1}'
    assert envelope.decode(body).encode() == body


@pytest.mark.parametrize(
    "body, reason",
    [
        (b"not json", "not JSON"),
        (b"[1]", "not a JSON object"),
        (b'{"args":[]}', "no class"),
        (b'{"class":"X","args":{}}', "args is not a list"),
        (b'{"class":"X","args":[NaN]}', "not JSON"),
        (b'{"class":"ActiveJob::QueueAdapters::SidekiqAdapter::JobWrapper","args":[1]}', "one hash"),
        (b"\xff\xfe", "not JSON"),
    ],
)
def test_decode_refuses_bad_jobs(body: bytes, reason: str) -> None:
    with pytest.raises(EnvelopeError, match=reason):
        envelope.decode(body)
