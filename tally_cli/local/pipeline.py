"""The whole pipeline on this machine: HTTP routes, a queue, the processor, the rollup schedule.

Two homes for the data (docs/local-mode.md):
- embedded (the default): SQLite files in the data directory (``.tally/``): ``tally.db`` (raw
  events, aggregates, sites, the dashboard's admin record) and ``queue.db`` (the durable
  queue), kept across restarts;
- ``--aws-emulator``: moto with infra/template.yaml deployed, SQS and DynamoDB as on AWS, in
  memory for the length of the run.
``--queue redis://...`` puts the queue on a Redis (the Redis worker consumes it) in either.

Everything reads the same environment variables as on AWS (docs/operations.md); this module
sets them and builds the app, the processor and the rollup through their usual entry points.
"""

import importlib
import logging
import os
import threading
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import config
from .console import Console, ReportingPipeline
from .http_server import LocalHttpServer
from .ports import ensure_free
from .scheduler import Every

LOCAL_SITE = "local"
EXPIRY_SECONDS = 3600.0  # the SQLite file's expiry pass (tally_store/sqlite_expiry.py)


@dataclass(frozen=True)
class Options:
    host: str = "127.0.0.1"
    port: int = 8000
    stage: str = "local"
    data_dir: str = ".tally"
    queue_url: str | None = None  # default: sqlite://<data dir>/queue.db, or SQS with the emulator
    aws_emulator: bool = False
    aws_port: int = 5000
    batch_size: int | None = None  # default: 500 a batch (the emulator's SQS: 100)
    batch_window: float = 1.0
    visibility_timeout: int = 30
    rollup_interval: float = 60.0
    log_format: str = "text"
    verbose: bool = False
    jobs: tuple[str, ...] = ()  # modules whose register(registry) adds job classes (examples.pages)


@dataclass(frozen=True)
class Home:
    """Where the data lives, as the environment names it, and what ``tally up`` tells others."""

    queue_url: str
    store_url: str = ""
    endpoint_url: str = ""
    dlq_url: str = ""
    keep: Path | None = None  # where credentials survive a restart


