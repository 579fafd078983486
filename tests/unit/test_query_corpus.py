"""POST /api/v2/query's engine (tally_query) against the oracle, over the traffic of
test_exactness.py (redeliveries, client resends, late batches, bots, visits across hours and
midnight): every corpus query (tests/support/query_corpus.py) in three time zones, on the
in-memory store and on SQLite. tests/functional/test_query_dynamodb.py runs it on moto."""

import random
from typing import Any

import pytest

from tests.support import query_corpus
from tests.support.processor_harness import make_processor, sqlite_processor
from tests.unit.test_exactness import START, deliveries, resends, traffic

LATER = START + 4 * 86400  # everything sealed


def settled(make: Any, seed: int) -> Any:
    proc = make()
    rng = random.Random(seed)
    jobs = traffic(rng, seed, 120)
    for batch in deliveries(rng, jobs + resends(rng, jobs)):
        proc.pipeline.process(batch)
    proc.rollup(at=LATER)
    return proc


@pytest.mark.parametrize("seed", [1, 2])
def test_the_engine_answers_the_corpus_as_the_oracle_does(seed: int) -> None:
    paths = query_corpus.check(settled(make_processor, seed), LATER)
    assert paths["aggregates"] >= 200 and paths["raw events"] >= 200  # Asia/Kolkata: half hours, scans


def test_the_engine_answers_the_corpus_on_sqlite(tmp_path: Any) -> None:
    """Local mode's default store: its sealed(buckets) read answers as the memory store's."""
    paths = query_corpus.check(settled(lambda: sqlite_processor(tmp_path / "query.db"), 3), LATER, ("UTC",))
    assert paths["aggregates"] >= 50 and paths["raw events"] >= 20
