"""schemathesis against docs/openapi.yaml, over real HTTP to both apps served on loopback
(tests/support/local_pipeline.py): no 5xx, and every status, content type, header and body is
one the description documents. Half the ingest cases carry the site's real write key, so the
accepting paths run too; the dashboard's cases go unauthenticated, with an admin or a viewer
bearer token, or with an admin session and its CSRF token, in turn. A bounded number of
examples per operation keeps it quick."""

import hashlib
import re
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.support.faults.client import ORIGIN
from tests.support.local_pipeline import LocalPipeline, local_pipeline

pytestmark = pytest.mark.slow
SPEC = Path(__file__).resolve().parents[2] / "docs" / "openapi.yaml"
schema = schemathesis.openapi.from_path(SPEC)
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]  # fmt: skip


DASHBOARD = ("/dashboard", "/stats/", "/admin/", "/api/v2/", "/api/export/")
statuses: Counter[tuple[str, int]] = Counter()


@pytest.fixture(scope="module")
def local() -> Iterator[LocalPipeline]:
    with local_pipeline(ORIGIN) as pipeline:
        yield pipeline
    errors = sum(n for (_, status), n in statuses.items() if status >= 500)
    print(f"\n[schemathesis] {sum(statuses.values())} calls; 5xx: {errors}; "
          f"by credential and status: {dict(sorted(statuses.items()))}")  # fmt: skip


@pytest.fixture(scope="module")
def credentials(local: LocalPipeline) -> dict[str, dict[str, str]]:
    from dashboard import runtime

    accounts = runtime.get().accounts()
    base = local.api.replace("localhost", "127.0.0.1")
    with requests.Session() as client:  # schemathesis's own HTTP client
        form = client.get(f"{base}/dashboard/login", timeout=30)
        csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert csrf, form.text
        # The cookies are Secure: requests keeps them from plain http, so they are sent by hand.
        nonce = form.cookies["tally_login"]
        signed_in = client.post(
            f"{base}/dashboard/login", data={"csrf": csrf[1], "password": local.password},
            headers={"Cookie": f"tally_login={nonce}"}, allow_redirects=False, timeout=30,
        )  # fmt: skip
        assert signed_in.status_code == 303, signed_in.text
        session = signed_in.cookies["tally_session"]
        page = client.get(f"{base}/dashboard", headers={"Cookie": f"tally_session={session}"}, timeout=30)
        token = re.search(r'name="csrf" content="([^"]+)"', page.text)
        assert token, page.text
    return {
        "none": {},
        "admin": {"Authorization": f"Bearer {accounts.mint('admin', 'admin', (), 'test', time.time())[1]}"},
        "viewer": {"Authorization": f"Bearer {accounts.mint('viewer', 'read', ['shop'], 'test', time.time())[1]}"},
        "session": {"Cookie": f"tally_session={session}", "X-CSRF-Token": token[1]},
    }


def pick(case: Any, choices: list[str]) -> str:
    """A credential for the case, spread evenly and reproducibly over the cases."""
    digest = hashlib.sha256(repr((case.path_parameters, case.query, case.body)).encode()).hexdigest()
    return choices[int(digest, 16) % len(choices)]


@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_api_answers_as_documented(case: Any, local: LocalPipeline, credentials: dict[str, dict[str, str]]) -> None:
    if case.path.startswith(DASHBOARD):
        credential = pick(case, list(credentials))
        headers = dict(credentials[credential])
        if headers:  # ours, instead of the random ones schemathesis makes from the security schemes
            case.headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
            case.cookies = {}
        else:
            credential = "forged" if case.cookies or "Authorization" in (case.headers or {}) else credential
    else:
        credential = pick(case, ["none", "write key"])
        headers = {"X-Tally-Key": local.write_key, "Origin": ORIGIN} if credential == "write key" else {}
    response = case.call(base_url=local.api.replace("localhost", "127.0.0.1"), headers=headers)
    statuses[(credential, response.status_code)] += 1
    case.validate_response(response, checks=CHECKS)


def test_every_route_of_both_apps_is_described() -> None:
    from app import app
    from dashboard_app.app import app as dashboard

    # Chalice's route table is a defaultdict: a request for an unknown path leaves an empty entry.
    routes = {path: set(entry) for each in (app, dashboard) for path, entry in each.routes.items() if entry}
    described = {
        path: {m.upper() for m in ops if m not in ("parameters", "servers")}
        for path, ops in schema.raw_schema["paths"].items()
    }
    assert routes == described
