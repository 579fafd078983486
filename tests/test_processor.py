"""The processor against moto DynamoDB: stored rows, counters, exactness after redelivery."""

import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from processor_lambda import events, items, keys
from tally_contract import envelope
from tally_contract.envelope import JobOptions
from tests.processor_harness import NOW, Processor, make_processor

CAPTURES = Path(__file__).resolve().parent / "vectors" / "sidekiq-6.4.1"
CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36"
)
BOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"


PRICING = "https://shop.example.com/pricing?utm_source=news"


def tally_job(event_id: str, *, name: str = "pageview", url: str = PRICING, ip: str = "203.0.113.9",
              ua: str = CHROME, at: str = "2026-11-23T13:18:30.000Z",
              activejob: bool = False) -> str:  # fmt: skip
    event = {"event_id": event_id, "site": "shop", "name": name, "url": url,
             "referrer": "https://www.news.example.net/story", "time": None, "sent_at": None,
             "received_at": at, "event_time": at, "ip": ip, "user_agent": ua,
             "properties": {"plan": "pro"}}  # fmt: skip
    return envelope.encode(envelope.build([event], JobOptions(activejob=activejob)))


@pytest.fixture
def proc(aws: None, boto: Any) -> Processor:
    return make_processor(boto.client("dynamodb"))


def test_tally_jobs_become_raw_packs_and_counters(proc: Processor) -> None:
    results = proc.pipeline.process([tally_job("e1"), tally_job("e2", name="signup")])
    assert [r.ok for r in results] == [True, True]
    packs = {item["pk"]["S"]: item for item in proc.raw_items()}
    for event_id in ("e1", "e2"):
        item = packs[f"shop#2026-11-23T13#{keys.shard(event_id):02d}"]
        assert event_id in [e["event_id"] for e in items.events_of(item)]
        newest, digest = item["sk"]["S"].rsplit("#", 1)
        assert newest.startswith("2026-11-23T13:18:") and len(digest) == 16
        assert int(item["ttl"]["N"]) == int(NOW) + 30 * 86400
        assert len(item["z"]["B"]) < 1024, "one write unit"
    first, second = proc.stored()
    assert first["ip"] == "203.0.113.0"  # the site truncates IPs
    assert (first["path"], first["referrer_host"], first["utm_source"]) == ("/pricing", "news.example.net", "news")
    assert (first["browser"], first["device"], first["bot"]) == ("Chrome", "desktop", False)
    assert len(first["visitor_id"]) >= 16 and first["visitor_id"] == second["visitor_id"]
    assert first["properties"] == {"plan": "pro"} and second["name"] == "signup"
    total = proc.aggregate("shop#m#2026-11-23T13:18")
    assert (total["pv"], total["ev"], total["ver"], total["dirty"]) == (1, 2, 1, "1")
    assert proc.aggregate("shop#h#2026-11-23T13", "page#/pricing")["pv"] == 1
    assert proc.aggregate("shop#d#2026-11-23", "event#signup")["ev"] == 1
    assert proc.aggregate("shop#d#2026-11-23", "browser#Chrome")["ev"] == 2


def test_one_counter_update_per_distinct_counter_per_batch(proc: Processor) -> None:
    calls: list[str] = []
    proc.client.meta.events.register("before-call.dynamodb.*", lambda model, **_: calls.append(model.name))
    proc.pipeline.process([tally_job(f"e{i}") for i in range(60)])
    assert calls.count("BatchWriteItem") == 1  # 60 events of one minute: one pack per shard, one call
    distinct = len(proc.aggregates())
    assert calls.count("UpdateItem") == distinct


def test_bots_are_stored_but_only_counted_as_bots(proc: Processor) -> None:
    proc.pipeline.process([tally_job("b1", ua=BOT), tally_job("h1")])
    assert {e["event_id"]: e["bot"] for e in proc.stored()} == {"b1": True, "h1": False}
    total = proc.aggregate("shop#d#2026-11-23")
    assert (total["pv"], total["bots"]) == (1, 1)
    assert proc.aggregate("shop#d#2026-11-23", "browser#Chrome")["pv"] == 1


