"""The rollup's steady-state cost per day, from one measured pass of each kind.

The cost run (bench/cost_run.py) seals its traffic's minutes, then their hour, then the day
(its clock far ahead), each pass metered apart. At a steady ``rate`` of events/s one site's day
holds:

- 1,440 minute seals, each reading its minute's ``rate * 60`` raw events once;
- 24 hour derivations, each reading its 60 minutes' summaries;
- 24 day refreshes (one after each hour), each reading the hours' summaries so far: on average
  ``DAY_REFRESH_HOURS`` hours' worth;
- 1,440 scheduled runs (the dirty index, the rollup queue's depth, one work message, the
  heartbeat) and a worker invocation per work message.

A pass's requests are counted as measured (their read and write units at their floor); its
bytes read and written grow with the events behind it: scaled from the run's events to the
events behind the pass at ``rate``. Lambda time: ROUND_TRIP per request plus the rollup's CPU
per event behind a pass (measured against the in-memory store, so moto's own CPU is not in it).
"""

from collections import Counter
from typing import Any

RUNS_PER_DAY = 1440
DAY = 86400.0
DAY_REFRESH_HOURS = 12.5
ROUND_TRIP = 0.005  # seconds a DynamoDB or SQS request waits on the network (bench/fake_dynamodb.py's delay)
SPAN = {"m": 60.0, "h": 3600.0, "d": 3600.0 * DAY_REFRESH_HOURS}  # the events behind one pass, in seconds of traffic
PASSES = {"m": 1440, "h": 24, "d": 24}
SCHEDULE_REQUESTS = 4  # dirty-index Query, GetQueueAttributes, SendMessageBatch, heartbeat PutItem
WORK_REQUESTS = 3  # the event source's ReceiveMessage and DeleteMessage, per work message, and its long polls


def per_pass(measured: dict[str, Any]) -> dict[str, dict[str, float]]:
    """Measured figures of one pass of each granularity (means over the run's buckets)."""
    out: dict[str, dict[str, float]] = {}
    for g, stats in measured["rollup_passes"].items():
        buckets = max(1.0, float(stats.get("buckets", 0)))
        sums: Counter[str] = Counter()
        for (function, phase, _op, kind), amount in measured["units"].items():
            if function == "rollup_worker" and phase == f"rollup:{g}":
                sums[kind] += amount
        reads = writes = 0
        for (function, phase, op), count in measured["requests_by_op"].items():
            if function == "rollup_worker" and phase == f"rollup:{g}":
                if op in ("dynamodb:Query", "dynamodb:GetItem", "dynamodb:BatchGetItem"):
                    reads += count
                elif op.startswith("dynamodb:"):
                    writes += count
        out[g] = {"reads": reads / buckets, "writes": writes / buckets, "bytes_read": sums["bytes_read"] / buckets,
                  "bytes_written": sums["bytes_written"] / buckets, "events": float(measured["events"])}  # fmt: skip
    return out


def steady_state(measured: dict[str, Any], rate: float, memory_mb: int, cpu_per_event: float) -> dict[str, float]:
    """Per day at ``rate`` events/s: RRU, WRU, GB-seconds, Lambda invocations and SQS requests."""
    rru = wru = seconds = 0.0
    for g, p in per_pass(measured).items():
        scale = rate * SPAN[g] / max(1.0, p["events"])
        reads = p["reads"] * 0.5 + p["bytes_read"] * scale / 8192  # eventually consistent, 4 KB a half unit
        writes = p["writes"] + p["bytes_written"] * scale / 1024
        rru += PASSES[g] * reads
        wru += PASSES[g] * writes
        seconds += PASSES[g] * ((p["reads"] + p["writes"]) * ROUND_TRIP + rate * SPAN[g] * cpu_per_event)
    rru += RUNS_PER_DAY * 0.5  # the dirty-index Query
    wru += RUNS_PER_DAY * 1.0  # the heartbeat
    seconds += RUNS_PER_DAY * SCHEDULE_REQUESTS * ROUND_TRIP
    work_messages = RUNS_PER_DAY
    return {
        "rru": rru, "wru": wru, "gb_seconds": seconds * memory_mb / 1024,
        "invocations": float(RUNS_PER_DAY + work_messages),
        "sqs_requests": float(RUNS_PER_DAY * 2 + work_messages * WORK_REQUESTS),
        "events": DAY * rate, "cpu_per_event": cpu_per_event,
    }  # fmt: skip


def cpu_per_event(events: int = 20_000, seed: int = 5) -> float:
    """The rollup's CPU seconds per event through its minute, hour and day passes, against the
    in-memory store: an hour of ``events`` events (traffic_hour), sealed, derived, refreshed."""
    import time

    from tally_aggregates.rollup import Rollup

    store, start = traffic_hour(events, seed)
    started = time.process_time()
    Rollup(store, clock=lambda: start + 2 * 86400).settle()
    return (time.process_time() - started) / events


def stored_bytes(events: int = 30_000, seed: int = 5) -> dict[str, float]:
    """Bytes per event the rollup keeps, by blob, for an hour of ``events`` events."""
    from tally_aggregates.rollup import Rollup

    store, start = traffic_hour(events, seed)
    Rollup(store, clock=lambda: start + 2 * 86400).settle()
    sizes: Counter[str] = Counter()
    for (bucket, name), (_, blob) in store.kept.items():
        sizes[f"{bucket.granularity}:{name}"] += len(blob)
    return {name: size / events for name, size in sorted(sizes.items())}


def traffic_hour(events: int, seed: int) -> tuple[Any, float]:
    """An hour of one site's traffic in an in-memory store: tally_cli.traffic's pages, referrers
    and agents, random event ids as clients make them, and about one visitor per two events
    (half the IPs drawn from 2.5 million: a site with many one-visit visitors, the costlier kind
    for the rollup's per-visitor summaries)."""
    import random
    import uuid

    from tally_aggregates.counters import sum_batch
    from tally_cli.traffic import Traffic
    from tally_store.memory import MemoryStore

    store, traffic, rng = MemoryStore(), Traffic(random.Random(seed)), random.Random(seed)
    start = 1_795_392_000.0
    batch = []
    for index in range(events):
        fields = traffic.event()
        if rng.random() < 0.5:
            fields["ip"] = f"198.{rng.randrange(40)}.{rng.randrange(250)}.{rng.randrange(250)}"
        event = _event(fields, index, start + rng.uniform(0, 3600))
        event["event_id"] = str(uuid.UUID(int=rng.getrandbits(128)))
        batch.append(event)
    store.write_events([(event, 30) for event in batch], start)
    store.add_counters(sum_batch(batch), start)
    return store, start


def _event(fields: dict[str, Any], index: int, at: float) -> dict[str, Any]:
    from processor_lambda.enrich import enrich
    from tally_contract.timeutil import format_iso

    stamp = format_iso(at)
    raw = {"event_id": f"e{index:08d}", "site": "bench", "name": "pageview", "event_time": stamp,
           "received_at": stamp, "properties": {}, **fields}  # fmt: skip
    return enrich(raw, "truncate", b"bench-salt")
