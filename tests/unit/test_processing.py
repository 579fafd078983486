"""Processing and sealing over the store protocol: stored events, live counters, the rollup's
seal, redelivery. Runs here against the in-memory store and, unchanged, against DynamoDB on
moto (tests/functional/test_processing_dynamodb.py): the store seam holds when both pass."""

import uuid
from pathlib import Path
from typing import Any

import pytest

from processor_lambda import events
from tally_aggregates.rollup import Rollup
from tally_contract import envelope
from tally_contract.envelope import JobOptions
from tally_store.base import Bucket
from tests.support.jobs import BOT, tally_job
from tests.support.processor_harness import NOW, Processor, make_processor

CAPTURES = Path(__file__).resolve().parents[1] / "support" / "vectors" / "sidekiq-6.4.1"
LATER = NOW + 3 * 86400


@pytest.fixture
def proc() -> Processor:
    return make_processor()


def test_tally_jobs_become_stored_events_and_counters(proc: Processor) -> None:
    results = proc.pipeline.process([tally_job("e1"), tally_job("e2", name="signup")])
    assert [r.ok for r in results] == [True, True]
    first, second = proc.stored()
    assert first["ip"] == "203.0.113.0"  # the site truncates IPs
    assert (first["path"], first["referrer_host"], first["utm_source"]) == ("/pricing", "news.example.net", "news")
    assert (first["browser"], first["device"], first["bot"]) == ("Chrome", "desktop", False)
    assert len(first["visitor_id"]) >= 16 and first["visitor_id"] == second["visitor_id"]
    assert first["properties"] == {"plan": "pro"} and second["name"] == "signup"
    assert "sent_at" not in first, "what is only in transit is not stored"
    total = proc.row("m", "2026-11-23T13:18")
    assert (total["pv"], total["ev"], total["ver"], total["dirty"]) == (1, 2, 1, "1")
    assert proc.row("h", "2026-11-23T13", ("page", "/pricing"))["pv"] == 1
    assert proc.row("d", "2026-11-23", ("event", "signup"))["ev"] == 1
    assert proc.row("d", "2026-11-23", ("browser", "Chrome"))["ev"] == 2


def test_bots_are_stored_but_only_counted_as_bots(proc: Processor) -> None:
    proc.pipeline.process([tally_job("b1", ua=BOT), tally_job("h1")])
    assert {e["event_id"]: e["bot"] for e in proc.stored()} == {"b1": True, "h1": False}
    total = proc.row("d", "2026-11-23")
    assert (total["pv"], total["bots"]) == (1, 1)
    assert proc.row("d", "2026-11-23", ("browser", "Chrome"))["pv"] == 1


@pytest.mark.parametrize("name", ["activejob_symbol_keys", "activejob_scheduled_member"])
def test_sidekiq_golden_vectors_process_into_events(proc: Processor, name: str) -> None:
    body = (CAPTURES / f"{name}.json").read_bytes()
    (result,) = proc.pipeline.process([body])
    assert result.ok, result.error
    (event,) = proc.stored()
    jid = envelope.decode(body).jid
    assert event["event_id"] == str(uuid.uuid5(events._JID_NAMESPACE, jid))  # stable across redelivery
    # A Rails job carries the raw URL and IP: the processor applies the site's allowlist and IP
    # handling itself (the same functions ingest applies before queueing).
    assert (event["url"], event["path"]) == ("https://example.com/a", "/a")
    assert event["time"] == event["event_time"] == "2024-05-01T12:00:00.000Z"
    assert (event["ip"], event["site"], event["os"]) == ("203.0.113.0", "shop", "Linux")
    again = proc.pipeline.process([body])
    assert again[0].ok and proc.copies() == 1, "the same job must map to the same stored event"


def test_plain_form_from_rails_keyword_args(proc: Processor) -> None:
    (result,) = proc.pipeline.process([(CAPTURES / "activejob_keyword_args.json").read_bytes()])
    assert not result.ok and result.error is not None and not result.error.retryable
    assert "url" in str(result.error)


def test_an_unknown_class_is_retried_and_garbage_is_not(proc: Processor) -> None:
    plain = (CAPTURES / "plain_push_bulk.json").read_bytes()
    results = proc.pipeline.process([plain, b"{not json", tally_job("ok")])
    assert [r.ok for r in results] == [False, False, True]
    unknown, garbage = results[0].error, results[1].error
    assert unknown is not None and unknown.retryable, "Sidekiq retries a class it cannot find"
    assert "HardWorker" in str(unknown)
    assert garbage is not None and not garbage.retryable


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
    assert proc.row("h", "2026-11-23T13")["ev"] == 1


