"""Sealed aggregates equal the oracle's (tests/support/oracle.py) after any mix of redelivered,
reordered and late batches, rollups at any moment in between, bots and midnight crossings.
Here against the in-memory store; tests/functional/test_exactness_dynamodb.py runs it on moto."""

import random
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support import oracle
from tests.support.jobs import BOT, CHROME, tally_job
from tests.support.processor_harness import NOW, Processor, make_processor

PAGES = ["/", "/pricing", "/docs", "/blog/a"]
# 23:40 on the 22nd to 00:40 on the 23rd: hours, a day and a midnight to cross.
START = NOW - 13 * 3600 - 20 * 60 - 3600
EXAMPLES = 40


@pytest.fixture
def make() -> Any:
    return lambda: make_processor()


def traffic(seed: int, count: int) -> list[str]:
    rng = random.Random(seed)
    jobs = []
    for i in range(count):
        at = START + rng.uniform(0, 3 * 3600)
        stamp = f"{_iso(at)}"
        jobs.append(tally_job(
            f"e{seed}-{i}", name=rng.choice(["pageview", "pageview", "signup"]),
            url=f"https://shop.example.com{rng.choice(PAGES)}?utm_source={rng.choice(['news', 'ads'])}",
            ip=f"198.51.100.{rng.randrange(6)}", ua=BOT if rng.random() < 0.1 else CHROME, at=stamp,
        ))  # fmt: skip
    return jobs


def _iso(epoch: float) -> str:
    from datetime import UTC, datetime

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


def check(proc: Processor, seed: int) -> None:
    rng = random.Random(seed)
    moments = sorted(rng.uniform(START, START + 3 * 3600) for _ in range(rng.randint(0, 4)))
    batches = deliveries(rng, traffic(seed, rng.randint(1, 120)))
    for index, batch in enumerate(batches):
        proc.pipeline.process(batch)
        if moments and index == len(batches) * len(moments) // (len(moments) + 1):
            proc.rollup(at=moments.pop(0))  # a rollup while buckets are still open or filling
    proc.rollup(at=START + 5 * 86400)
    sealed = {key: _sealed(row) for key, row in proc.aggregates().items() if _sealed(row) or row.get("pv")}
    want = {(f"shop#{b.split('#')[0]}#{b.split('#')[1]}", f"{d}#{v}"): n for (b, d, v), n in
            oracle.expected(proc.stored()).items()}  # fmt: skip
    assert {k: v for k, v in sealed.items() if v} == want
    assert all("dirty" not in row for row in proc.aggregates().values()), "every bucket sealed"


def _sealed(row: dict[str, Any]) -> dict[str, int]:
    return {name[1:]: value for name, value in row.items() if name in ("spv", "sev", "suv", "sbots") and value}


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32))
def test_sealed_aggregates_equal_the_oracle(make: Any, seed: int) -> None:
    check(make(), seed)
