"""Series, top N and raw events of a site, from the aggregates and the raw-event table.

A bucket's numbers are its sealed values (exact, written by the rollup) when its total item
is not dirty, its live counters otherwise (docs/data-model.md). Unique visitors exist only
sealed: a dirty bucket reports the uniques of its last refresh, or null if it never had one.
"""

import base64
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from processor_lambda import items as raw_items
from processor_lambda import keys
from tally_contract import pools

from .errors import BadParameter
from .queries import Dynamo, Item

SHOWN_FIELDS = ("event_id", "event_time", "name", "path", "url", "referrer_host", "browser", "os", "device",
                "utm_source", "visitor_id", "properties")  # fmt: skip
MAX_ROUNDS = 24  # newest-events rounds a call: each is one Query per shard (16)


@dataclass(frozen=True)
class Tables:
    events: str
    aggregates: str
    sites: str


def _n(item: Item | None, name: str) -> int | None:
    if item is None or name not in item:
        return None
    return int(item[name]["N"])


def _numbers(total: Item | None, target: Item | None) -> dict[str, Any]:
    sealed = total is not None and "dirty" not in total and target is not None and "spv" in target
    if sealed:
        return {"views": _n(target, "spv") or 0, "events": _n(target, "sev") or 0,
                "visitors": _n(target, "suv") or 0, "sealed": True}  # fmt: skip
    return {"views": _n(target, "pv") or 0, "events": _n(target, "ev") or 0,
            "visitors": _n(target, "suv"), "sealed": False}  # fmt: skip


def _bots(total: Item | None) -> int:
    """A bucket's bot hits: kept on its total item only, sealed like the other numbers."""
    if total is None:
        return 0
    sealed = "dirty" not in total and "sbots" in total
    return _n(total, "sbots" if sealed else "bots") or 0


