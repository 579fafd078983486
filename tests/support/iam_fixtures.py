"""The IAM audit as fixtures, for the tiers where Lambda handlers run against moto
(tests/functional, tests/e2e): every AWS call a handler makes is held against its function's
policy (iam_audit.py)."""

from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture(scope="session")
def iam_recorder() -> Iterator[Any]:
    """Every AWS call made inside a handler of either app (app.py, dashboard_app/app.py), by
    function (tests/support/iam_audit.py)."""
    from botocore.client import BaseClient

    from app import app
    from dashboard_app.app import app as dashboard_app
    from tests.support import iam_audit

    recorder = iam_audit.Recorder()
    original = iam_audit.install(recorder)
    app.register_middleware(iam_audit.attribute_middleware("api_handler"), "all")
    dashboard_app.register_middleware(iam_audit.attribute_middleware("dashboard"), "all")
    yield recorder
    BaseClient._make_api_call = original


@pytest.fixture(autouse=True)
def iam_policies_allow_every_call(iam_recorder: Any) -> Iterator[None]:
    """Fail the test whose handlers made an AWS call their function's policy (any stage) denies."""
    from tests.support import iam_audit

    iam_recorder.take()
    yield
    problems = iam_audit.violations(iam_recorder.take())
    if problems:
        pytest.fail("IAM policy does not allow:\n" + "\n".join(problems), pytrace=False)
