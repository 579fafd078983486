"""Run inside a fresh ``python -I`` by tests/e2e/test_package.py: serve one request from an unzipped
deployment package, against moto, and report what happened as one JSON line.

Self-contained on purpose: it imports nothing from tests/ (the unzipped code must stand alone),
and it asserts nothing; the test reads the report and asserts. A step that raises prints a
``FAILED`` line naming the step, so the test can say where it broke. The handlers are imported
before moto, as a cold start would, with nothing importable but the zip, the standard library
and what the Lambda runtime ships.

Input is one JSON argument (``sys.argv[1]``): ``code_dir`` (the unzipped zip), ``handlers``
(sam.json's function name -> handler string, ``APIHandler`` among them), ``environment`` (the API
function's variables from sam.json), ``packages`` (our top-level packages, every module of which
must import from the zip), ``runtime_provided`` (top-level modules the Lambda runtime ships) and
``app``: ``ingest`` with ``queue_name`` and ``tables`` (create_table arguments of the sites and
aggregates tables) from
infra/template.yaml and ``url`` (the event's page): POST /events; or ``dashboard`` with
``auth_table``: the login form, then a sign-in with the admin password.
"""

import base64
import importlib
import importlib.abc
import importlib.machinery
import json
import os
import sys
import traceback
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

RESULT = "TALLY_PACKAGE_RESULT "
FAILED = "TALLY_PACKAGE_FAILED "
ORIGIN = "https://shop.example.com"


class LambdaContext:
    function_name = "tally-dev-APIHandler"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:tally-dev-APIHandler"
    aws_request_id = "00000000-0000-4000-8000-000000000000"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


@contextmanager
def step(name: str) -> Iterator[None]:
    try:
        yield
    except BaseException as exc:
        detail = "".join(traceback.format_exception(exc))
        print(FAILED + json.dumps({"step": name, "error": f"{type(exc).__name__}: {exc}", "traceback": detail}))
        sys.stdout.flush()
        raise SystemExit(1) from exc


def rest_event(
    path: str, body: bytes, headers: dict[str, str], query: dict[str, str], stage: str, method: str = "POST"
) -> dict[str, Any]:
    """A request as API Gateway's REST proxy sends it when every media type is binary
    (tests/support/apigw.py), ``stage`` being the API Gateway stage sam.json deploys."""
    request_id = str(uuid.uuid4())
    return {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()},
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourceId": "abc123",
            "resourcePath": path,
            "httpMethod": method,
            "extendedRequestId": request_id,
            "requestTime": "23/Nov/2026:12:00:00 +0000",
            "path": f"/{stage}{path}",
            "accountId": "123456789012",
            "protocol": "HTTP/1.1",
            "stage": stage,
            "domainPrefix": "abc",
            "requestTimeEpoch": 1795440000000,
            "requestId": request_id,
            "identity": {"sourceIp": "203.0.113.9", "userAgent": headers.get("User-Agent")},
            "domainName": "abc.execute-api.us-east-1.amazonaws.com",
            "apiId": "abc",
        },
        "body": base64.b64encode(body).decode("ascii"),
        "isBase64Encoded": True,
    }


def resolve(handler: str) -> Callable[..., Any]:
    """``module.attr`` as the Lambda runtime resolves a handler string."""
    module_name, _, attr = handler.rpartition(".")
    target: Callable[..., Any] = getattr(importlib.import_module(module_name), attr)
    return target


def set_environment(environment: dict[str, str]) -> None:
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SQS", "AWS_ENDPOINT_URL_DYNAMODB"):
        os.environ.pop(name, None)
    os.environ.update(environment)
    os.environ.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_SESSION_TOKEN="testing",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_REGION="us-east-1",
        AWS_LAMBDA_FUNCTION_NAME=LambdaContext.function_name,
    )


def origins(watched: list[str]) -> dict[str, str | None]:
    """Where each module the test checks was loaded from (the list comes with the spec)."""
    found: dict[str, str | None] = {}
    for name in watched:
        module = sys.modules.get(name)
        found[name] = getattr(module, "__file__", None) if module else None
    return found


def main(spec: dict[str, Any]) -> dict[str, Any]:
    code_dir = spec["code_dir"]
    report: dict[str, Any] = {}
    with step("environment and sys.path"):
        set_environment(spec["environment"])
        sys.path.insert(0, code_dir)
        report["sys_path"] = list(sys.path)

    # Cold start, before moto is loaded and with nothing importable but the zip, the standard
    # library and what the Lambda runtime ships: the handlers, then every module of our packages
    # (app.py imports the processor only on its first SQS message or schedule, so a module that
    # cannot load from the zip shows here and not in production).
    guard = LambdaImports(code_dir, spec["runtime_provided"])
    sys.meta_path.insert(0, guard)
    try:
        with step("cold start: resolve every handler in sam.json from the zip"):
            handlers = {name: resolve(handler) for name, handler in spec["handlers"].items()}
            report["handlers"] = {name: callable(handler) for name, handler in handlers.items()}
        report["import_errors"] = import_all(code_dir, spec["packages"])
    finally:
        sys.meta_path.remove(guard)
    report["refused_imports"] = sorted(guard.refused)

    with step("start moto (from the runtime's site-packages)"):
        import boto3  # noqa: F401 - from the runtime's site-packages, before the mock
        from moto import mock_aws

    with mock_aws():
        serve = serve_dashboard if spec["app"] == "dashboard" else serve_ingest
        report.update(serve(spec, handlers["APIHandler"]))

    report["modules"] = origins(spec["watched"])
    return report