@pytest.mark.parametrize("name", ["activejob_symbol_keys", "activejob_scheduled_member"])
def test_sidekiq_golden_vectors_process_into_rows(proc: Processor, name: str) -> None:
    body = (CAPTURES / f"{name}.json").read_bytes()
    (result,) = proc.pipeline.process([body])
    assert result.ok, result.error
    (event,) = proc.stored()
    jid = envelope.decode(body).jid
    assert event["event_id"] == str(uuid.uuid5(events._JID_NAMESPACE, jid))  # stable across redelivery
    # A Rails job carries the raw URL and IP: the processor applies the site's allowlist and
    # IP handling itself (the same functions ingest applies before queueing).
    assert (event["url"], event["path"]) == ("https://example.com/a", "/a")
    assert event["time"] == event["event_time"] == "2024-05-01T12:00:00.000Z"
    assert (event["ip"], event["site"], event["os"]) == ("203.0.113.0", "shop", "Linux")
    again = proc.pipeline.process([body])
    assert again[0].ok and len(proc.raw_items()) == 1, "the same job must map to the same pack"


def test_plain_form_from_rails_keyword_args(proc: Processor) -> None:
    (result,) = proc.pipeline.process([(CAPTURES / "activejob_keyword_args.json").read_bytes()])
    assert not result.ok and result.error is not None and not result.error.retryable
    assert "url" in str(result.error)


def test_unknown_class_and_garbage_fail_without_retry(proc: Processor) -> None:
    plain = (CAPTURES / "plain_push_bulk.json").read_bytes()
    results = proc.pipeline.process([plain, b"{not json", tally_job("ok")])
    assert [r.ok for r in results] == [False, False, True]
    assert all(r.error is not None and not r.error.retryable for r in results[:2])
    assert "HardWorker" in str(results[0].error)


def test_user_registered_job_classes_run_and_fail_as_data(proc: Processor) -> None:
    seen: list[Any] = []
    proc.registry.register("HardWorker", lambda arguments, job: seen.append(arguments))

    @proc.registry.job("Exploding")
    def explode(arguments: list[Any], job: Any) -> None:
        raise RuntimeError("boom")

    boom = envelope.encode(envelope.build([1], JobOptions(job_class="Exploding")))
    results = proc.pipeline.process([(CAPTURES / "plain_push_bulk.json").read_bytes(), boom])
    assert seen == [[4, "b"]]
    assert results[0].ok and not results[1].ok
    assert results[1].error is not None and results[1].error.retryable and "boom" in str(results[1].error)


def test_duplicate_in_one_batch_is_counted_once(proc: Processor) -> None:
    job = tally_job("dup")
    assert all(r.ok for r in proc.pipeline.process([job, job]))
    assert proc.aggregate("shop#h#2026-11-23T13")["ev"] == 1


def test_redelivered_batch_converges_to_the_same_state_after_rollup(proc: Processor, boto: Any) -> None:
    batch = [tally_job(f"e{i}", url=f"https://shop.example.com/p{i % 3}", ip=f"198.51.100.{i % 4}")
             for i in range(12)] + [tally_job("s1", name="signup"), tally_job("bot", ua=BOT)]  # fmt: skip
    proc.pipeline.process(batch)
    proc.rollup(at=NOW + 3 * 86400)
    once = proc.aggregates()
    raw_once = sorted(json.dumps(i, sort_keys=True, default=bytes.hex) for i in proc.raw_items())

    other = make_processor_again(proc, boto)
    other.pipeline.process(batch)  # SQS or Lambda delivered the same batch again
    assert proc.aggregate("shop#h#2026-11-23T13")["ev"] == 26  # live counters doubled...
    proc.rollup(at=NOW + 3 * 86400)
    twice = proc.aggregates()
    assert sorted(json.dumps(i, sort_keys=True, default=bytes.hex) for i in proc.raw_items()) == raw_once
    sealed = {k: (v["spv"], v["sev"], v["suv"], v["sbots"]) for k, v in twice.items()}
    assert sealed == {k: (v["spv"], v["sev"], v["suv"], v["sbots"]) for k, v in once.items()}
    total = twice[("shop#d#2026-11-23", "total#")]
    assert (total["spv"], total["sev"], total["sbots"], total["suv"]) == (12, 13, 1, 5)  # 4 IPs + the signup
    assert "dirty" not in total


def make_processor_again(proc: Processor, boto: Any) -> Processor:
    """A second processor instance (another Lambda) on the same tables."""
    from processor_lambda.pipeline import PROCESS_REQUEST_JOB, Pipeline
    from processor_lambda.registry import Registry
    from processor_lambda.request_job import RequestProcessor, SiteSettings

    registry = Registry()
    registry.register_batch(PROCESS_REQUEST_JOB, RequestProcessor(
        proc.store, proc.tables, SiteSettings(proc.sites.by_id), default_site="shop", clock=lambda: NOW))  # fmt: skip
    return Processor(proc.client, proc.store, proc.tables, proc.sites, registry, Pipeline(registry))
