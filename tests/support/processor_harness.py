"""A processor over a store: the in-memory one, SQLite in a file, or DynamoDB on moto with
tables built from infra/template.yaml. Tests read what it stored the way Tally's readers do, so the same test
holds for both stores."""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from processor_lambda.pipeline import PROCESS_REQUEST_JOB, Pipeline
from processor_lambda.registry import Registry
from processor_lambda.request_job import RequestProcessor, SiteSettings
from tally_aggregates.declared import Declared
from tally_aggregates.rollup import Rollup, RollupReport
from tally_contract.sites import MemorySites, Site
from tally_store import dynamodb_packs
from tally_store.base import TOTAL, Bucket, Counts, Event, Row, Store
from tally_store.dynamodb import DynamoDBStore
from tally_store.dynamodb_calls import Calls
from tally_store.memory import MemoryStore
from tally_store.sqlite import SQLiteStore
from tests.support.infra import create_table

NOW = 1795440000.0  # 2026-11-23T13:20:00Z
SHOP = Site(site_id="shop", write_key="wk_shop", secret_hash="x", ip_handling="truncate", retention_days=30,
            goals=("event:signup", "page:/docs*"), props=("plan",))  # fmt: skip


@dataclass
class Processor:
    store: Store
    sites: Any  # by_id(site_id) -> Site | None
    registry: Registry
    pipeline: Pipeline
    everything: "Callable[[], tuple[list[Event], list[tuple[Bucket, Row]]]]"
    now: list[float] = field(default_factory=lambda: [NOW])
    client: Any = None  # the moto client, for a DynamoDB store

    def rollup(self, at: float | None = None) -> RollupReport:
        clock = (lambda: at) if at is not None else (lambda: self.now[0])
        return Rollup(self.store, declared=self.declared, clock=clock).settle()

    def declared(self, site_id: str) -> Declared:
        site = self.sites.by_id(site_id)
        return Declared(site.goals, site.props) if site else Declared()

    def stored(self) -> list[Event]:
        """Every stored event once, sorted by event id."""
        unique = {event["event_id"]: event for event in self.everything()[0]}
        return sorted(unique.values(), key=lambda e: str(e["event_id"]))

    def copies(self) -> int:
        """Stored copies of events (a redelivery may store one twice)."""
        return len(self.everything()[0])

    def stored_copies(self) -> list[Event]:
        """Every distinct stored copy: one per (event id, event time)."""
        return list({(e["event_id"], e["event_time"]): e for e in self.everything()[0]}.values())

    def row(self, granularity: str, bucket_id: str, row: Row = TOTAL) -> dict[str, Any]:
        """One counter row, flat: live metrics by name, sealed ones as ``s<name>``, and on the
        total ``ver`` and ``dirty`` (present only while dirty); {} if it does not exist."""
        bucket = Bucket("shop", granularity, bucket_id)
        counts = self.store.counts([(bucket, row)]).get((bucket, row))
        return flat(counts, row == TOTAL) if counts else {}

    def aggregates(self) -> dict[tuple[str, str], dict[str, Any]]:
        """Every counter row, by (``site#granularity#bucket``, ``dimension#value``)."""
        keys = self.everything()[1]
        found = self.store.counts(keys)
        return {(f"{b.site}#{b.granularity}#{b.id}", f"{r[0]}#{r[1]}"): flat(c, r == TOTAL)
                for (b, r), c in found.items()}  # fmt: skip

    def aggregate(self, pk: str, sk: str = "total#") -> dict[str, Any]:
        """``row`` by the DynamoDB layout's keys (``shop#h#2026-11-23T13``, ``page#/pricing``)."""
        _, granularity, bucket_id = pk.rsplit("#", 2)
        dimension, _, value = sk.partition("#")
        return self.row(granularity, bucket_id, (dimension, value))

    def raw_items(self) -> list[dict[str, Any]]:
        """The DynamoDB events table's packs (a DynamoDB processor only)."""
        assert isinstance(self.store, DynamoDBStore) and self.client is not None
        return _scan(self.client, self.store.events_table)

    def sealed(self) -> dict[tuple[str, str, str], dict[str, int]]:
        """Every row's sealed values, by (``granularity#bucket``, dimension, value), zeros left out."""
        found = self.store.counts(self.everything()[1])
        out = {(f"{b.granularity}#{b.id}", row[0], row[1]): {k: v for k, v in (c.sealed or {}).items() if v}
               for (b, row), c in found.items()}  # fmt: skip
        return {key: values for key, values in out.items() if values}

    def again(self) -> "Processor":
        """A second processor on the same store (another Lambda instance)."""
        registry = Registry()
        registry.register_batch(PROCESS_REQUEST_JOB, RequestProcessor(
            self.store, SiteSettings(self.sites.by_id), default_site="shop", clock=lambda: self.now[0]))  # fmt: skip
        return Processor(self.store, self.sites, registry, Pipeline(registry), self.everything, self.now, self.client)


