"""The whole pipeline in one process: emulator, HTTP routes, processor, rollup schedule.

Everything reads the same environment variables as on AWS (docs/operations.md); this module
sets them to point at the emulator and then builds the app, the processor and the rollup
through their usual entry points.
"""

import importlib
import logging
import os
import threading
from dataclasses import dataclass
from typing import Any

from tally_contract import sites as site_model

from .. import config
from .emulator import REGION, Deployed, Emulator
from .event_source import SqsEventSource
from .http_server import LocalHttpServer
from .ports import ensure_free
from .scheduler import Every

LOCAL_SITE = "local"


@dataclass(frozen=True)
class Options:
    host: str = "127.0.0.1"
    port: int = 8000
    aws_port: int = 5000
    stage: str = "local"
    backend: str = "sqs"
    redis_url: str | None = None
    batch_size: int = 100
    batch_window: float = 1.0
    visibility_timeout: int = 30
    rollup_interval: float = 60.0
    verbose: bool = False


class LocalPipeline:
    def __init__(self, options: Options) -> None:
        self.options = options
        self.emulator = Emulator(options.aws_port, host=options.host)
        self.http: LocalHttpServer | None = None
        self.stoppers: list[threading.Event] = []
        self.threads: list[threading.Thread] = []
        self.state: config.LocalState | None = None

    def start(self, progress: Any = None) -> config.LocalState:
        step = progress or (lambda _label: None)
        if not self.options.verbose:
            logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the emulator's access log
        step("starting the AWS emulator")
        ensure_free(self.options.host, self.options.port, "the API")
        self.emulator.start()
        step("deploying infra/template.yaml through CloudFormation")
        deployed = self.emulator.deploy(self.options.stage, visibility_timeout=self.options.visibility_timeout)
        self._configure_environment(deployed)
        step("creating the local site and the dashboard's credentials")
        site = self._local_site(deployed)
        password = self._admin_password()
        step("starting the HTTP routes, the processor and the rollup")
        self._start_http()
        self._start_processor(deployed)
        self._start_rollup()
        assert self.http is not None
        self.state = config.LocalState(
            pid=os.getpid(),
            endpoint_url=self.emulator.endpoint_url,
            api_url=self.http.base_url,
            region=REGION,
            stage=self.options.stage,
            backend=self.options.backend,
            queue_url=os.environ["TALLY_QUEUE_URL"],
            events_queue_url=deployed.events_queue_url,
            dlq_url=deployed.dlq_url,
            sites_table=deployed.sites_table,
            events_table=deployed.events_table,
            aggregates_table=deployed.aggregates_table,
            site_id=site.site.site_id,
            write_key=site.site.write_key,
            secret_key=site.secret_key,
            admin_password=password,
        )
        self.state.write()
        return self.state

    def _configure_environment(self, deployed: Deployed) -> None:
        config.use_local_endpoint(self.emulator.endpoint_url, REGION)
        queue_url = self.options.redis_url if self.options.backend == "redis" else f"sqs://{deployed.events_queue_url}"
        os.environ.update(
            TALLY_STAGE=self.options.stage,
            TALLY_QUEUE_URL=queue_url or "",
            TALLY_SITES_TABLE=deployed.sites_table,
            TALLY_EVENTS_TABLE=deployed.events_table,
            TALLY_AGGREGATES_TABLE=deployed.aggregates_table,
            TALLY_AUTH_TABLE=deployed.auth_table,
            TALLY_DLQ=deployed.dlq_url,
            TALLY_SITE_CACHE_SECONDS="5",  # a rotated key takes effect within seconds locally
            TALLY_ADMIN_PARAMETER=f"/tally/{self.options.stage}/admin",
        )
        if not self.options.verbose:
            # One EMF line per request and per batch is noise on a terminal.
            os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
            os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")

    def _local_site(self, deployed: Deployed) -> site_model.NewSite:
        from tally_contract.sites_dynamodb import DynamoSites

        created = site_model.create(LOCAL_SITE, origins=["*"])
        DynamoSites(deployed.sites_table).put(created.site)
        return created

    def _admin_password(self) -> str:
        """A new dashboard password for this run (no default exists), kept in the emulator's SSM."""
        from dashboard.auth import provision_admin
        from tally_contract import aws

        return provision_admin(aws.client("ssm"), os.environ["TALLY_ADMIN_PARAMETER"])

    def _start_http(self) -> None:
        # The two Chalice entry points (installed as modules), read as Any: on AWS two REST
        # APIs, here one port (their routes are disjoint).
        apps = [importlib.import_module(name).app for name in ("app", "dashboard_app.app")]
        self.http = LocalHttpServer(
            apps, self.options.host, self.options.port, stage=self.options.stage, verbose=self.options.verbose
        )
        self.http.start()

    def _start_processor(self, deployed: Deployed) -> None:
        if self.options.backend == "redis":
            self._start_redis_worker()
            return
        from processor_lambda import entry
        from tally_contract import aws

        source = SqsEventSource(
            aws.client("sqs"),
            deployed.events_queue_url,
            entry.handle_sqs,
            batch_size=self.options.batch_size,
            batch_window=self.options.batch_window,
            report_failures=os.environ.get("TALLY_REPORT_BATCH_ITEM_FAILURES", "").lower() == "true",
            region=REGION,
        )
        self._spawn("event-source", source.run, source.stopping)

    def _start_redis_worker(self) -> None:
        import redis

        from redis_worker.processing import build_pipeline
        from redis_worker.worker import MAX_BATCH, Worker

        client = redis.Redis.from_url(self.options.redis_url or "", socket_connect_timeout=5, socket_timeout=10)
        stop = threading.Event()
        worker = Worker(client, build_pipeline(), batch_size=min(self.options.batch_size, MAX_BATCH), stop_event=stop)
        self._spawn("redis-worker", worker.run, stop)

    def _start_rollup(self) -> None:
        from processor_lambda import entry

        schedule = Every(self.options.rollup_interval, entry.run_rollup, name="rollup")
        self._spawn("rollup", schedule.run, schedule.stopping)

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
        self.emulator.stop()
