"""An ingest request never loads dashboard code (nor the processor's, nor the other clients'
modules and what only they need), and the ingest app has no dashboard route at all (the
dashboard is its own app, dashboard_app/app.py): checked in a fresh interpreter, since this
test process has imported everything already."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PREFIX = "IMPORTS "

SCRIPT = f"""
import json, sys
import tests.conftest  # fake AWS credentials, as every test has
from tests.support.ingest_harness import make_ingest

def ours():
    return sorted(n for n in sys.modules if n.split(".")[0] in ("dashboard", "processor_lambda", "qs_codec")
                  or n.startswith("ingest_lambda.clients"))

from app import app
from tests.support.apigw import LambdaContext, decode_response, rest_event

ingest = make_ingest()
response = ingest.post({{"url": "https://shop.example.com/pricing"}})
assert response.status == 202, response.body
after_ingest = ours()
segment = ingest.request("POST", "/v1/track", body=b'{{"event": "x"}}', headers={{"Accept": "*/*"}})
after_segment = ours()
routes = sorted(app.routes)
from dashboard_app.app import app as dashboard
answer = decode_response(dashboard(rest_event("GET", "/stats/sites"), LambdaContext()))
print({PREFIX!r} + json.dumps({{"after_ingest": after_ingest, "after_segment": after_segment, "routes": routes,
                               "status": answer.status, "dashboard_routes": sorted(dashboard.routes),
                               "after_dashboard": ours()}}))
"""


@pytest.mark.slow
def test_an_ingest_request_imports_no_dashboard_code() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = next(line for line in proc.stdout.splitlines() if line.startswith(PREFIX))
    report = json.loads(line.removeprefix(PREFIX))
    assert report["after_ingest"] == [], f"an ingest request imported {report['after_ingest']}"
    # A client's route loads its own module, and only that one.
    assert [n for n in report["after_segment"] if n.startswith("ingest_lambda.clients.")] == [
        "ingest_lambda.clients.common",
        "ingest_lambda.clients.segment",
    ]
    assert not set(report["routes"]) & set(report["dashboard_routes"])
    assert "/events" in report["routes"] and not [
        r for r in report["routes"] if r.startswith(("/dashboard", "/stats", "/admin"))
    ]
    # The dashboard's own app answers its routes: 401 without credentials.
    assert report["status"] == 401 and "dashboard.routes" in report["after_dashboard"]