def flat(counts: Counts, total: bool) -> dict[str, Any]:
    values: dict[str, Any] = dict(counts.live)
    values.update({f"s{name}": value for name, value in (counts.sealed or {}).items()})
    if counts.sealed is not None:
        for name in ("pv", "ev", "uv", "bots"):
            values.setdefault(f"s{name}", 0)
    if total:
        values["ver"] = counts.state.version
        if counts.state.dirty:
            values["dirty"] = "1"
    return values


def make_processor(client: Any = None, *, default_site: str | None = "shop", store: Store | None = None) -> Processor:
    """Over the in-memory store, or, given a DynamoDB client, over DynamoDB tables made with it
    (``store``: a DynamoDB store whose calls go elsewhere, such as a faulty client)."""
    if client is not None:
        return _dynamodb(client, default_site, store)
    memory = store if isinstance(store, MemoryStore) else MemoryStore()
    sites = MemorySites([SHOP])

    def everything() -> tuple[list[Event], list[tuple[Bucket, Row]]]:
        from tally_store import records

        sealed = [(bucket, row) for bucket, held in memory.seals.items() for row in held.rows]
        return [records.from_record(dict(r)) for r in memory.events.values()], list(
            dict.fromkeys([*memory.rows, *sealed])
        )

    return _wired(memory, sites, everything, default_site, None)


def sqlite_processor(path: Any, *, default_site: str | None = "shop", synchronous: str = "NORMAL") -> Processor:
    """Over a SQLite store in the file ``path`` (sites in memory, as the processor reads them).
    ``synchronous``: NORMAL skips the fsync per commit, which guards against a power cut, not a
    crash, and no test cuts the power; the e2e tier runs `tally up`'s FULL."""
    store = SQLiteStore(path, synchronous=synchronous)

    def everything() -> tuple[list[Event], list[tuple[Bucket, Row]]]:
        return store.every_event(), store.every_row()

    return _wired(store, MemorySites([SHOP]), everything, default_site, None)


def dynamodb_tables(client: Any) -> DynamoDBStore:
    events = create_table(client, "test", "EventsTable")
    return DynamoDBStore(events, create_table(client, "test", "AggregatesTable"), Calls(client, sleep=lambda _: None))


def _dynamodb(client: Any, default_site: str | None, store: Store | None) -> Processor:
    from tally_contract.sites_dynamodb import DynamoSites

    tables = dynamodb_tables(client)
    given = store if isinstance(store, DynamoDBStore) else None
    dynamo = DynamoDBStore(tables.events_table, tables.aggregates_table, given.calls if given else tables.calls)
    sites = DynamoSites(create_table(client, "test", "SitesTable"), client=client)
    sites.put(SHOP)

    def everything() -> tuple[list[Event], list[tuple[Bucket, Row]]]:
        packs = _scan(client, dynamo.events_table)
        events = [event for pack in packs for event in dynamodb_packs.events_of(pack)]
        items = [i for i in _scan(client, dynamo.aggregates_table) if i["pk"]["S"] not in ("salt", "heartbeat")]
        rows = [_key(item) for item in items if not item["sk"]["S"].startswith("~")]
        sealed = dynamo._sealed({_key(item)[0] for item in items})
        return events, list(
            dict.fromkeys([*rows, *(key for b, held in sealed.items() for key in ((b, r) for r in held))])
        )

    return _wired(dynamo, sites, everything, default_site, client)


def _wired(store: Store, sites: Any, everything: Any, default_site: str | None, client: Any) -> Processor:
    registry = Registry()
    now = [NOW]
    processor = RequestProcessor(store, SiteSettings(sites.by_id), default_site=default_site, clock=lambda: now[0])
    registry.register_batch(PROCESS_REQUEST_JOB, processor)
    return Processor(store, sites, registry, Pipeline(registry), everything, now, client)


def _scan(client: Any, table: str) -> list[dict[str, Any]]:
    return [item for page in client.get_paginator("scan").paginate(TableName=table) for item in page["Items"]]


def _key(item: dict[str, Any]) -> tuple[Bucket, Row]:
    site, granularity, bucket_id = item["pk"]["S"].rsplit("#", 2)
    dimension, _, value = item["sk"]["S"].partition("#")
    return Bucket(site, granularity, bucket_id), (dimension, value)
