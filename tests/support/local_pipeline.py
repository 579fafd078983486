"""The whole pipeline in this process, over real HTTP on loopback, for tests that drain the
queue themselves (the browser test runs `tally up` instead, tests/support/local_up.py): moto's
server (resources from infra/template.yaml), the Chalice app behind a small threaded HTTP
adapter that shapes each request as API Gateway would, and ``drain()`` that feeds the queue to
the production pipeline. Small on purpose."""

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.support.apigw import LambdaContext, app_for, decode_response, rest_event
from tests.support.infra import create_queues, create_table
from tests.support.servers import free_port

STAGE = "browser"
PARAMETER = f"/tally/{STAGE}/admin"
MAX_PAYLOAD = 10 * 1024 * 1024  # API Gateway refuses bigger request bodies with 413


class ChaliceHandler(BaseHTTPRequestHandler):
    """One HTTP request in, one API Gateway REST proxy event to the app, its response out."""

    protocol_version = "HTTP/1.1"

    def _serve(self) -> None:
        path, _, raw_query = self.path.partition("?")
        from urllib.parse import parse_qsl

        length = self._content_length()
        if length is None:
            return
        body = self.rfile.read(length) if length else None
        headers = {k: v for k, v in self.headers.items()}
        query = dict(parse_qsl(raw_query, keep_blank_values=True))
        event = rest_event(
            self.command, path, body=body, headers=headers, query=query, source_ip=self.client_address[0]
        )
        response = decode_response(app_for(path)(event, LambdaContext()))
        self.send_response(response.status)
        for name, value in response.header_list:
            if name not in ("content-length", "connection"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    def _content_length(self) -> int | None:
        """The body's length, or None after answering as API Gateway would (400, 413)."""
        text = self.headers.get("Content-Length") or "0"
        if not text.isdigit():
            self._refuse(400, b'{"message":"Bad Request"}')
            return None
        if int(text) > MAX_PAYLOAD:
            self._refuse(413, b'{"message":"Request Too Long"}')
            return None
        return int(text)

    def _refuse(self, status: int, body: bytes) -> None:
        self.close_connection = True  # the unread body must not be taken for the next request
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def __getattr__(self, name: str) -> Any:
        # Every method goes to the app, which answers 405 where a route lacks it (as API
        # Gateway's proxy integration would), instead of http.server's 501.
        if name.startswith("do_"):
            return self._serve
        raise AttributeError(name)

    def log_message(self, format: str, *args: Any) -> None:  # quiet test output
        return


@dataclass
class LocalPipeline:
    api: str  # http://localhost:<port>
    password: str
    write_key: str
    queue_url: str
    clients: dict[str, Any]
    emulator: Any = None  # the moto server
    reprovision: Any = None  # recreate tables, queues and the site in a fresh emulator

    def drain(self) -> int:
        """Feed every queued message to the processor; return how many were processed."""
        from processor_lambda.pipeline import build_pipeline

        pipeline, done = build_pipeline(), 0
        sqs = self.clients["sqs"]
        while True:
            got = sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
            messages = got.get("Messages", [])
            if not messages:
                return done
            results = pipeline.process([m["Body"] for m in messages])
            assert all(r.ok for r in results), [str(r.error) for r in results if not r.ok]
            for m in messages:
                sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=m["ReceiptHandle"])
            done += len(messages)

    def stop_emulator(self) -> None:
        self.emulator.stop()

    def start_emulator(self) -> None:
        """A moto server on the same port again, empty as a restarted emulator is (the threaded
        server keeps its state in this process, so it is reset), provisioned as at start."""

        from moto.server import ThreadedMotoServer

        host, port = self.emulator.get_host_and_port()
        self.emulator = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
        self.emulator.start()
        _reset_emulator(self.emulator)
        self.queue_url = self.reprovision()


@contextmanager
def local_pipeline(page_origin: str, *, queue_url: str | None = None) -> Iterator[LocalPipeline]:
    """``queue_url`` (e.g. redis://...) replaces the SQS queue ingest writes to."""
    import boto3
    from moto.server import ThreadedMotoServer

    from dashboard import runtime as dashboard_runtime
    from dashboard.auth import provision_admin
    from ingest_lambda import runtime as ingest_runtime
    from tally_contract import aws, sites

    moto_port = free_port()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=moto_port, verbose=False)
    moto.start()
    _reset_emulator(moto)  # moto's state lives in this process: start from an empty emulator
    saved = dict(os.environ)
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), ChaliceHandler)
    serving = threading.Thread(target=server.serve_forever, daemon=True)
    try:
        os.environ["AWS_ENDPOINT_URL"] = f"http://127.0.0.1:{moto_port}"
        session = boto3.session.Session(region_name="us-east-1")
        clients = {name: session.client(name) for name in ("dynamodb", "sqs", "ssm")}
        site = sites.create("shop", origins=(page_origin,))

        def provision() -> str:
            return _provision(clients, site.site)

        events_queue = provision()
        if queue_url:
            os.environ["TALLY_QUEUE_URL"] = queue_url
        password = provision_admin(clients["ssm"], PARAMETER)
        aws.reset()
        ingest_runtime.reset()
        dashboard_runtime.reset()
        serving.start()
        api = f"http://localhost:{server.server_address[1]}"
        yield LocalPipeline(api, password, site.site.write_key, events_queue, clients, moto, provision)
    finally:
        if serving.is_alive():
            server.shutdown()
        server.server_close()
        moto.stop()
        os.environ.clear()
        os.environ.update(saved)
        aws.reset()
        ingest_runtime.reset()
        dashboard_runtime.reset()


def _reset_emulator(moto: Any) -> None:
    import urllib.request

    host, port = moto.get_host_and_port()
    request = urllib.request.Request(f"http://{host}:{port}/moto-api/reset", method="POST")
    urllib.request.urlopen(request, timeout=10).close()


def _provision(clients: dict[str, Any], site: Any) -> str:
    """Tables, queues and the site, in the current emulator; sets the app's environment.
    Returns the events queue's URL."""
    from tally_contract.sites_dynamodb import DynamoSites

    tables = {
        name: create_table(clients["dynamodb"], STAGE, name)
        for name in ("SitesTable", "EventsTable", "AggregatesTable", "AuthTable")
    }
    queues = create_queues(clients["sqs"], STAGE)
    DynamoSites(tables["SitesTable"], client=clients["dynamodb"]).put(site)
    os.environ.update(
        TALLY_QUEUE_URL=f"sqs://tally-{STAGE}-events", TALLY_DLQ=f"tally-{STAGE}-events-dlq",
        TALLY_SITES_TABLE=tables["SitesTable"], TALLY_EVENTS_TABLE=tables["EventsTable"],
        TALLY_AGGREGATES_TABLE=tables["AggregatesTable"], TALLY_ADMIN_PARAMETER=PARAMETER, TALLY_STAGE=STAGE,
        TALLY_AUTH_TABLE=tables["AuthTable"],
    )  # fmt: skip
    return queues["EventsQueue"]
