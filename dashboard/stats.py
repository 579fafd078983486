"""Series, top N and raw events of a site, from the aggregates and the raw-event table.

A bucket's numbers are its sealed values (exact, written by the rollup) when its total item
is not dirty, its live counters otherwise (docs/data-model.md). Unique visitors exist only
sealed: a dirty bucket reports the uniques of its last refresh, or null if it never had one.
"""

import base64
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from processor_lambda import keys
from tally_contract import pools

from . import params, raw_events
from .errors import BadParameter
from .queries import Dynamo, Item

SHOWN_FIELDS = ("event_id", "event_time", "name", "path", "url", "referrer_host", "browser", "os", "device",
                "utm_source", "visitor_id", "properties")  # fmt: skip


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
        # The shard Queries of an hour run together (botocore clients are thread-safe).
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
        most raw_events.MAX_QUERIES Queries (docs/dashboard.md)."""
        floor, ceiling = window
        below = _decode_cursor(cursor) if cursor else _sk_after(ceiling)
        reader = raw_events.Reader(
            lambda pk, lo, hi: self.dynamo.packs(self.tables.events, pk, lo, hi),
            lambda fn, args: pools.map_ordered(self._pool(), fn, args),
        )
        found, more = reader.newest(site, below, floor, limit, filters)
        return {"site": site, "events": raw_events.shown(found, SHOWN_FIELDS),
                "cursor": _encode_cursor(more) if more else None}  # fmt: skip

    def sites(self) -> list[str]:
        return self.dynamo.site_ids(self.tables.sites)


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _sk_after(moment: datetime) -> str:
    return _iso(moment) + "~"


def _encode_cursor(sk: str) -> str:
    return base64.urlsafe_b64encode(sk.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> str:
    try:
        sk = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except ValueError as exc:
        raise BadParameter("cursor", "is not a cursor this API returned") from exc
    minute = params.parse_moment(sk[:16])  # the listing reads from this minute back
    if minute is None or not params.EARLIEST <= minute <= params.LATEST:
        raise BadParameter("cursor", "is not a cursor this API returned")
    return sk
