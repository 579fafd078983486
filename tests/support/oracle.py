"""The brute-force oracle: every aggregate computed straight from the list of distinct stored
events, independently of tally_aggregates (no shared code), to hold the rollup's sealed
values against."""

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

# Dimension -> event field, written out again on purpose (not imported from the counters).
BY = {"page": "path", "ref": "referrer_host", "browser": "browser", "os": "os", "device": "device",
      "event": "name", "utm": "utm_source"}  # fmt: skip
WIDTH = {"m": 16, "h": 13, "d": 10}


def expected(events: Iterable[dict[str, Any]]) -> dict[tuple[str, str, str], dict[str, int]]:
    """(granularity#bucket, dimension, value) -> {pv, ev, uv, bots}, zeros left out."""
    counts: dict[tuple[str, str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    visitors: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    for event in {e["event_id"]: e for e in events}.values():
        for granularity, width in WIDTH.items():
            bucket = f"{granularity}#{event['event_time'][:width]}"
            if event["bot"]:
                counts[(bucket, "total", "")]["bots"] += 1
                continue
            rows = [("total", "")] + [(d, str(event[f])[:512]) for d, f in BY.items() if event.get(f)]
            for dimension, value in rows:
                key = (bucket, dimension, value)
                counts[key]["ev"] += 1
                counts[key]["pv"] += event["name"] == "pageview"
                if event.get("visitor_id"):
                    visitors[key].add(event["visitor_id"])
    for key, ids in visitors.items():
        counts[key]["uv"] = len(ids)
    return {key: {name: n for name, n in values.items() if n} for key, values in counts.items()}
