"""The whole pipeline in this process, over real HTTP on loopback, for tests that drain the
queue themselves (the browser test runs `tally up` instead, tests/local_up.py): moto's
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

from tests.apigw import LambdaContext, decode_response, rest_event
from tests.infra import create_queues, create_table
from tests.servers import free_port

STAGE = "browser"
STATIC = "/dashboard/static/"
PARAMETER = f"/tally/{STAGE}/admin"


class ChaliceHandler(BaseHTTPRequestHandler):
    """One HTTP request in, one API Gateway REST proxy event to the app, its response out."""

    protocol_version = "HTTP/1.1"

    def _serve(self) -> None:
        from app import app

        path, _, raw_query = self.path.partition("?")
        from urllib.parse import parse_qsl

        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {k: v for k, v in self.headers.items()}
        query = dict(parse_qsl(raw_query, keep_blank_values=True))
        event = rest_event(
            self.command, path, body=body, headers=headers, query=query, source_ip=self.client_address[0]
        )
        if path.startswith(STATIC):
            event["resource"] = event["requestContext"]["resourcePath"] = STATIC + "{name}"
            event["pathParameters"] = {"name": path.removeprefix(STATIC)}
        response = decode_response(app(event, LambdaContext()))
        self.send_response(response.status)
        for name, value in response.headers.items():
            if name not in ("content-length", "connection"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        self.wfile.write(response.body)

    do_GET = do_POST = do_OPTIONS = _serve

    def log_message(self, format: str, *args: Any) -> None:  # quiet test output
        return


@dataclass
class LocalPipeline:
    api: str  # http://localhost:<port>
    password: str
    write_key: str
    queue_url: str
    clients: dict[str, Any]

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


@contextmanager
def local_pipeline(page_origin: str) -> Iterator[LocalPipeline]:
    import boto3
    from moto.server import ThreadedMotoServer

    from dashboard import runtime as dashboard_runtime
    from dashboard.auth import provision_admin
    from ingest_lambda import runtime as ingest_runtime
    from tally_contract import aws, sites
    from tally_contract.sites_dynamodb import DynamoSites

    moto_port = free_port()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=moto_port, verbose=False)
    moto.start()
    saved = dict(os.environ)
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), ChaliceHandler)
    try:
        os.environ["AWS_ENDPOINT_URL"] = f"http://127.0.0.1:{moto_port}"
        session = boto3.session.Session(region_name="us-east-1")
        clients = {name: session.client(name) for name in ("dynamodb", "sqs", "ssm")}
        tables = {
            name: create_table(clients["dynamodb"], STAGE, name)
            for name in ("SitesTable", "EventsTable", "AggregatesTable")
        }
        queues = create_queues(clients["sqs"], STAGE)
        site = sites.create("shop", origins=(page_origin,))
        DynamoSites(tables["SitesTable"], client=clients["dynamodb"]).put(site.site)
        os.environ.update(
            TALLY_QUEUE_URL=f"sqs://tally-{STAGE}-events", TALLY_DLQ=f"tally-{STAGE}-events-dlq",
            TALLY_SITES_TABLE=tables["SitesTable"], TALLY_EVENTS_TABLE=tables["EventsTable"],
            TALLY_AGGREGATES_TABLE=tables["AggregatesTable"], TALLY_ADMIN_PARAMETER=PARAMETER, TALLY_STAGE=STAGE,
        )  # fmt: skip
        password = provision_admin(clients["ssm"], PARAMETER)
        aws.reset()
        ingest_runtime.reset()
        dashboard_runtime.reset()
        threading.Thread(target=server.serve_forever, daemon=True).start()
        api = f"http://localhost:{server.server_address[1]}"
        yield LocalPipeline(api, password, site.site.write_key, queues["EventsQueue"], clients)
    finally:
        server.shutdown()
        server.server_close()
        moto.stop()
        os.environ.clear()
        os.environ.update(saved)
        aws.reset()
        ingest_runtime.reset()
        dashboard_runtime.reset()
