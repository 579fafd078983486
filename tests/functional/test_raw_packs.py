"""Raw events packed and compressed (tally_store/dynamodb_packs.py): the write-unit saving is real,
a redelivery never loses or double-counts an event, and packs stay inside DynamoDB's limits."""

import math
import random
import uuid
import zlib
from typing import Any

import pytest

from tally_cli.traffic import Traffic
from tally_contract import envelope
from tally_store import dynamodb_packs as items
from tests.support.processor_harness import NOW, Processor, make_processor

MINUTE = "2026-11-23T13:18"


def realistic_jobs(count: int, seed: int = 3, minute: str = MINUTE) -> list[str]:
    """``count`` jobs of tally_cli.traffic's weighted pages, referrers, agents and IPs."""
    rng, traffic = random.Random(seed), Traffic(random.Random(seed))
    jobs = []
    for i in range(count):
        at = f"{minute}:{i * 60 // count:02d}.{rng.randrange(1000):03d}Z"
        event = {"event_id": uuid.UUID(int=rng.getrandbits(128)).hex, "site": "shop", "name": "pageview",
                 "time": None, "sent_at": None, "received_at": at, "event_time": at, "properties": {},
                 **traffic.event()}  # fmt: skip
        jobs.append(envelope.encode(envelope.build([event])))
    return jobs


def write_units(item: dict[str, Any]) -> int:
    """DynamoDB's item size: attribute names plus values (numbers approximated by their digits)."""
    size = sum(len(name) + len(next(iter(value.values()))) for name, value in item.items())
    return math.ceil(size / 1024)


@pytest.fixture
def proc(aws: None, boto: Any) -> Processor:
    return make_processor(boto.client("dynamodb"))


def test_a_busy_minute_costs_a_fraction_of_a_write_unit_per_event(proc: Processor) -> None:
    assert all(r.ok for r in proc.pipeline.process(realistic_jobs(1000)))
    packs = proc.raw_items()
    # One pack per shard for each slice of 500 jobs the processor prepares while writing.
    assert len(packs) == 2 * items.SHARDS
    units = sum(write_units(pack) for pack in packs)
    plain = sum(len(items._encode(e)) for e in proc.stored())
    # One item per event cost 1,000 units here; packed, the same events cost well under a fifth.
    assert units < 200, (units, plain)
    assert len(proc.stored()) == 1000


def test_a_redelivered_event_beside_new_ones_is_stored_again_but_counted_once(proc: Processor) -> None:
    first, later = realistic_jobs(40), realistic_jobs(40, seed=4)
    assert all(r.ok for r in proc.pipeline.process(first))
    before = {(p["pk"]["S"], p["sk"]["S"]): p for p in proc.raw_items()}
    # Half of the first batch comes back (a failed delete, a timeout) mixed with new events.
    assert all(r.ok for r in proc.pipeline.process(first[:20] + later))
    after = {(p["pk"]["S"], p["sk"]["S"]): p for p in proc.raw_items()}
    assert all(after[key] == pack for key, pack in before.items()), "no pack of the first batch overwritten"
    copies = [e["event_id"] for pack in after.values() for e in items.events_of(pack)]
    assert len(copies) == 100 and len(set(copies)) == 80
    report = proc.rollup(at=NOW + 3 * 86400)
    sealed = proc.aggregate("shop#d#2026-11-23")
    unique = proc.stored()
    assert len(unique) == 80
    # The rollup counts each event once however many packs hold it (bots in their own total).
    assert (sealed["sev"], sealed["sbots"]) == (sum(not e["bot"] for e in unique), sum(e["bot"] for e in unique))
    # No first-batch pack is inside a later one (each also holds events of the half that did
    # not come back), so none is redundant: the 20 extra copies stay, counted once.
    assert report.packs_removed == 0 and len(proc.raw_items()) == len(after)


def test_a_batch_delivered_again_whole_ends_stored_once_after_the_rollup(proc: Processor) -> None:
    first, later = realistic_jobs(40), realistic_jobs(40, seed=4)
    assert all(r.ok for r in proc.pipeline.process(first))
    assert all(r.ok for r in proc.pipeline.process(first + later))  # beside new events
    assert len([e for pack in proc.raw_items() for e in items.events_of(pack)]) == 120
    report = proc.rollup(at=NOW + 3 * 86400)
    copies = [e["event_id"] for pack in proc.raw_items() for e in items.events_of(pack)]
    assert report.packs_removed == items.SHARDS, "each first-batch pack sits inside a larger one"
    assert len(copies) == len(set(copies)) == 80
    assert proc.aggregate("shop#d#2026-11-23")["sev"] + proc.aggregate("shop#d#2026-11-23")["sbots"] == 80


