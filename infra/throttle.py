"""Apply a stage's API Gateway throttling after `chalice deploy`, which has no setting for it.

The rate and burst are parameters of the stage's stack (infra/stages/<stage>.params), echoed as
its outputs; the REST API id comes from what Chalice recorded in .chalice/deployed/<stage>.json.

    python infra/throttle.py --stage prod
"""

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def rest_api(root: Path, stage: str) -> tuple[str, str]:
    """(REST API id, API Gateway stage name) of a deployed Chalice stage."""
    deployed = root / ".chalice" / "deployed" / f"{stage}.json"
    if not deployed.is_file():
        raise SystemExit(f"error: {deployed} not found: run chalice deploy --stage {stage} first")
    resources = json.loads(deployed.read_text())["resources"]
    api_ids = [r["rest_api_id"] for r in resources if r.get("resource_type") == "rest_api"]
    if not api_ids:
        raise SystemExit(f"error: {deployed} records no REST API")
    config = json.loads((root / ".chalice" / "config.json").read_text())
    api_stage = config["stages"][stage].get("api_gateway_stage") or config.get("api_gateway_stage", "api")
    return api_ids[0], api_stage


def apply(session: Any, stage: str, root: Path = ROOT) -> dict[str, str]:
    (stack,) = session.client("cloudformation").describe_stacks(StackName=f"tally-{stage}")["Stacks"]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
    limits = {"rateLimit": outputs["ApiThrottleRate"], "burstLimit": outputs["ApiThrottleBurst"]}
    api_id, api_stage = rest_api(root, stage)
    session.client("apigateway").update_stage(
        restApiId=api_id,
        stageName=api_stage,
        patchOperations=[
            {"op": "replace", "path": f"/*/*/throttling/{name}", "value": str(value)} for name, value in limits.items()
        ],
    )
    return limits


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stage", required=True)
    args = parser.parse_args(argv)
    import boto3

    limits = apply(boto3.session.Session(), args.stage)
    print(f"tally-{args.stage}: API throttled to {limits['rateLimit']} requests/s, burst {limits['burstLimit']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