def test_redelivered_batch_converges_to_the_same_state_after_rollup(proc: Processor) -> None:
    batch = [tally_job(f"e{i}", url=f"https://shop.example.com/p{i % 3}", ip=f"198.51.100.{i % 4}")
             for i in range(12)] + [tally_job("s1", name="signup"), tally_job("bot", ua=BOT)]  # fmt: skip
    proc.pipeline.process(batch)
    proc.rollup(at=LATER)
    once, stored_once = proc.aggregates(), proc.stored()
    proc.again().pipeline.process(batch)  # SQS or Lambda delivered the same batch again
    assert proc.row("h", "2026-11-23T13")["ev"] == 26  # live counters doubled...
    proc.rollup(at=LATER)
    twice = proc.aggregates()
    assert proc.stored() == stored_once
    sealed = {k: (v["spv"], v["sev"], v["suv"], v["sbots"]) for k, v in twice.items()}
    assert sealed == {k: (v["spv"], v["sev"], v["suv"], v["sbots"]) for k, v in once.items()}
    total = twice[("shop#d#2026-11-23", "total#")]
    assert (total["spv"], total["sev"], total["sbots"], total["suv"]) == (12, 13, 1, 5)  # 4 IPs + the signup
    assert "dirty" not in total


# -- the rollup ----------------------------------------------------------------------------
def test_open_minute_is_not_sealed_and_closed_one_is(proc: Processor) -> None:
    proc.pipeline.process([tally_job("a", at="2026-11-23T13:19:30.000Z")])
    report = proc.rollup(at=NOW)  # 13:20:00: the 13:19 minute closed less than 60 s ago
    assert report.sealed == 0
    assert "spv" not in proc.row("m", "2026-11-23T13:19")
    report = proc.rollup(at=NOW + 61)
    total = proc.row("m", "2026-11-23T13:19")
    assert report.sealed == 1 and (total["spv"], total["suv"]) == (1, 1) and "dirty" not in total


def test_a_bucket_that_moves_during_the_rollup_stays_dirty(proc: Processor) -> None:
    proc.pipeline.process([tally_job("a")])

    class Interleaved(Rollup):
        def _derive(self, bucket: Bucket, version: int, now: float, report: Any) -> Any:
            derived = super()._derive(bucket, version, now, report)
            if bucket.granularity == "m":
                proc.pipeline.process([tally_job("late")])  # another Lambda's batch lands now
            return derived

    report = Interleaved(proc.store, clock=lambda: LATER).run()
    assert report.still_dirty == 1
    minute = proc.row("m", "2026-11-23T13:18")
    assert minute["dirty"] == "1" and minute["spv"] == 1 and minute["pv"] == 2
    proc.rollup(at=LATER)
    assert "dirty" not in proc.row("m", "2026-11-23T13:18") and proc.row("d", "2026-11-23")["spv"] == 2


def test_hours_and_days_derive_from_sealed_minutes_one_pass_each(proc: Processor) -> None:
    proc.pipeline.process([tally_job("a"), tally_job("b", ip="198.51.100.7")])
    assert "dirty" not in proc.row("h", "2026-11-23T13"), "only minutes are marked by the processor"
    rollup = Rollup(proc.store, clock=lambda: NOW + 45 * 60)  # 14:05: hour 13 has ended, the day has not
    assert [rollup.run().sealed for _ in range(4)] == [1, 1, 1, 0]  # the minute, its hour, the open day
    assert proc.row("h", "2026-11-23T13")["suv"] == 2
    day = proc.row("d", "2026-11-23")
    assert (day["suv"], day["pv"], "dirty" in day) == (2, 2, False)
    visits = proc.row("d", "2026-11-23", ("visit", ""))
    assert (visits["svisits"], visits["sbounces"]) == (2, 2)


