"""Build each Lambda zip with ``chalice package`` and serve a real request from it alone.

A project (the ingest's, the repository root; the dashboard's, dashboard_app/) is copied to a
temporary directory (Chalice writes ``.chalice/deployments/`` and, by importing app.py, bytecode
next to the sources), packaged for stage ``dev``, unzipped, and then a fresh ``python -I`` with
the unzipped code first on sys.path imports the handler named in sam.json and answers, against
moto, ``POST /events`` (the ingest) or a sign-in (the dashboard) (tests/support/package_driver.py).
botocore and boto3 come from the venv there, as the Lambda runtime provides them.
"""

import json
import os
import re
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest

from dashboard.web import ASSETS
from tests.support import package_driver
from tests.support.chalice_project import copy_project
from tests.support.infra import resources

ROOT = Path(__file__).resolve().parents[2]
DRIVER = Path(package_driver.__file__)
CHALICE = Path(sys.executable).parent / "chalice"
STAGE = "dev"
PAGE = "https://shop.example.com/pricing?utm_source=zip"  # a parameter the default allowlist keeps

OUR_PACKAGES = {"ingest_lambda", "processor_lambda", "tally_aggregates", "tally_contract", "tally_export",
                "tally_store"}  # fmt: skip
EXPECTED_TOP_LEVEL = {"app.py", "chalice", "aws_lambda_powertools", "redis", *OUR_PACKAGES}
# Never shipped: repo-only directories, and what the Lambda runtime already provides.
FORBIDDEN_TOP_LEVEL = {"tests", "bench", "docs", "infra", ".venv", "venv", ".chalice", "vendor", "boto3", "botocore",
                       "dashboard_app", "tally_cli", "tally_ops"}  # fmt: skip
# The function strangers reach carries no dashboard code, nor the dashboard the ingest's.
DASHBOARD_PACKAGES = {"dashboard", "tally_aggregates", "tally_contract", "tally_store"}
DASHBOARD_TOP_LEVEL = {"app.py", "chalice", "redis", *DASHBOARD_PACKAGES}
# The zip is 1.7 MB today; vendoring botocore by mistake would add ~13 MB.
MAX_ZIP_BYTES = 5 * 1024 * 1024
MAX_UNZIPPED_BYTES = 25 * 1024 * 1024
FROM_RUNTIME = ("botocore", "boto3", "moto")
# What the Lambda Python runtime ships (boto3 and its dependencies): at cold start, the only
# modules importable from outside the zip and the standard library.
RUNTIME_PROVIDED = {"boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six"}
FROM_ZIP = (
    "app",
    "chalice",
    "ingest_lambda",
    "tally_contract",
    "tally_contract.sites_dynamodb",
    "tally_contract.queues.sqs_queue",
    "processor_lambda",
    "processor_lambda.entry",
    "aws_lambda_powertools",
    "redis",
    "jmespath",
)

pytestmark = pytest.mark.slow


def _text(output: str | bytes | None) -> str:
    """A timed-out process's output (bytes, even with text=True)."""
    return output.decode("utf-8", "replace") if isinstance(output, bytes) else output or ""


def run_chalice_package(project: Path, out: Path) -> float:
    assert CHALICE.exists(), f"no chalice executable next to {sys.executable}"
    env = dict(os.environ)
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL"):
        env.pop(name, None)
    # `chalice package` needs a region though it calls no AWS API. It imports app.py before it
    # zips vendor/, so bytecode written then would ship through the vendor symlinks: keep it out.
    env.update(AWS_DEFAULT_REGION="us-east-1", PYTHONDONTWRITEBYTECODE="1")
    started = time.monotonic()
    try:
        proc = subprocess.run(
            [str(CHALICE), "package", "--stage", STAGE, str(out)],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"chalice package timed out after {exc.timeout}s (downloading wheels?)\n{_text(exc.stderr)}")
    elapsed = time.monotonic() - started
    assert proc.returncode == 0, (
        f"chalice package --stage {STAGE} exited {proc.returncode}\n"
        f"--- stderr ---\n{proc.stderr}\n--- stdout ---\n{proc.stdout}"
    )
    return elapsed