def test_packs_split_by_minute_and_by_size() -> None:
    base = {"site": "shop", "url": "https://shop.example.com/", "name": "pageview"}
    events = [({**base, "event_id": f"e{i:04d}", "event_time": f"{MINUTE}:59.{i:03d}Z"}, 30) for i in range(10)]
    events.append(({**base, "event_id": "e9999", "event_time": "2026-11-23T13:19:00.000Z"}, 30))
    # 20 events of ~25 KB in one shard: 500 KB of JSON, more than one pack may hold.
    heavy_ids = [i for i in (f"h{n:04d}" for n in range(400)) if items.shard(i) == 0][:20]
    big = {f"k{j}": f"{random.getrandbits(32):08x}" * 100 for j in range(30)}
    heavy = [({**base, "event_id": i, "event_time": f"{MINUTE}:10.000Z", "properties": big}, 30) for i in heavy_ids]
    packed = items.pack(events + heavy, NOW)
    held = [event_id for _, ids in packed for event_id in ids]
    assert sorted(held) == sorted(str(e["event_id"]) for e, _ in events + heavy), "every event in exactly one pack"
    for item, ids in packed:
        stored = items.events_of(item)
        assert [e["event_id"] for e in stored] == ids
        assert len({e["event_time"][:16] for e in stored}) == 1, "a pack never spans a minute"
        newest = max(items.event_sk(e["event_time"], e["event_id"]) for e in stored)
        assert item["sk"]["S"].startswith(newest + "#")
        assert len(zlib.decompress(item["z"]["B"])) <= items.MAX_PACK_BYTES + 32 * 1024
    heavy_packs = [ids for _, ids in packed if ids[0].startswith("h")]
    assert len(heavy_packs) >= 2 and sum(i.startswith("h") for ids in heavy_packs for i in ids) == 20


def test_the_same_events_packed_again_make_the_same_item() -> None:
    base = {"site": "shop", "url": "https://shop.example.com/", "event_time": f"{MINUTE}:01.000Z"}
    events = [({**base, "event_id": f"e{i}"}, 30) for i in range(5)]

    def key(packed: list[tuple[dict[str, Any], list[str]]]) -> list[tuple[dict[str, Any], list[str]]]:
        return sorted(packed, key=lambda pair: str(pair[0]["pk"]["S"]))

    assert key(items.pack(events, NOW)) == key(items.pack(list(reversed(events)), NOW))
    assert items.pack(events, NOW) != items.pack(events[:4], NOW)


ONE_SHARD = [i for i in (f"id{n}" for n in range(100)) if items.shard(i) == 0][:4]


def one_pack(*names: str) -> dict[str, Any]:
    """One pack of events named a, b, c, d (ids of one shard, so they share a partition)."""
    base = {"site": "shop", "url": "https://shop.example.com/", "event_time": f"{MINUTE}:01.000Z"}
    ids = [ONE_SHARD["abcd".index(name)] for name in names]
    ((item, _),) = items.pack([({**base, "event_id": i}, 30) for i in ids], NOW)
    return item


def test_only_packs_whose_every_event_an_earlier_pack_holds_are_redundant() -> None:
    packed = one_pack
    small, big, other, overlap = packed("a"), packed("a", "b"), packed("c"), packed("b", "c")
    assert items.redundant([small, big, other]) == [small], "{a} inside the larger {a, b}"
    # {c} is inside {b, c}, which comes earlier (more events); {b, c} itself is covered only by
    # {a, b} and {c} together, and {c} comes later: it stays.
    assert items.redundant([big, other, overlap]) == [other]
    assert items.redundant([big, packed("a", "b")]) == [], "the same pack twice is one item"


def test_concurrent_removers_on_any_views_never_lose_an_event() -> None:
    """Every view a stale or partial read could give, removed in any order: an event always
    keeps a pack, because the earliest pack holding it (in the fixed order) is never removed."""
    import itertools

    groups = [("a",), ("a", "b"), ("b", "c"), ("a", "b", "c"), ("c",), ("c", "d")]
    packs = [one_pack(*names) for names in groups]
    removed: set[str] = set()
    for size in range(1, len(packs) + 1):
        for view in itertools.combinations(packs, size):
            removed |= {p["sk"]["S"] for p in items.redundant(view)}
    left = [p for p in packs if p["sk"]["S"] not in removed]
    assert {e["event_id"] for p in left for e in items.events_of(p)} == set(ONE_SHARD)
    assert len(left) < len(packs), "and the views did remove some"


def test_tally_jobs_become_packs_of_one_write_unit(proc: Processor) -> None:
    from tests.support.jobs import tally_job

    assert all(r.ok for r in proc.pipeline.process([tally_job("e1"), tally_job("e2", name="signup")]))
    packs = {item["pk"]["S"]: item for item in proc.raw_items()}
    for event_id in ("e1", "e2"):
        item = packs[f"shop#2026-11-23T13#{items.shard(event_id):02d}"]
        assert event_id in [e["event_id"] for e in items.events_of(item)]
        newest, digest = item["sk"]["S"].rsplit("#", 1)
        assert newest.startswith("2026-11-23T13:18:") and len(digest) == 16
        assert int(item["ttl"]["N"]) == int(NOW) + 30 * 86400
        assert len(item["z"]["B"]) < 1024, "one write unit"
