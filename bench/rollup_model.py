"""The rollup's steady-state cost per event, from one measured rollup run.

A rollup run's cost is not proportional to the events of one bench run: every minute it seals
the closed minute buckets and refreshes the open hour bucket (every 300 s) and day bucket
(every hour), each refresh re-reading the bucket's raw events so far. So the bench measures
one pass per granularity (raw-event Queries, bytes read per event, seal writes, GetItem, wall
time) and this module lays those passes over a day of steady traffic at ``rate`` events/s:

- a bucket of span S gets S/refresh - 1 refreshes and one seal; on average a refresh reads
  half the bucket, so the raw events read per bucket are S * rate * (1 + refreshes / 2);
- a pass costs its Queries at their floor (0.5 RRU each, eventually consistent) plus the bytes
  read / 8 KB, one GetItem (1 RRU, consistent) and its seal writes (as measured);
- wall time = per-Query time * Queries + per-event time * events read, the two fitted from the
  minute pass (16 Queries) and the day pass (384 Queries) over the same events;
- every run (once a minute) also queries the dirty index and reads the open hour and day
  buckets' totals (GetItem) to see whether a refresh is due, and is one Lambda invocation.
"""

from typing import Any

RUNS_PER_DAY = 1440  # the schedule: once a minute
DAY = 86400.0


def per_pass(measured: dict[str, Any]) -> dict[str, dict[str, float]]:
    """Measured cost of one pass over one bucket, per granularity."""
    out: dict[str, dict[str, float]] = {}
    for g, stats in measured["rollup_passes"].items():
        buckets = max(1, stats.get("buckets", 0))
        unit = {u: 0.0 for u in ("queries", "bytes_read", "wru")}
        for key, amount in measured["units"].items():
            function, phase, op, kind = key
            if function != "rollup" or phase != f"rollup:{g}":
                continue
            if op == "dynamodb:Query" and kind == "bytes_read":
                unit["bytes_read"] += amount
            elif kind == "dynamodb_wru":
                unit["wru"] += amount
        queries = sum(n for (f, p, op), n in measured["requests_by_op"].items()
                      if f == "rollup" and p == f"rollup:{g}" and op == "dynamodb:Query")  # fmt: skip
        out[g] = {"queries": queries / buckets, "bytes_read": unit["bytes_read"] / buckets,
                  "wru": unit["wru"] / buckets, "events_read": stats.get("events_read", 0) / buckets,
                  "seconds": stats.get("seconds", 0.0) / buckets}  # fmt: skip
    return out


def fit_time(passes: dict[str, dict[str, float]]) -> tuple[float, float]:
    """(seconds per Query, seconds per event read) from the minute and the day pass."""
    m, d = passes["m"], passes["d"]
    per_query = max(0.0, (d["seconds"] - m["seconds"]) / max(1.0, d["queries"] - m["queries"]))
    per_event = max(0.0, (m["seconds"] - per_query * m["queries"]) / max(1.0, m["events_read"]))
    return per_query, per_event


# The rollup seals a bucket once, after it ended (tally_aggregates/rollup.py), and refreshes no
# open bucket: the dashboard reads an open bucket's live counters.
NO_REFRESH: dict[str, float | None] = {"m": None, "h": None, "d": None}


def steady_state(
    measured: dict[str, Any], rate: float, memory_mb: int, refresh: dict[str, float | None] | None = None
) -> dict[str, float]:
    """Per day at ``rate`` events/s: RRU, WRU, GB-seconds and invocations of the rollup
    (``refresh``: seconds between refreshes of an open bucket, by granularity, for a lever)."""
    from tally_store.buckets import STEP

    refresh = refresh or NO_REFRESH
    passes = per_pass(measured)
    per_query, per_event = fit_time(passes)
    total_events = sum(p["events_read"] for p in passes.values()) or 1.0
    bytes_per_event = sum(p["bytes_read"] for p in passes.values()) / total_events
    rru = RUNS_PER_DAY * (0.5 + 2.0)  # the dirty-index Query; the open hour's and day's totals
    wru = seconds = 0.0
    for g, p in passes.items():
        span = STEP[g].total_seconds()
        every = refresh[g]
        count = 0 if every is None else span / every - 1
        buckets = DAY / span
        read = span * rate * (1 + count / 2)
        rru += buckets * ((count + 1) * (p["queries"] * 0.5 + 1) + read * bytes_per_event / 8192)
        wru += buckets * (count + 1) * p["wru"]
        seconds += buckets * ((count + 1) * p["queries"] * per_query + read * per_event)
    return {"rru": rru, "wru": wru, "gb_seconds": seconds * memory_mb / 1024, "invocations": float(RUNS_PER_DAY),
            "events": DAY * rate, "seconds_per_query": per_query, "seconds_per_event": per_event,
            "bytes_per_event": bytes_per_event}  # fmt: skip
