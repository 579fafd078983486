"""docs/peers.json: every figure has a source and follows from the price it quotes, and
docs/benchmarks.md shows the same table (python -m bench.cost --peers)."""

from pathlib import Path
from typing import Any

import pytest

from bench import peers

ROOT = Path(__file__).resolve().parents[2]
FIELDS = {"peer", "plan", "compute", "usd_per_million", "price_statement", "conversion", "source", "source_date"}


def test_docs_show_the_peers_table() -> None:
    table = peers.table()
    assert table in (ROOT / "docs" / "benchmarks.md").read_text()
    assert len(table.splitlines()) == 2 + len(peers.load())


@pytest.mark.parametrize("peer", peers.load(), ids=lambda p: f"{p['peer']}: {p['plan']}")
def test_each_peer_has_a_source_and_its_own_arithmetic(peer: dict[str, Any]) -> None:
    assert set(peer) == FIELDS
    assert all("|" not in str(value) for value in peer.values())  # one table cell each
    if peer["source"] == peers.NOT_FOUND:
        assert peer["usd_per_million"] is None and peer["compute"] is None
        assert peer["price_statement"] == peers.NOT_FOUND
        return
    source = str(peer["source"])
    assert source.startswith(("https://", "github:")), source
    if source.startswith("github:"):
        assert " @ " in source  # a repository file is cited at a commit
    assert peer["source_date"] and peer["price_statement"] and peer["conversion"]
    computed = peers.usd_per_million(peer["compute"])
    if computed is None:
        assert peer["usd_per_million"] is None
    else:
        assert peer["usd_per_million"] == round(computed, 2)


def test_tiers_bill_each_band_at_its_own_price() -> None:
    tiers: list[list[Any]] = [[1_000_000, 0], [2_000_000, 0.00005], [15_000_000, 0.0000343], [None, 0.000009]]
    assert peers.tiered_usd(900_000, tiers) == 0
    assert peers.tiered_usd(1_500_000, tiers) == pytest.approx(25.0)
    # PostHog's own example: 10M anonymous events a month "would pay just $324 per month".
    assert peers.tiered_usd(10_000_000, tiers) == pytest.approx(324.40)
    assert peers.tiered_usd(16_000_000, tiers) == pytest.approx(50 + 13_000_000 * 0.0000343 + 1_000_000 * 0.000009)
    assert peers.usd_per_million({"kind": "plan", "usd_per_year": 120, "events_per_month": 2_000_000}) == 5.0


def test_peers_are_set_beside_tallys_figures() -> None:
    rows = peers.beside({"batch20": 2.0})
    priced = [row for row in rows if row["usd_per_million"] is not None]
    assert priced and all(row["times_tally"]["batch20"] == row["usd_per_million"] / 2.0 for row in priced)
    assert all(row["times_tally"] == {} for row in rows if row["usd_per_million"] is None)