def test_the_rollup_seals_fresh_buckets_first_and_bounds_older_ones(proc: Processor) -> None:
    old = [tally_job(f"old{i}", at=f"2026-11-20T{i % 24:02d}:{i % 60:02d}:00.000Z") for i in range(40)]
    proc.pipeline.process([*old, tally_job("fresh")])
    rollup = Rollup(proc.store, clock=lambda: NOW + 61, limit=10)
    plan = rollup.plan(NOW + 61)
    assert plan[0].id == "2026-11-23T13:18" and len(plan) == 10, "today's minute first, within the limit"
    assert [b.id for b in plan[1:]] == sorted(b.id for b in plan[1:]), "then the oldest first"


def test_rollup_is_idempotent(proc: Processor) -> None:
    proc.pipeline.process([tally_job(f"e{i}") for i in range(5)])
    proc.rollup(at=LATER)
    first = proc.aggregates()
    proc.pipeline.process([tally_job("e0")])  # a redelivery marks the buckets dirty again
    proc.rollup(at=LATER + 5)
    again = proc.aggregates()
    assert _sealed(again) == _sealed(first)
    assert all("dirty" not in row for row in again.values())


def _sealed(rows: dict[tuple[str, str], dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    return {key: {name: value for name, value in row.items() if name.startswith("s")} for key, row in rows.items()}


def test_goals_and_declared_properties_are_counted_and_bounded(proc: Processor) -> None:
    jobs = [tally_job(f"p{i}", name="signup", at=f"2026-11-23T13:18:{i % 60:02d}.{i:03d}Z")
            for i in range(3)]  # fmt: skip
    jobs += [tally_job(f"d{i}", url=f"https://shop.example.com/docs/{i}", at=f"2026-11-23T13:18:{i % 60:02d}.500Z")
             for i in range(150)]  # fmt: skip
    for job, i in zip(jobs[3:], range(150), strict=True):  # 150 distinct values of a declared key
        proc.pipeline.process([job.replace('"plan":"pro"', f'"plan":"v{i}"')])
    proc.pipeline.process(jobs[:3])
    proc.rollup(at=LATER)
    rows = proc.sealed()
    assert rows[("m#2026-11-23T13:18", "goal", "event:signup")] == {"ev": 3, "uv": 1}
    assert rows[("d#2026-11-23", "goal", "page:/docs*")] == {"pv": 150, "ev": 150, "uv": 1}
    plans = {
        value: n for (bucket, family, value), n in rows.items() if bucket == "h#2026-11-23T13" and family == "prop:plan"
    }
    # The first 100 distinct values of the minute, in time order ("pro" of the signups first), then (other).
    assert len(plans) == 101 and plans["(other)"]["ev"] == 51
    assert plans["pro"]["ev"] == 3


def test_the_country_comes_from_the_edge_or_the_ip_and_only_the_code_is_kept(proc: Processor) -> None:
    proc.pipeline.process([tally_job("gb", ip="81.2.69.160"), tally_job("de", ip="81.2.69.160", country="de"),
                           tally_job("none", ip="198.51.100.7")])  # fmt: skip
    stored = {e["event_id"]: e for e in proc.stored()}
    assert (stored["gb"]["country"], stored["de"]["country"], stored["none"]["country"]) == ("GB", "DE", None)
    assert stored["gb"]["ip"] == "81.2.69.0", "the IP is stored as the site keeps it, the country beside it"


def test_a_flood_of_old_days_never_delays_today(proc: Processor) -> None:
    """Imported history (300 old days) and today's traffic: every run seals today's work first and
    at most its bounded share of the old, so today's minute, hour and day seal on time."""
    old = [tally_job(f"old{i}", at=_day_before(NOW, i + 2)) for i in range(300)]
    proc.pipeline.process([*old, tally_job("fresh", at="2026-11-23T12:58:30.000Z")])
    rollup = Rollup(proc.store, clock=lambda: NOW, limit=40)  # 13:20: 12:58 and hour 12 are due
    reports = [rollup.run() for _ in range(3)]
    assert all(r.planned <= 40 for r in reports)
    for granularity, bucket in (("m", "2026-11-23T12:58"), ("h", "2026-11-23T12"), ("d", "2026-11-23")):
        assert "dirty" not in proc.row(granularity, bucket), f"today's {granularity} waited behind old days"
    assert proc.row("d", "2026-11-23")["spv"] == 1
    assert sum(r.oldest_unsealed > 86400 for r in reports) == 3, "the old backlog is still there, and reported"


def _day_before(now: float, days: int) -> str:
    from datetime import UTC, datetime

    moment = datetime.fromtimestamp(now - days * 86400, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")
