"""A processor wired to moto DynamoDB tables built from infra/template.yaml."""

from dataclasses import dataclass, field
from typing import Any

from processor_lambda.dynamo import DynamoStore
from processor_lambda.lean_client import make_lean
from processor_lambda.pipeline import PROCESS_REQUEST_JOB, Pipeline
from processor_lambda.registry import Registry
from processor_lambda.request_job import RequestProcessor, SiteSettings, Tables
from processor_lambda.rollup import Rollup
from tally_contract.sites import Site
from tally_contract.sites_dynamodb import DynamoSites
from tests.infra import create_table

NOW = 1795440000.0  # 2026-11-23T13:20:00Z


@dataclass
class Processor:
    client: Any
    store: DynamoStore
    tables: Tables
    sites: DynamoSites
    registry: Registry
    pipeline: Pipeline
    now: list[float] = field(default_factory=lambda: [NOW])

    def rollup(self, at: float | None = None) -> Any:
        clock = (lambda: at) if at is not None else (lambda: self.now[0])
        return Rollup(self.store, self.tables, clock=clock).run()

    def raw_items(self) -> list[dict[str, Any]]:
        return self.client.scan(TableName=self.tables.events)["Items"]  # type: ignore[no-any-return]

    def stored(self) -> list[dict[str, Any]]:
        """Raw events as the processor reads them back (one copy each), sorted by event id."""
        from processor_lambda import items

        return sorted(items.unique_events(self.raw_items()), key=lambda e: str(e["event_id"]))

    def aggregate(self, pk: str, sk: str = "total#") -> dict[str, Any]:
        item = self.client.get_item(TableName=self.tables.aggregates, Key={"pk": {"S": pk}, "sk": {"S": sk}})
        return {k: _plain(v) for k, v in item.get("Item", {}).items()}

    def aggregates(self) -> dict[tuple[str, str], dict[str, Any]]:
        items = self.client.scan(TableName=self.tables.aggregates)["Items"]
        counters = [i for i in items if i["pk"]["S"] not in ("salt", "heartbeat")]
        return {(i["pk"]["S"], i["sk"]["S"]): {k: _plain(v) for k, v in i.items()} for i in counters}


def _plain(value: dict[str, Any]) -> Any:
    ((kind, raw),) = value.items()
    return int(raw) if kind == "N" else raw


def make_processor(client: Any, *, default_site: str | None = "shop", store: DynamoStore | None = None) -> Processor:
    tables = Tables(
        events=create_table(client, "test", "EventsTable"),
        aggregates=create_table(client, "test", "AggregatesTable"),
    )
    sites = DynamoSites(create_table(client, "test", "SitesTable"), client=client)
    sites.put(Site(site_id="shop", write_key="wk_shop", secret_hash="x", ip_handling="truncate", retention_days=30))
    # The lean client, as the Lambda builds it: every processor test runs the fast serializer.
    store = store or DynamoStore(make_lean(client), sleep=lambda _: None)
    registry = Registry()
    now = [NOW]
    processor = RequestProcessor(store, tables, SiteSettings(sites.by_id), default_site=default_site,
                                 clock=lambda: now[0])  # fmt: skip
    registry.register_batch(PROCESS_REQUEST_JOB, processor)
    return Processor(client, store, tables, sites, registry, Pipeline(registry), now)
