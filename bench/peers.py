"""Hosted peers' list prices per million events (docs/peers.json), beside Tally's measured cost.

Each figure is recomputed from the inputs stored with it (tiers, or a plan's price and volume),
so the JSON cannot drift from its own arithmetic; tests/unit/test_bench_peers.py checks that and that
docs/benchmarks.md shows ``table()``. Peers with no sourced price carry no figure.
"""

import json
from pathlib import Path
from typing import Any

PEERS = Path(__file__).resolve().parent.parent / "docs" / "peers.json"
NOT_FOUND = "no source found"


def load() -> list[dict[str, Any]]:
    peers: list[dict[str, Any]] = json.loads(PEERS.read_text())["peers"]
    return peers


def tiered_usd(events: float, tiers: list[list[Any]]) -> float:
    """A month's bill for ``events`` under graduated tiers: [[up_to or None, usd_per_event], ...]."""
    total, floor = 0.0, 0.0
    for up_to, usd in tiers:
        top = events if up_to is None else min(events, float(up_to))
        if top > floor:
            total += (top - floor) * float(usd)
        if up_to is None or events <= up_to:
            break
        floor = float(up_to)
    return total


def usd_per_million(compute: dict[str, Any] | None) -> float | None:
    """$ per million events from a peer's stated price; None when it is not priced per event."""
    if compute is None:
        return None
    events = float(compute["events_per_month"])
    if compute["kind"] == "tiered":
        monthly = tiered_usd(events, compute["tiers"])
    elif compute["kind"] == "plan":
        monthly = float(compute.get("usd_per_month") or compute["usd_per_year"] / 12)
    else:
        raise ValueError(f"unknown kind {compute['kind']!r}")
    return monthly / (events / 1_000_000)


def _usd(peer: dict[str, Any]) -> str:
    if peer["usd_per_million"] is not None:
        return f"${peer['usd_per_million']:,.2f}"
    return NOT_FOUND if peer["source"] == NOT_FOUND else "not per event"


def table() -> str:
    """The peers as docs/benchmarks.md shows them (``python -m bench.cost --peers``)."""
    lines = [
        "| peer | plan | $ per million events | how converted | source | source date |",
        "|---|---|---|---|---|---|",
    ]
    for p in load():
        lines.append(
            f"| {p['peer']} | {p['plan']} | {_usd(p)} | {p['conversion']} | {p['source']} | {p['source_date']} |"
        )
    return "\n".join(lines)


def beside(tally: dict[str, float]) -> list[dict[str, Any]]:
    """Each peer with its figure as a multiple of each of Tally's ($ per million by client kind)."""
    rows = []
    for peer in load():
        usd = peer["usd_per_million"]
        times = {kind: usd / own for kind, own in tally.items() if usd is not None and own > 0}
        rows.append({**peer, "times_tally": times})
    return rows


def report(tally: dict[str, float]) -> list[dict[str, Any]]:
    """Print the peers beside Tally's figures; returns what went into the results JSON."""
    rows = beside(tally)
    kinds = list(tally)
    print(f"\nhosted peers, list prices ({PEERS.name}): storage, dashboards, support included; Tally: AWS bill only")
    header = "".join(f" {'x ' + kind:>12}" for kind in kinds)
    print(f"  {'peer, plan':<74} {'$ / million':>12}{header}")
    for row in rows:
        usd = "-" if row["usd_per_million"] is None else f"{row['usd_per_million']:.2f}"
        times = "".join(f" {row['times_tally'].get(kind, 0):>12.1f}" if row["times_tally"] else f" {'-':>12}"
                        for kind in kinds)  # fmt: skip
        print(f"  {(row['peer'] + ', ' + row['plan'])[:74]:<74} {usd:>12}{times}")
    own = "".join(f" {kind} {usd:.3f}" for kind, usd in tally.items())
    print(f"  Tally, measured above ($ per million):{own}")
    return rows
