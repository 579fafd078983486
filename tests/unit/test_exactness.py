"""Sealed aggregates equal the oracle's (tests/support/oracle.py): every event-level row of
every minute, hour and day, and every visit row (visits, bounces, duration, pageviews, visitors
per family, per day and per starting hour), after any mix of redelivered, reordered and late
batches, rollups at any moment in between, bots, visits across hours and midnight. Here
against the in-memory store; tests/functional/test_exactness_dynamodb.py runs it on moto."""

import random
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support import oracle
from tests.support.jobs import BOT, CHROME, tally_job
from tests.support.processor_harness import NOW, Processor, make_processor

PAGES = ["/", "/pricing", "/docs", "/blog/a"]
AGENTS = [CHROME, BOT, "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
          "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"]  # fmt: skip
# 22:40 on the 22nd to 01:40 on the 23rd: hours, a day and a midnight to cross.
START = NOW - 14 * 3600 - 40 * 60
SPAN = 3 * 3600
EXAMPLES = 40


@pytest.fixture
def make() -> Any:
    return make_processor


def traffic(rng: random.Random, seed: int, count: int) -> list[str]:
    """Visitors (IP x agent) each with bursts of events: gaps under and over 30 minutes."""
    jobs = []
    for i in range(count):
        visitor = rng.randrange(8)
        burst = START + (visitor * 977 + rng.choice([0, 600, 2100, 5000, 7300])) % SPAN
        at = burst + rng.uniform(0, 900)
        name = rng.choice(["pageview", "pageview", "pageview", "signup", "engagement"])
        utm = rng.choice(["", "?utm_source=news&utm_medium=email&utm_campaign=fall", "?utm_source=ads"])
        jobs.append(tally_job(
            f"e{seed}-{i}", name=name, url=f"https://shop.example.com{rng.choice(PAGES)}{utm}",
            ip=f"198.51.100.{visitor}", ua=AGENTS[visitor % 3], at=_iso(at),
            referrer=rng.choice([None, "https://www.news.example.net/story", "https://shop.example.com/"]),
            country=["DE", "FR", None][visitor % 3],  # a trait of the IP, as the visitor id is
        ))  # fmt: skip
    return jobs


def resends(rng: random.Random, jobs: list[str]) -> list[str]:
    """Some events sent again by their client after a timeout: the same event id, a later time
    (seconds later, an hour later, the next day, or more than 24 hours later)."""
    from tally_contract import envelope

    again = []
    for body in rng.sample(jobs, k=len(jobs) // 5):
        job = envelope.decode(body)
        event = dict(job.arguments[0])
        later = _epoch(event["event_time"]) + rng.choice([5, 700, 3700, 80_000, 84_000, 86_000, 88_000, 90_000])
        event["event_time"] = event["received_at"] = _iso(later)
        again.append(envelope.encode(envelope.build([event])))
    return again


def _epoch(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def _iso(epoch: float) -> str:
    moment = datetime.fromtimestamp(epoch, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def deliveries(rng: random.Random, jobs: list[str]) -> list[list[str]]:
    """At-least-once: every job in some batch, some twice (whole batches, or mixed with others),
    batches in any order."""
    rng.shuffle(jobs)
    batches = [jobs[i : i + rng.randint(1, 25)] for i in range(0, len(jobs), 25)]
    again = [rng.sample(jobs, k=rng.randint(0, len(jobs) // 3)) for _ in range(rng.randint(0, 3))]
    everything = batches + [b for b in batches if rng.random() < 0.3] + again
    rng.shuffle(everything)
    return everything


def settle(proc: Processor, seed: int, count: int, at: float) -> Processor:
    """``count`` jobs of seeded traffic and their resends, delivered as deliveries() does, then
    every bucket rolled up at ``at`` (the read side's tests start from this)."""
    rng = random.Random(seed)
    jobs = traffic(rng, seed, count)
    for batch in deliveries(rng, jobs + resends(rng, jobs)):
        proc.pipeline.process(batch)
    proc.rollup(at=at)
    return proc


def check(proc: Processor, seed: int) -> None:
    rng = random.Random(seed)
    moments = sorted(rng.uniform(START, START + SPAN + 3600) for _ in range(rng.randint(0, 4)))
    jobs = traffic(rng, seed, rng.randint(1, 150))
    batches = deliveries(rng, jobs + resends(rng, jobs))
    for index, batch in enumerate(batches):
        proc.pipeline.process(batch)
        if moments and index == len(batches) * len(moments) // (len(moments) + 1):
            proc.rollup(at=moments.pop(0))  # a rollup while buckets are still open or filling
    proc.rollup(at=START + 5 * 86400)
    site = proc.sites.by_id("shop")
    assert proc.sealed() == oracle.expected(proc.stored_copies(), site.goals, site.props)
    assert all("dirty" not in row for row in proc.aggregates().values()), "every bucket sealed"


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32))
def test_sealed_aggregates_equal_the_oracle(make: Any, seed: int) -> None:
    check(make(), seed)
