"""The ingest alarms of each stage's stack watch that stage's API and no other.

API Gateway publishes REST API metrics by ApiName and Stage. Chalice names the REST API after
the app for every Chalice stage, so the API Gateway stage name (``api_gateway_stage``) is what
keeps dev's traffic out of prod's alarms. The alarms' dimensions are resolved per stage from
infra/template.yaml and infra/stages/<stage>.params (what `make deploy` passes; moto skips
alarms, so this reads the template), then compared with what Chalice deploys for that stage:
its config resolution, and the REST API in `chalice package`'s output.
"""

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.iam_audit import CONFIG, STAGES
from tests.support.infra import TEMPLATE
from tests.support.stack import stack_parameters

T = yaml.safe_load(TEMPLATE.read_text())
API_ALARMS = ("Ingest5xxAlarm", "Ingest4xxAlarm")


def _resolve(value: Any, parameters: dict[str, str]) -> Any:
    if isinstance(value, dict) and set(value) == {"Ref"}:
        name = value["Ref"]
        if name in parameters:
            return parameters[name]
        assert "Default" in T["Parameters"][name], f"parameter {name} has no value and no default"
        return str(T["Parameters"][name]["Default"])
    return value


def api_dimensions(stage: str) -> set[tuple[tuple[str, str], ...]]:
    """Every distinct dimension set the stage's alarms read AWS/ApiGateway metrics by."""
    parameters = stack_parameters(stage)
    seen = set()
    for name in API_ALARMS:
        for query in T["Resources"][name]["Properties"]["Metrics"]:
            metric = query.get("MetricStat", {}).get("Metric")
            if metric is None:
                continue
            assert metric["Namespace"] == "AWS/ApiGateway", (name, metric)
            dimensions = tuple(sorted((d["Name"], _resolve(d["Value"], parameters)) for d in metric["Dimensions"]))
            seen.add(dimensions)
    return seen


def chalice_api(stage: str) -> tuple[tuple[str, str], ...]:
    """(ApiName, Stage) as `chalice deploy --stage <stage>` creates them: the REST API is named
    after the app (the Chalice object's app_name) and deployed to the stage's api_gateway_stage."""
    from chalice.cli.factory import CLIFactory

    from app import app

    config = CLIFactory(str(TEMPLATE.parent.parent)).create_config_obj(chalice_stage_name=stage)
    return (("ApiName", app.app_name), ("Stage", config.api_gateway_stage))


def test_every_api_alarm_metric_is_keyed_by_api_name_and_stage() -> None:
    for stage in STAGES:
        assert {tuple(name for name, _ in dims) for dims in api_dimensions(stage)} == {("ApiName", "Stage")}, stage


def test_each_stage_alarms_on_the_api_chalice_deploys_for_it() -> None:
    for stage in STAGES:
        assert api_dimensions(stage) == {chalice_api(stage)}, stage


def test_no_two_stages_share_api_metrics() -> None:
    for one, other in itertools.combinations(STAGES, 2):
        assert api_dimensions(one).isdisjoint(api_dimensions(other)), (one, other)
    assert {"dev", "prod"} <= set(STAGES)


def test_the_api_stage_must_be_given_per_stage() -> None:
    """No default: a stage whose params file forgot ApiStage fails to deploy rather than
    alarming on whichever API happens to use a default stage name."""
    assert "Default" not in T["Parameters"]["ApiStage"]
    for stage in STAGES:
        assert stack_parameters(stage)["ApiStage"] == CONFIG["stages"][stage]["api_gateway_stage"], stage


def _packaged_api(project: Path, stage: str) -> tuple[tuple[str, str], ...]:
    env = {k: v for k, v in os.environ.items() if k not in ("AWS_PROFILE", "AWS_ENDPOINT_URL")}
    env.update(AWS_DEFAULT_REGION="us-east-1", PYTHONDONTWRITEBYTECODE="1")
    chalice = Path(sys.executable).parent / "chalice"
    out = project.parent / f"out-{stage}"
    proc = subprocess.run([str(chalice), "package", "--stage", stage, str(out)], cwd=project, env=env,
                          capture_output=True, text=True, timeout=300, check=False)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    sam = json.loads((out / "sam.json").read_text())
    (api,) = [r["Properties"] for r in sam["Resources"].values() if r["Type"] == "AWS::Serverless::Api"]
    endpoint = sam["Outputs"]["EndpointURL"]["Value"]["Fn::Sub"]
    assert endpoint.endswith(f"/{api['StageName']}/"), endpoint
    return (("ApiName", api["DefinitionBody"]["info"]["title"]), ("Stage", api["StageName"]))


@pytest.mark.slow
def test_chalice_package_deploys_the_api_each_stage_alarms_on(tmp_path: Path) -> None:
    from tests.support.chalice_project import copy_project

    project = copy_project(tmp_path)
    for stage in STAGES:
        assert api_dimensions(stage) == {_packaged_api(project, stage)}, stage