class LocalPipeline:
    def __init__(self, options: Options, console: Console | None = None) -> None:
        self.options = options
        self.console = console or Console(options.log_format)
        self.emulator: Any = None
        self.http: LocalHttpServer | None = None
        self.stoppers: list[threading.Event] = []
        self.threads: list[threading.Thread] = []
        self.state: config.LocalState | None = None

    def start(self, progress: Any = None) -> config.LocalState:
        step = progress or (lambda _label: None)
        self.console.install(self.options.verbose)
        ensure_free(self.options.host, self.options.port, "the API")
        home = self._emulated(step) if self.options.aws_emulator else self._embedded(step)
        self._configure_environment(home)
        step("the local site and the dashboard's credentials")
        creds = self._credentials(home)
        step("starting the HTTP routes, the processor and the rollup")
        self._start_http()
        self._start_processor(home.queue_url)
        self._start_rollup()
        assert self.http is not None
        self.state = config.LocalState(
            pid=os.getpid(), api_url=self.http.base_url, stage=self.options.stage, queue_url=home.queue_url,
            store_url=home.store_url, site_id=creds.site.site_id, write_key=creds.site.write_key,
            secret_key=creds.secret_key, admin_password=creds.admin_password, endpoint_url=home.endpoint_url,
            dlq_url=home.dlq_url, export_dir=os.environ["TALLY_EXPORT_DIR"],
        )  # fmt: skip
        self.state.write()
        return self.state

    # -- where the data lives -------------------------------------------------------------
    def _embedded(self, step: Any) -> Home:
        step(f"opening the data directory {self.options.data_dir}")
        data = Path(self.options.data_dir).resolve()
        data.mkdir(parents=True, exist_ok=True)
        data.chmod(0o700)  # the site's secret key, the admin record's signing key
        queue_url = self.options.queue_url or f"sqlite://{data / 'queue.db'}"
        return Home(queue_url, store_url=f"sqlite://{data / 'tally.db'}", keep=data / "credentials.json")

    def _emulated(self, step: Any) -> Home:
        from .emulator import REGION, Emulator

        step("starting the AWS emulator")
        # It has no CloudFormation support for the template's alarms (local mode has none):
        # a warning each at every start is noise, not news; so is its access log.
        logging.getLogger("moto").setLevel(logging.ERROR)
        warnings.filterwarnings("ignore", message="Tried to parse AWS::", category=UserWarning)
        if not self.options.verbose:
            logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self.emulator = Emulator(self.options.aws_port, host=self.options.host)
        self.emulator.start()
        step("deploying infra/template.yaml through CloudFormation")
        deployed = self.emulator.deploy(self.options.stage, visibility_timeout=self.options.visibility_timeout)
        config.use_local_endpoint(self.emulator.endpoint_url, REGION)
        os.environ.update(
            TALLY_SITES_TABLE=deployed.sites_table, TALLY_EVENTS_TABLE=deployed.events_table,
            TALLY_AGGREGATES_TABLE=deployed.aggregates_table, TALLY_AUTH_TABLE=deployed.auth_table,
            TALLY_DLQ=deployed.dlq_url,
        )  # fmt: skip
        queue_url = self.options.queue_url or f"sqs://{deployed.events_queue_url}"
        return Home(queue_url, endpoint_url=self.emulator.endpoint_url, dlq_url=deployed.dlq_url)

    def _configure_environment(self, home: Home) -> None:
        os.environ.update(
            TALLY_STAGE=self.options.stage,
            TALLY_QUEUE_URL=home.queue_url,
            # A Rails producer's four-field jobs name no site: they count on the local one.
            TALLY_DEFAULT_SITE=LOCAL_SITE,
            TALLY_SITE_CACHE_SECONDS="5",  # a rotated key takes effect within seconds locally
            TALLY_ADMIN_PARAMETER=f"/tally/{self.options.stage}/admin",
        )
        if home.store_url:
            os.environ["TALLY_STORE_URL"] = home.store_url
        # The hourly export as files (docs/export.md), what `tally query` reads.
        os.environ["TALLY_EXPORT_DIR"] = str(Path(self.options.data_dir) / "export")
        if self.options.log_format == "text":
            # EMF lines per request and per batch are for machines (--log-format json).
            os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
            warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)
        if not self.options.verbose:
            os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")

    def _credentials(self, home: Home) -> Any:
        from dashboard import ssm
        from tally_contract import sites

        from . import credentials

        parameters = ssm.from_environment()
        return credentials.ensure(home.keep, sites.from_environment(), parameters, LOCAL_SITE,
                                  os.environ["TALLY_ADMIN_PARAMETER"])  # fmt: skip

    # -- what runs ------------------------------------------------------------------------
    def _start_http(self) -> None:
        # The two Chalice entry points (installed as modules), read as Any: on AWS two REST
        # APIs, here one port (their routes are disjoint).
        apps = [importlib.import_module(name).app for name in ("app", "dashboard_app.app")]
        self.http = LocalHttpServer(
            apps, self.options.host, self.options.port, stage=self.options.stage, verbose=self.options.verbose
        )
        self.http.start()

    def _pipeline(self, *, emf: bool = True) -> ReportingPipeline:
        """``emf``: print the batch's metric line here (JSON output; the SQS entry point records
        its own)."""
        import tally_store
        from processor_lambda.pipeline import build_pipeline

        from .jobs import registry_with

        base = build_pipeline(registry_with(self.options.jobs))
        json_output = emf and self.options.log_format == "json"
        return ReportingPipeline(base, self.console, tally_store.from_environment(), emf=json_output)

    def _start_processor(self, queue_url: str) -> None:
        scheme = queue_url.partition("://")[0]
        if scheme == "sqlite":
            self._start_queue_worker(queue_url)
        elif scheme in ("redis", "rediss"):
            self._start_redis_worker(queue_url)
        else:
            self._start_event_source(queue_url.removeprefix("sqs://"))

    def _start_queue_worker(self, queue_url: str) -> None:
        from tally_contract.queues.sqlite_queue import SqliteQueue

        from .queue_worker import QueueWorker

        stop = threading.Event()
        size, lease = self.options.batch_size or 500, self.options.visibility_timeout
        worker = QueueWorker(SqliteQueue.from_url(queue_url), self._pipeline(), batch_size=size, lease=lease,
                             stop_event=stop)  # fmt: skip
        self._spawn("queue-worker", worker.run, stop)

    def _start_redis_worker(self, queue_url: str) -> None:
        import redis

        from redis_worker.worker import MAX_BATCH, Worker

        client = redis.Redis.from_url(queue_url, socket_connect_timeout=5, socket_timeout=10)
        stop = threading.Event()
        size = min(self.options.batch_size or 500, MAX_BATCH)
        worker = Worker(client, self._pipeline(), batch_size=size, stop_event=stop)
        self._spawn("redis-worker", worker.run, stop)

    def _start_event_source(self, queue_url: str) -> None:
        from processor_lambda import entry
        from tally_contract import aws

        from .emulator import REGION
        from .event_source import SqsEventSource

        entry.sqs_handler(self._pipeline(emf=False))
        source = SqsEventSource(
            aws.client("sqs"), queue_url, self._handle_sqs, batch_size=self.options.batch_size or 100,
            batch_window=self.options.batch_window,
            report_failures=os.environ.get("TALLY_REPORT_BATCH_ITEM_FAILURES", "").lower() == "true", region=REGION,
        )  # fmt: skip
        self._spawn("event-source", source.run, source.stopping)

    def _handle_sqs(self, event: dict[str, Any]) -> Any:
        """The SQS function's entry point, its metrics flushed after each batch as Lambda's
        middleware does (JSON output; with text they are not added at all)."""
        from processor_lambda import entry, observability

        try:
            return entry.handle_sqs(event)
        finally:
            if self.options.log_format == "json":
                observability.metrics.flush_metrics()

    def _start_rollup(self) -> None:
        from processor_lambda import entry

        def rollup() -> None:
            started = time.perf_counter()
            report = entry.run_rollup()
            self.console.rollup(report, time.perf_counter() - started)
            purge.run(*purging)  # deleted sites' data, as the dashboard app's schedule does

        from dashboard import purge

        purging = purge.from_environment()  # this run's store (not the module's cached one)

        schedule = Every(self.options.rollup_interval, rollup, name="rollup")
        self._spawn("rollup", schedule.run, schedule.stopping)
        self._start_expiry()

    def _start_expiry(self) -> None:
        """What DynamoDB's TTL does on AWS: expired events, buckets and salts leave the file."""
        import tally_store
        from tally_store import sqlite_expiry
        from tally_store.sqlite import SQLiteStore

        store = tally_store.from_environment()
        if isinstance(store, SQLiteStore):
            expiry = Every(EXPIRY_SECONDS, lambda: sqlite_expiry.expire(store.db, time.time()), name="expiry")
            self._spawn("expiry", expiry.run, expiry.stopping)

    def _spawn(self, name: str, target: Any, stopping: threading.Event) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        self.stoppers.append(stopping)
        self.threads.append(thread)
        thread.start()

    def stop(self) -> None:
        """Stop accepting, let the processor finish its batch, then stop the emulator."""
        config.LocalState.remove()
        if self.http is not None:
            self.http.stop()
        for stopping in self.stoppers:
            stopping.set()
        for thread in self.threads:
            thread.join(30)
        if self.emulator is not None:
            self.emulator.stop()
        self.console.uninstall()
