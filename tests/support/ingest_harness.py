"""Drive the Chalice app the way Lambda does: an API Gateway event in, a response dict out."""

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tally_contract import envelope
from tally_contract.envelope import Job
from tally_contract.queues import Queue
from tally_contract.queues.memory_queue import MemoryQueue
from tally_contract.sites import MemorySites, NewSite, Site, SiteStore, create
from tally_store.salts import DailySalts, MemorySalts
from tests.support.apigw import HttpResponse, LambdaContext, decode_response, rest_event

ORIGIN = "https://shop.example.com"
NOW = 1795440000.0  # 2026-11-23T13:20:00Z


def new_site(**settings: Any) -> NewSite:
    settings.setdefault("origins", (ORIGIN, "https://*.example.org"))
    return create("shop", **settings)


@dataclass
class Ingest:
    site: Site
    secret: str
    queue: Queue
    sites: SiteStore
    now: list[float] = field(default_factory=lambda: [NOW])
    salts: DailySalts = field(
        default_factory=lambda: DailySalts(MemorySalts())
    )  # this harness's, kept across activations

    def request(self, method: str, path: str, **kwargs: Any) -> HttpResponse:
        from app import app

        event = rest_event(method, path, **kwargs)
        return decode_response(app(event, LambdaContext()))

    def post(
        self,
        payload: Any,
        *,
        headers: Mapping[str, str | None] | None = None,
        key: str | None = "site",
        **kwargs: Any,
    ) -> HttpResponse:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        given: dict[str, str | None] = {"Content-Type": "application/json", "Origin": ORIGIN, "Accept": "*/*"}
        given.update(headers or {})
        merged = {k: v for k, v in given.items() if v is not None}
        query = {"key": self.site.write_key if key == "site" else key} if key else None
        return self.request("POST", "/events", body=body, headers=merged, query=query, **kwargs)

    def activate(self, settings: Any = None) -> None:
        """Point the ingest runtime at this harness's queue, sites and clock (and ``settings``,
        an ingest_lambda.settings.Settings, when given)."""
        from ingest_lambda import runtime
        from ingest_lambda.ratelimit import RateLimiter
        from ingest_lambda.settings import Settings

        clock = lambda: self.now[0]  # noqa: E731
        rt = runtime.configure(
            settings=settings or Settings(), queue=self.queue, sites=self.sites, salts=self.salts, clock=clock
        )
        rt.limiter = RateLimiter(clock=clock)

    def salt(self, day: str) -> bytes:
        """The day's visitor-id salt, as this ingest holds it."""
        return self.salts.for_day(day, self.now[0])

    def jobs(self) -> list[Job]:
        assert isinstance(self.queue, MemoryQueue)
        return [envelope.decode(body) for body in self.queue.messages["default"]]

    def events(self) -> list[dict[str, Any]]:
        return [job.arguments[0] for job in self.jobs()]


def make_ingest(queue: Queue | None = None, sites: SiteStore | None = None, **settings: Any) -> Ingest:
    created = new_site(**settings)
    store = sites if sites is not None else MemorySites()
    store.put(created.site)
    queue = queue if queue is not None else MemoryQueue()
    harness = Ingest(created.site, created.secret_key, queue, store)
    harness.activate()
    return harness