def pinned_requirements(source: Path = ROOT) -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in (source / "requirements.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, sep, version = line.partition("==")
            assert sep, f"requirements.txt should pin exact versions: {line!r}"
            pins[re.sub(r"[-_.]+", "_", name.strip()).lower()] = version.strip()
    return pins


INGEST_FILES = ("ingest_lambda/static/t.js",)
DASHBOARD_FILES = tuple(f"dashboard/static/{asset}" for asset in ("index.html", "login.html", *ASSETS))


def check_zip(
    zip_path: Path,
    code_dir: Path,
    expected: set[str] = EXPECTED_TOP_LEVEL,
    forbidden: set[str] = FORBIDDEN_TOP_LEVEL | {"dashboard"},
    files: tuple[str, ...] = INGEST_FILES,
    source: Path = ROOT,
) -> dict[str, int]:
    assert zip_path.is_file(), f"chalice package wrote no {zip_path.name}"
    with zipfile.ZipFile(zip_path) as archive:
        names = archive.namelist()
        unzipped_bytes = sum(info.file_size for info in archive.infolist())
        archive.extractall(code_dir)
    top_level = {name.split("/", 1)[0] for name in names}
    missing = expected - top_level
    assert not missing, f"missing from the zip: {sorted(missing)}; top level is {sorted(top_level)}"
    leaked = top_level & forbidden
    assert not leaked, f"must not be in the zip: {sorted(leaked)}"
    bytecode = [name for name in names if "__pycache__/" in name or name.endswith(".pyc")]
    assert not bytecode, f"bytecode in the zip: {bytecode[:10]}"
    # Ours only: a pinned wheel's own tests ship as the wheel has them (regex/tests/test_regex.py).
    wheels = {n.lower().replace("-", "_") for n in pinned_requirements(source)}
    test_modules = [name for name in names if re.search(r"(^|/)(conftest|test_[^/]*)\.py$", name)
                    and name.split("/", 1)[0].lower() not in wheels]  # fmt: skip
    assert not test_modules, f"test modules in the zip: {test_modules[:10]}"
    for file in files:
        assert file in names, f"{file} is not in the zip"

    dist_infos = {name.split("/", 1)[0].lower() for name in names if name.split("/", 1)[0].endswith(".dist-info")}
    for name, version in pinned_requirements(source).items():
        assert f"{name}-{version}.dist-info" in dist_infos, f"{name}=={version} not in the zip: {sorted(dist_infos)}"
    return {"zip_bytes": zip_path.stat().st_size, "unzipped_bytes": unzipped_bytes, "files": len(names)}


INGEST_HANDLERS = {"APIHandler": "app.app", "ProcessEvents": "app.process_events", "Rollup": "app.rollup",
                   "RollupWorker": "app.rollup_worker"}  # fmt: skip


def check_sam(sam_path: Path, expected_handlers: dict[str, str] = INGEST_HANDLERS) -> dict[str, Any]:
    """The function definitions: one zip for all, handlers and the API function's environment."""
    template = json.loads(sam_path.read_text())
    functions = {
        name: res["Properties"]
        for name, res in template["Resources"].items()
        if res["Type"] == "AWS::Serverless::Function"
    }
    handlers = {name: props["Handler"] for name, props in functions.items()}
    assert handlers == expected_handlers, handlers
    runtime = f"python{sys.version_info.major}.{sys.version_info.minor}"
    for name, props in functions.items():
        assert props["CodeUri"] == "./deployment.zip", (name, props["CodeUri"])
        assert props["Runtime"] == runtime, (name, props["Runtime"])
    environment: dict[str, str] = functions["APIHandler"]["Environment"]["Variables"]
    (api,) = [r["Properties"] for r in template["Resources"].values() if r["Type"] == "AWS::Serverless::Api"]
    return {"handlers": handlers, "environment": environment, "api_stage": api["StageName"]}


def run_driver(spec: dict[str, Any], cwd: Path) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TALLY_", "POWERTOOLS_"))}
    try:
        proc = subprocess.run(
            [sys.executable, "-I", "-c", DRIVER.read_text(), json.dumps(spec)],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"the driver timed out after {exc.timeout}s\n{_text(exc.stdout)}\n{_text(exc.stderr)}")
    lines = proc.stdout.splitlines()
    for line in lines:
        if line.startswith(package_driver.FAILED):
            failure = json.loads(line.removeprefix(package_driver.FAILED))
            pytest.fail(
                f"the unzipped package failed at step {failure['step']!r}: {failure['error']}\n"
                f"{failure['traceback']}\n--- stderr ---\n{proc.stderr[-4000:]}"
            )
    results = [line.removeprefix(package_driver.RESULT) for line in lines if line.startswith(package_driver.RESULT)]
    assert proc.returncode == 0 and len(results) == 1, (
        f"the driver exited {proc.returncode} without one result line\n"
        f"--- stdout ---\n{proc.stdout[-4000:]}\n--- stderr ---\n{proc.stderr[-4000:]}"
    )
    report: dict[str, Any] = json.loads(results[0])
    return report


def check_origins(report: dict[str, Any], code_dir: Path) -> None:
    modules: dict[str, str | None] = report["modules"]
    sys_path: list[str] = report["sys_path"]
    assert sys_path[0] == str(code_dir), f"the unzipped code is not first on sys.path: {sys_path}"
    for name in FROM_ZIP:
        origin = modules[name]
        assert origin is not None, f"{name} was never imported; import errors: {report['import_errors']}"
        assert Path(origin).is_relative_to(code_dir), f"{name} came from {origin}, not the unzipped package"
    for name in FROM_RUNTIME:
        origin = modules[name]
        assert origin is not None, f"{name} was never imported"
        assert not Path(origin).is_relative_to(code_dir), f"{name} was loaded from the zip: {origin}"
        entry = next((p for p in sys_path if p and Path(origin).is_relative_to(p)), None)
        assert entry is not None and sys_path.index(entry) > 0, (
            f"{name} ({origin}) should come from a sys.path entry after the unzipped code: {sys_path}"
        )


def check_request(report: dict[str, Any]) -> None:
    response = report["response"]
    assert response["statusCode"] == 202, f"POST /events answered {response['statusCode']}: {response['body']}"
    body = json.loads(response["body"])
    assert body.get("accepted") == 1 and body.get("event_id"), body
    headers = {k.lower(): v for k, v in response["headers"].items()}
    assert headers.get("access-control-allow-origin") == "https://shop.example.com", headers

    messages: list[str] = report["messages"]
    assert len(messages) == 1, f"expected one SQS message, got {len(messages)}: {messages}"
    job = json.loads(messages[0])
    assert job["class"] == "ProcessRequestJob", job
    assert job["queue"] == "default" and job["jid"], job
    assert job["args"][0]["url"] == PAGE, job["args"]
    assert job["args"][0]["event_id"] == body["event_id"], (job["args"], body)
    assert report["handlers"] == dict.fromkeys(INGEST_HANDLERS, True), report["handlers"]


def test_chalice_package_serves_a_request_from_the_zip_alone(tmp_path: Path) -> None:
    started = time.monotonic()
    project = copy_project(tmp_path)
    out = tmp_path / "out"
    package_seconds = run_chalice_package(project, out)

    code_dir = tmp_path / "unzipped"
    sizes = check_zip(out / "deployment.zip", code_dir)
    assert sizes["zip_bytes"] <= MAX_ZIP_BYTES, f"deployment.zip is {sizes['zip_bytes']:,} bytes"
    assert sizes["unzipped_bytes"] <= MAX_UNZIPPED_BYTES, f"unzipped: {sizes['unzipped_bytes']:,} bytes"
    sam = check_sam(out / "sam.json")

    # The stage's names must be the ones infra/template.yaml creates.
    infra = resources(STAGE)
    queue_name = infra["EventsQueue"]["Properties"]["QueueName"]
    table = infra["SitesTable"]["Properties"]
    assert sam["environment"]["TALLY_QUEUE_URL"] == f"sqs://{queue_name}", sam["environment"]
    assert sam["environment"]["TALLY_SITES_TABLE"] == table["TableName"], sam["environment"]
    aggregates = infra["AggregatesTable"]["Properties"]
    assert sam["environment"]["TALLY_AGGREGATES_TABLE"] == aggregates["TableName"], sam["environment"]
    # The sites table, and the aggregates table where ingest reads the day's visitor-id salt.
    tables = [
        {key: props[key] for key in ("TableName", "AttributeDefinitions", "KeySchema", "BillingMode",
                                     "GlobalSecondaryIndexes") if key in props}
        for props in (table, aggregates)
    ]  # fmt: skip

    empty = tmp_path / "cwd"
    empty.mkdir()
    spec = {
        "app": "ingest",
        "code_dir": str(code_dir),
        "handlers": sam["handlers"],
        "environment": sam["environment"],
        "api_stage": sam["api_stage"],
        "queue_name": queue_name,
        "tables": tables,
        "url": PAGE,
        "packages": sorted(OUR_PACKAGES),
        "runtime_provided": sorted(RUNTIME_PROVIDED),
        "watched": [*FROM_ZIP, *FROM_RUNTIME],
    }
    report = run_driver(spec, empty)
    check_origins(report, code_dir)
    check_request(report)
    broken = "\n".join(f"  {name}: {error}" for name, error in report["import_errors"].items())
    assert not broken, f"modules that do not import from the unzipped package alone:\n{broken}"
    print(
        f"\ndeployment.zip: {sizes['zip_bytes']:,} bytes ({sizes['unzipped_bytes']:,} unzipped, "
        f"{sizes['files']} files); optional imports absent on Lambda: {report['refused_imports']}; "
        f"chalice package {package_seconds:.1f}s, "
        f"whole test {time.monotonic() - started:.1f}s"
    )


def test_the_dashboard_zip_signs_the_admin_in_from_the_zip_alone(tmp_path: Path) -> None:
    project = copy_project(tmp_path, ROOT / "dashboard_app")
    out = tmp_path / "out"
    run_chalice_package(project, out)
    code_dir = tmp_path / "unzipped"
    ingest_only = {"ingest_lambda", "processor_lambda", "aws_lambda_powertools"}
    sizes = check_zip(out / "deployment.zip", code_dir, DASHBOARD_TOP_LEVEL, FORBIDDEN_TOP_LEVEL | ingest_only,
                      DASHBOARD_FILES, ROOT / "dashboard_app")  # fmt: skip
    assert sizes["zip_bytes"] <= MAX_ZIP_BYTES
    sam = check_sam(out / "sam.json", {"APIHandler": "app.app", "Purge": "app.purge"})  # purge: deleted sites' data
    dashboard_pins, ingest_pins = pinned_requirements(ROOT / "dashboard_app"), pinned_requirements()
    shared = dashboard_pins.keys() & ingest_pins.keys()
    same = {n: dashboard_pins[n] for n in shared} == {n: ingest_pins[n] for n in shared}
    assert same, "the apps pin different versions"
    auth = resources(STAGE)["AuthTable"]["Properties"]
    assert sam["environment"]["TALLY_AUTH_TABLE"] == auth["TableName"]
    empty = tmp_path / "cwd"
    empty.mkdir()
    watched = ["app", "chalice", "dashboard", "dashboard.sessions_dynamodb", "tally_contract", *FROM_RUNTIME]
    spec = {
        "app": "dashboard",
        "code_dir": str(code_dir),
        "handlers": sam["handlers"],
        "environment": sam["environment"],
        "api_stage": sam["api_stage"],
        "auth_table": {key: auth[key] for key in ("TableName", "AttributeDefinitions", "KeySchema", "BillingMode")},
        "packages": sorted(DASHBOARD_PACKAGES),
        "runtime_provided": sorted(RUNTIME_PROVIDED),
        "watched": watched,
    }
    report = run_driver(spec, empty)
    for name in watched[: -len(FROM_RUNTIME)]:
        assert Path(report["modules"][name]).is_relative_to(code_dir), (name, report["modules"][name])
    assert report["form"]["statusCode"] == 200, report["form"]
    response = report["response"]
    assert response["statusCode"] == 303, response
    assert "tally_session=s." in response["headers"]["Set-Cookie"], response["headers"]
    assert not report["import_errors"], report["import_errors"]
    assert report["handlers"] == {"APIHandler": True, "Purge": True}, report["handlers"]
    print(f"\ndashboard deployment.zip: {sizes['zip_bytes']:,} bytes ({sizes['files']} files)")
