"""The seeds' other jobs on Tally's job registry (examples/), each run by the worker of both
queues: local mode's SQLite queue and Sidekiq's Redis (a real redis-server). The outbound
call goes to a local HTTP API that fails its first calls: the job follows Sidekiq's retry
schedule until it passes, and a refusal goes to the dead set at once."""

import json
import random
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from examples import outbound, pages
from processor_lambda.pipeline import Pipeline
from processor_lambda.registry import Registry
from redis_worker.worker import Worker
from tally_cli.local.queue_worker import QueueWorker
from tally_contract.queues import Queue
from tally_contract.queues.redis_queue import RedisQueue
from tally_contract.queues.sqlite_queue import SqliteQueue
from tests.support.servers import free_port

FOREVER = 10**9


class Sqlite:
    """Local mode's queue and worker, driven step by step."""

    def __init__(self, tmp_path: Path) -> None:
        self.queue: Queue = SqliteQueue(tmp_path / "queue.db")
        self.jobs = SqliteQueue(tmp_path / "queue.db")

    def worker(self, pipeline: Pipeline) -> Any:
        return QueueWorker(self.jobs, pipeline, rng=random.Random(3))

    def make_due(self, worker: Any) -> int:
        return int(worker.enqueue_due(now=time.time() + FOREVER))

    def retries(self) -> list[dict[str, Any]]:
        return [json.loads(member) for _, member in self.jobs.due(["retry"], FOREVER * 10.0)]

    def dead(self) -> list[dict[str, Any]]:
        return [json.loads(member) for _, member, _ in self.jobs.dead(100)]


class Redis:
    """Sidekiq's Redis and Tally's Redis worker, driven step by step."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.queue = RedisQueue(client)

    def worker(self, pipeline: Pipeline) -> Any:
        return Worker(self.client, pipeline, identity="examples:1:0123456789ab", rng=random.Random(3))

    def make_due(self, worker: Any) -> int:
        for member in self.client.zrange("retry", 0, -1):
            self.client.zadd("retry", {member: 0})
        return int(worker.fetch.enqueue_due())

    def retries(self) -> list[dict[str, Any]]:
        return [json.loads(member) for member in self.client.zrange("retry", 0, -1)]

    def dead(self) -> list[dict[str, Any]]:
        return [json.loads(member) for member in self.client.zrange("dead", 0, -1)]


@pytest.fixture(params=["sqlite", "redis"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Sqlite | Redis:
    if request.param == "redis":
        return Redis(request.getfixturevalue("redis_client"))
    return Sqlite(tmp_path)


class Api(ThreadingHTTPServer):
    """An external API: answers 503 to its first ``failures`` calls, then 201 with an id."""

    def __init__(self, failures: int, status: int = 503) -> None:
        self.failures, self.status = failures, status
        self.calls: list[tuple[str | None, dict[str, Any]]] = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                server: Api = self.server  # type: ignore[assignment]
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.calls.append((self.headers.get("Idempotency-Key"), body))
                failing = len(server.calls) <= server.failures
                answer = b"" if failing else json.dumps({"posted": body["id"]}).encode()
                self.send_response(server.status if failing else 201)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: Any) -> None:
                return

        super().__init__(("127.0.0.1", free_port()), Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/posts"


@pytest.fixture
def api() -> Iterator[Any]:
    servers: list[Api] = []

    def start(failures: int, status: int = 503) -> Api:
        server = Api(failures, status)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def test_a_page_is_rendered_once_in_the_background_and_served_from_the_cache(
    backend: Sqlite | Redis, tmp_path: Path
) -> None:
    site = pages.Pages(tmp_path / "pages")
    registry = Registry()
    pages.register(registry, site)
    worker = backend.worker(Pipeline(registry))
    first = site.save("spring", {"title": "Spring <sale>", "sections": [{"heading": "Boots", "body": "-20%"}]})
    second = site.save("spring", {"title": "Spring sale", "sections": []})
    pages.enqueue(backend.queue, "spring", first)
    assert site.serve("spring") is None, "nothing is published before the job runs"
    assert worker.work_once() == 1
    assert site.serve("spring") == (
        "<!doctype html><title>Spring &lt;sale&gt;</title><h1>Spring &lt;sale&gt;</h1>"
        "<section><h2>Boots</h2><p>-20%</p></section>"
    )
    pages.enqueue(backend.queue, "spring", second)
    pages.enqueue(backend.queue, "spring", first)  # a late job for the older version
    assert worker.work_once() == 2
    assert site.published("spring") == second and "<h1>Spring sale</h1>" in (site.serve("spring") or "")
    pages.enqueue(backend.queue, "spring", 9)  # no such version: retrying cannot help
    assert worker.work_once() == 1
    (dead,) = backend.dead()
    assert "has no version 9" in dead["error_message"] and backend.retries() == []


def _poster(backend: Sqlite | Redis, tmp_path: Path, server: Api, record_id: int, text: str) -> tuple[Any, Any]:
    """A worker running PostRecordJob against ``server``, and its records with one in them."""
    records = outbound.Records(tmp_path / "records")
    records.put(record_id, {"text": text})
    registry = Registry()
    outbound.register(registry, records, server.url)
    return backend.worker(Pipeline(registry)), records


def test_an_outbound_call_is_retried_on_sidekiqs_schedule_until_the_api_takes_it(
    backend: Sqlite | Redis, tmp_path: Path, api: Any
) -> None:
    server = api(failures=2)
    worker, records = _poster(backend, tmp_path, server, 7, "We shipped!")
    jid = outbound.enqueue(backend.queue, 7)
    for attempt in range(2):
        started = time.time()
        assert worker.work_once() == 1
        (retry,) = backend.retries()
        assert (retry["jid"], retry["retry_count"]) == (jid, attempt)
        assert retry["error_class"] == "examples.outbound.ApiUnavailable"
        assert retry["error_message"] == "the API answered 503"
        assert retry["failed_at"] >= started - 1
        assert backend.make_due(worker) == 1
    assert worker.work_once() == 1
    assert backend.retries() == [] and backend.dead() == []
    found = records.get(7)
    assert found is not None and found["posted"] == {"posted": 7}
    assert server.calls == [(jid, {"id": 7, "text": "We shipped!"})] * 3, "one key for every attempt"
    outbound.enqueue(backend.queue, 7)  # sent already: not again
    assert worker.work_once() == 1 and len(server.calls) == 3


def test_a_refused_call_and_a_missing_record_go_to_the_dead_set_at_once(
    backend: Sqlite | Redis, tmp_path: Path, api: Any
) -> None:
    server = api(failures=1, status=422)
    worker, _ = _poster(backend, tmp_path, server, 1, "spam")
    outbound.enqueue(backend.queue, 1)
    outbound.enqueue(backend.queue, 404)
    assert worker.work_once() == 2
    assert backend.retries() == []
    reasons = sorted(job["error_message"] for job in backend.dead())
    assert reasons == ["record 404 does not exist", "the API refused record 1: 422"]


def test_retries_run_out_into_the_dead_set(backend: Sqlite | Redis, tmp_path: Path, api: Any) -> None:
    server = api(failures=100)
    worker, _ = _poster(backend, tmp_path, server, 3, "hello")
    outbound.enqueue(backend.queue, 3, retry=2)  # the job's own limit, as `sidekiq_options retry: 2`
    assert worker.work_once() == 1 and backend.make_due(worker) == 1
    assert worker.work_once() == 1 and backend.make_due(worker) == 1
    assert worker.work_once() == 1
    (dead,) = backend.dead()
    assert dead["retry_count"] == 2 and backend.retries() == [] and len(server.calls) == 3
