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
        if path.startswith(STATIC):  # any name, slashes too: what the handler gets is what is tested
            event["resource"] = event["requestContext"]["resourcePath"] = STATIC + "{name}"
            event["pathParameters"] = {"name": path.removeprefix(STATIC)}
        return decode_response(app_for(path)(event, LambdaContext()))

    def login(self, password: str | None = None, source_ip: str = "203.0.113.9", **form: str) -> HttpResponse:
        """Sign in with the admin password, or with ``form``'s fields (name and password, or token)."""
        page = self.request("GET", "/dashboard/login")
        fields = {"password": self.password if password is None else password, **form}
        return self.post_form("/dashboard/login", page, fields, source_ip)

    def post_form(
        self, path: str, page: HttpResponse, fields: dict[str, str], source_ip: str = "203.0.113.9"
    ) -> HttpResponse:
        """POST a form the way the browser sends ``page``'s form: its CSRF field and login cookie."""
        nonce = cookie_value(page, "tally_login")
        csrf = page.body.decode().split('name="csrf" value="', 1)[1].split('"', 1)[0]
        body = urlencode({"csrf": csrf, **fields}).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": f"tally_login={nonce}"}
        return self.request("POST", path, body=body, headers=headers, source_ip=source_ip)

    def session(self, **form: str) -> dict[str, str]:
        """Cookie headers of a signed-in admin (or of ``form``'s credential), and the CSRF token."""
        return self.session_of(self.login(**form))

    def session_of(self, signed_in: HttpResponse) -> dict[str, str]:
        cookie = f"tally_session={cookie_value(signed_in, 'tally_session')}"
        page = self.request("GET", "/dashboard", headers={"Cookie": cookie})
        csrf = page.body.decode().split('name="csrf" content="', 1)[1].split('"', 1)[0]
        return {"Cookie": cookie, "X-CSRF-Token": csrf}

    def admin_token(self) -> str:
        return self.token("admin")

    def token(self, scope: str = "read", *sites: str, days: int | None = None) -> str:
        """A stored API token (accounts.py), minted as the admin API mints them."""
        return mint_token(scope, *sites, days=days, now=self.clock[0])

    def user(self, name: str, role: str = "viewer", *sites: str, password: str = "correct horse battery") -> str:
        """A named user who accepted their invitation; returns the password."""
        accounts = runtime.get().accounts()
        code = accounts.invite(name, role, sites, "test", self.clock[0])
        accounts.accept(code, password, self.clock[0])
        return password

    def get(self, path: str, token: str | None = None, **query: str) -> HttpResponse:
        headers = {"Authorization": f"Bearer {token or self.admin_token()}"}
        return self.request("GET", path, query=query or None, headers=headers)


def mint_token(scope: str = "read", *sites: str, days: int | None = None, now: float | None = None) -> str:
    import time

    accounts = runtime.get().accounts()
    return accounts.mint(f"test {scope}", scope, sites, "test", time.time() if now is None else now, days)[1]


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
