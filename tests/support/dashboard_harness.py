"""The dashboard and read API wired to moto: tables and queues from infra/template.yaml, the
admin parameter made by ``provision_admin``, requests through the Chalice app as Lambda gets
them."""

import time
from dataclasses import dataclass
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import urlencode

from dashboard import runtime
from dashboard.auth import provision_admin
from dashboard.pipeline_edge import SqsPipeline
from dashboard.sessions_dynamodb import DynamoAuthStore
from dashboard.stats import Stats
from tests.support.apigw import HttpResponse, LambdaContext, app_for, decode_response, rest_event
from tests.support.infra import create_queues, create_table
from tests.support.processor_harness import Processor, make_processor

PARAMETER = "/tally/test/admin"
STATIC = "/dashboard/static/"


@dataclass
class Board:
    proc: Processor
    password: str
    queues: dict[str, str]
    sqs: Any
    ssm: Any
    clock: list[float]

    def request(
        self,
        method: str,
        path: str,
        *,
        query: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
        source_ip: str = "203.0.113.9",
    ) -> HttpResponse:
        event = rest_event(method, path, body=body, headers=headers, query=query, source_ip=source_ip)
        if path.startswith(STATIC):  # API Gateway names the matched resource and its parameters
            event["resource"] = event["requestContext"]["resourcePath"] = STATIC + "{name}"
            event["pathParameters"] = {"name": path.removeprefix(STATIC)}
        return decode_response(app_for(path)(event, LambdaContext()))

    def login(self, password: str | None = None, source_ip: str = "203.0.113.9") -> HttpResponse:
        form = self.request("GET", "/dashboard/login")
        nonce = cookie_value(form, "tally_login")
        csrf = form.body.decode().split('name="csrf" value="', 1)[1].split('"', 1)[0]
        body = urlencode({"csrf": csrf, "password": self.password if password is None else password}).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": f"tally_login={nonce}"}
        return self.request("POST", "/dashboard/login", body=body, headers=headers, source_ip=source_ip)

    def session(self) -> dict[str, str]:
        """Cookie headers of a signed-in admin, and the page's CSRF token."""
        cookie = f"tally_session={cookie_value(self.login(), 'tally_session')}"
        page = self.request("GET", "/dashboard", headers={"Cookie": cookie})
        csrf = page.body.decode().split('name="csrf" content="', 1)[1].split('"', 1)[0]
        return {"Cookie": cookie, "X-CSRF-Token": csrf}

    def admin_token(self) -> str:
        return runtime.get().authenticator().issue("t", "admin", 600)

    def get(self, path: str, token: str | None = None, **query: str) -> HttpResponse:
        headers = {"Authorization": f"Bearer {token or self.admin_token()}"}
        return self.request("GET", path, query=query or None, headers=headers)


def cookie_value(response: HttpResponse, name: str) -> str:
    for header in response.headers.get("set-cookie", "").splitlines():
        jar: SimpleCookie = SimpleCookie(header)
        if name in jar:
            return jar[name].value
    raise KeyError(name)


def make_board(boto: Any) -> Board:
    dynamodb = boto.client("dynamodb")
    proc = make_processor(dynamodb)
    sqs, ssm = boto.client("sqs"), boto.client("ssm")
    queues = create_queues(sqs, "test")
    password = provision_admin(ssm, PARAMETER)
    clock = [time.time()]
    auth_table = create_table(dynamodb, "test", "AuthTable")
    runtime.configure(
        runtime.Runtime(
            Stats(proc.store, proc.sites),
            PARAMETER,
            pipeline=SqsPipeline("tally-test-events", "tally-test-events-dlq"),
            ssm=ssm,
            auth_store=DynamoAuthStore(auth_table, client=dynamodb),
            clock=lambda: clock[0],
        )
    )
    return Board(proc, password, queues, sqs, ssm, clock)
