"""schemathesis against docs/openapi.yaml, over real HTTP to the app served on loopback
(tests/support/local_pipeline.py): no 5xx, and every status, content type, header and body is one the
description documents. Half the cases carry the site's real write key, so the accepting paths
run too. A bounded number of examples per operation keeps it quick."""

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
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


@pytest.fixture(scope="module")
def local() -> Iterator[LocalPipeline]:
    with local_pipeline(ORIGIN) as pipeline:
        yield pipeline


@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_api_answers_as_documented(case: Any, local: LocalPipeline) -> None:
    headers = {}
    if int(hashlib.sha256(repr(case.body).encode()).hexdigest(), 16) % 2:
        headers = {"X-Tally-Key": local.write_key, "Origin": ORIGIN}
    case.call_and_validate(base_url=local.api.replace("localhost", "127.0.0.1"), headers=headers, checks=CHECKS)


def test_every_public_route_is_described() -> None:
    from app import app

    public = {"/events", "/i.gif", "/health", "/t.js", "/v1/{call}", "/batch", "/capture", "/e", "/i/v0/e", "/flags",
              "/decide", "/array/{token}/config", "/array/{token}/config.js", "/api/event"}  # fmt: skip
    routes = {path: set(entry) for path, entry in app.routes.items() if path in public}
    described = {
        path: {m.upper() for m in ops if m != "parameters"} for path, ops in schema.raw_schema["paths"].items()
    }
    assert routes == described