def serve_ingest(spec: dict[str, Any], handler: Callable[..., Any]) -> dict[str, Any]:
    import boto3

    with step("create the queue and the tables"):
        sqs = boto3.client("sqs", region_name="us-east-1")
        queue_url = sqs.create_queue(QueueName=spec["queue_name"])["QueueUrl"]
        for table in spec["tables"]:
            boto3.client("dynamodb", region_name="us-east-1").create_table(**table)

    with step("put a site with the zip's tally_contract"):
        from tally_contract import sites, sites_dynamodb

        site = sites.create("shop", origins=(ORIGIN,)).site
        sites_dynamodb.DynamoSites(os.environ["TALLY_SITES_TABLE"]).put(site)

    with step("handle POST /events"):
        body = json.dumps({"url": spec["url"], "name": "pageview"}).encode()
        headers = {"Content-Type": "application/json", "Origin": ORIGIN, "User-Agent": "package-test/1.0"}
        response = decoded(handler(rest_event("/events", body, headers, {"key": site.write_key}, spec["api_stage"]),
                                   LambdaContext()))  # fmt: skip

    with step("read the queue"):
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
    return {"response": response, "messages": [m["Body"] for m in messages.get("Messages", [])]}


def serve_dashboard(spec: dict[str, Any], handler: Callable[..., Any]) -> dict[str, Any]:
    import boto3

    with step("create the auth table and the admin parameter with the zip's dashboard.auth"):
        boto3.client("dynamodb", region_name="us-east-1").create_table(**spec["auth_table"])
        from dashboard.auth import provision_admin

        password = provision_admin(boto3.client("ssm", region_name="us-east-1"), os.environ["TALLY_ADMIN_PARAMETER"])

    with step("handle GET /dashboard/login"):
        form = decoded(handler(rest_event("/dashboard/login", b"", {}, {}, spec["api_stage"], "GET"), LambdaContext()))

    with step("handle POST /dashboard/login"):
        nonce = form["headers"]["Set-Cookie"].split(";", 1)[0]
        csrf = form["body"].split('name="csrf" value="', 1)[1].split('"', 1)[0]
        body = f"csrf={csrf}&password={password}".encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": nonce}
        login = decoded(handler(rest_event("/dashboard/login", body, headers, {}, spec["api_stage"]), LambdaContext()))
    return {"form": form, "response": login}


def decoded(response: dict[str, Any]) -> dict[str, Any]:
    raw = response.get("body") or ""
    body = base64.b64decode(raw).decode("utf-8", "replace") if response.get("isBase64Encoded") else raw
    headers = {**(response.get("headers") or {}),
               **{k: "\n".join(v) for k, v in (response.get("multiValueHeaders") or {}).items()}}  # fmt: skip
    return {"statusCode": response.get("statusCode"), "headers": headers, "body": body}


def import_all(code_dir: str, packages: list[str]) -> dict[str, str]:
    errors: dict[str, str] = {}
    for package in packages:
        for path in sorted(Path(code_dir, package).rglob("*.py")):
            parts = path.relative_to(code_dir).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            try:
                importlib.import_module(name)
            except Exception as exc:  # noqa: BLE001 - report every broken module, not just the first
                errors[name] = f"{type(exc).__name__}: {exc}"
    return errors


class LambdaImports(importlib.abc.MetaPathFinder):
    """Refuse a top-level import that is neither in the zip, nor in the standard library, nor
    shipped by the Lambda runtime, as the Lambda would: an optional import falls back, a
    required one fails."""

    def __init__(self, code_dir: str, runtime_provided: list[str]) -> None:
        self.code_dir = code_dir
        self.allowed = frozenset(runtime_provided) | sys.stdlib_module_names
        self.refused: set[str] = set()

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        # _sysconfigdata_*: the build's generated part of the standard library (zoneinfo reads
        # TZPATH through sysconfig); every Python install has it, Lambda's too.
        if path is not None or name in self.allowed or name.startswith("_sysconfigdata_"):
            return None  # a submodule, or allowed: let the normal finders look
        if importlib.machinery.PathFinder.find_spec(name, [self.code_dir]) is not None:
            return None
        self.refused.add(name)
        raise ModuleNotFoundError(f"No module named {name!r} in the zip or the Lambda runtime", name=name)


if __name__ == "__main__":
    result = main(json.loads(sys.argv[1]))
    print(RESULT + json.dumps(result))