class Stats:
    def __init__(self, dynamo: Dynamo, tables: Tables) -> None:
        self.dynamo = dynamo
        self.tables = tables
        self._threads: ThreadPoolExecutor | None = None

    def _pool(self) -> ThreadPoolExecutor:
        # The 16 shard Queries of an hour run together (botocore clients are thread-safe).
        if self._threads is None:
            self._threads = ThreadPoolExecutor(keys.SHARDS, thread_name_prefix="reads")
        return self._threads

    def series(self, site: str, granularity: str, buckets: list[str], where: tuple[str, str] | None) -> dict[str, Any]:
        """One BatchGetItem round: ceil(buckets x (1 or 2) / 100) calls."""
        sk = keys.dimension_sk(*where) if where else keys.TOTAL
        pks = [keys.aggregate_pk(site, granularity, bucket) for bucket in buckets]
        wanted = [(pk, keys.TOTAL) for pk in pks] + ([(pk, sk) for pk in pks] if where else [])
        found = self.dynamo.batch_get(self.tables.aggregates, wanted)
        points = [
            {"bucket": bucket, **_numbers(found.get((pk, keys.TOTAL)), found.get((pk, sk)))}
            for bucket, pk in zip(buckets, pks, strict=True)
        ]
        totals = {"views": sum(p["views"] for p in points), "events": sum(p["events"] for p in points)}
        if where is None:  # bots are counted per bucket, in no dimension: a filter leaves them out
            totals["bots"] = sum(_bots(found.get((pk, keys.TOTAL))) for pk in pks)
        return {"site": site, "granularity": granularity, "filter": dict([where]) if where else None,
                "points": points, "totals": totals}  # fmt: skip

    def top(self, site: str, granularity: str, buckets: list[str], dimension: str, limit: int) -> dict[str, Any]:
        """One Query per bucket (the dimension's items), plus one BatchGetItem round of totals."""
        pks = [keys.aggregate_pk(site, granularity, bucket) for bucket in buckets]
        totals = self.dynamo.batch_get(self.tables.aggregates, [(pk, keys.TOTAL) for pk in pks])
        sums: dict[str, dict[str, Any]] = defaultdict(lambda: {"views": 0, "events": 0, "visitors": 0, "sealed": True})
        prefix = f"{dimension}#"
        for pk in pks:
            for item in self.dynamo.query_prefix(self.tables.aggregates, pk, prefix):
                numbers = _numbers(totals.get((pk, keys.TOTAL)), item)
                row = sums[item["sk"]["S"][len(prefix) :]]
                row["views"] += numbers["views"]
                row["events"] += numbers["events"]
                row["sealed"] = row["sealed"] and numbers["sealed"]
                row["visitors"] = (row["visitors"] or 0) + (numbers["visitors"] or 0)
        order = "events" if dimension == "event" else "views"
        rows = sorted(sums.items(), key=lambda kv: (-kv[1][order], kv[0]))[:limit]
        # Unique visitors do not add up across buckets: report them for a single bucket only.
        single = len(buckets) == 1
        return {
            "site": site, "granularity": granularity, "by": dimension, "from": buckets[0], "to": buckets[-1],
            "rows": [{"value": value, **row, "visitors": row["visitors"] if single else None} for value, row in rows],
        }  # fmt: skip

    def events(
        self, site: str, cursor: str | None, window: tuple[datetime, datetime], limit: int, filters: dict[str, str]
    ) -> dict[str, Any]:
        """Newest first, below ``cursor`` (or the window's end), not older than its start: at
        most MAX_ROUNDS x 16 Queries of at most ``limit`` items each."""
        floor, ceiling = window
        below = _decode_cursor(cursor) if cursor else _sk_after(ceiling)
        above = _iso(floor)
        hour = below[:13]
        found: list[Item] = []
        for _ in range(MAX_ROUNDS):
            if hour < above[:13] or len(found) >= limit:
                break
            batch, cut = self._hour_page(site, hour, below, above, limit, filters)
            need = limit - len(found)
            found.extend(batch[:need])
            if len(batch) > need:
                below = found[-1]["sk"]["S"]
                break
            if cut is not None:
                below = cut
            else:
                hour = _previous_hour(hour)
                below = f"{hour}:60"  # above every sort key of that hour
        more = hour >= above[:13] or len(found) >= limit
        return {"site": site, "events": [_shown(item) for item in found[:limit]],
                "cursor": _encode_cursor(below) if more else None}  # fmt: skip

    def _hour_page(
        self, site: str, hour: str, below: str, above: str, limit: int, filters: dict[str, str]
    ) -> tuple[list[Item], str | None]:
        """Every shard of one hour, merged. Items at or above the highest cut are complete
        (every shard has been read down to there); the rest wait for the next round."""
        pks = [f"{site}#{hour}#{shard:02d}" for shard in range(keys.SHARDS)]
        pages = pools.map_ordered(
            self._pool(),
            lambda pk: self.dynamo.newest_events(self.tables.events, pk, below, above, limit, filters),
            pks,
        )
        cuts = [cut for _, cut in pages if cut is not None]
        cut = max(cuts) if cuts else None
        merged = [item for page, _ in pages for item in page if cut is None or item["sk"]["S"] >= cut]
        merged.sort(key=lambda item: item["sk"]["S"], reverse=True)
        return merged, cut

    def sites(self) -> list[str]:
        return self.dynamo.site_ids(self.tables.sites)


def _shown(item: Item) -> dict[str, Any]:
    event = raw_items.from_item(item)
    return {name: event.get(name) for name in SHOWN_FIELDS}


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _sk_after(moment: datetime) -> str:
    return _iso(moment) + "~"


def _previous_hour(hour: str) -> str:
    moment = datetime.strptime(hour, "%Y-%m-%dT%H").replace(tzinfo=UTC) - timedelta(hours=1)
    return moment.strftime("%Y-%m-%dT%H")


def _encode_cursor(sk: str) -> str:
    return base64.urlsafe_b64encode(sk.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> str:
    try:
        sk = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        datetime.strptime(sk[:13], "%Y-%m-%dT%H")
    except ValueError as exc:
        raise BadParameter("cursor", "is not a cursor this API returned") from exc
    return sk
