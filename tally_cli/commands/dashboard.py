"""``tally dashboard password``: the admin password of a deployed stage's dashboard."""

from typing import Any

import click

from ..config import DASHBOARD_CONFIG, stage_environment
from ..errors import translated

WHAT = "dashboard password"
DENIED = ("AccessDenied", "AccessDeniedException")
DEPLOYED_HINT = "set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY for the stage's account"


@click.group()
def dashboard() -> None:
    """The dashboard's admin credentials on a deployed stage.

    \b
      tally dashboard password --stage dev
      tally dashboard password --stage prod --rotate
    """


@dashboard.command()
@click.option("--stage", required=True, help="Stage in dashboard_app/.chalice/config.json (dev, prod, ...).")
@click.option("--rotate", is_flag=True, help="Replace an existing password (ends every session and token).")
@click.option("--endpoint-url", envvar="TALLY_AWS_ENDPOINT_URL", help="SSM endpoint (moto, local)")
@click.option("--region", envvar="AWS_REGION", help="AWS region")
def password(stage: str, rotate: bool, endpoint_url: str | None, region: str | None) -> None:
    """Make the stage's admin password and print it once; only its scrypt hash is stored.

    The record goes to the SSM SecureString the stage's dashboard reads (TALLY_ADMIN_PARAMETER
    in dashboard_app/.chalice/config.json). An existing password is kept unless --rotate is given.

    \b
      tally dashboard password --stage dev
      tally dashboard password --stage dev --rotate
    """
    name = stage_environment(stage, DASHBOARD_CONFIG).get("TALLY_ADMIN_PARAMETER")
    if not name:
        raise click.ClickException(f"stage {stage!r} sets no TALLY_ADMIN_PARAMETER in {DASHBOARD_CONFIG}")
    with translated(WHAT, no_credentials=DEPLOYED_HINT):
        secret = _provision(_ssm(endpoint_url, region), stage, name, rotate)
    click.echo(f"dashboard admin password for stage {stage} (shown once; only its hash is kept in {name}):")
    click.echo(secret)
    if rotate:
        from dashboard.runtime import RECORD_TTL

        click.echo(
            f"the old password, sessions and tokens stop working within {RECORD_TTL / 60:.0f} minutes "
            "(the signing key was replaced too; each dashboard instance caches the record that long)"
        )


def _provision(ssm: Any, stage: str, name: str, rotate: bool) -> str:
    from botocore.exceptions import ClientError

    from dashboard.auth import provision_admin

    try:
        return provision_admin(ssm, name, overwrite=rotate)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code")
        if code == "ParameterAlreadyExists":
            raise click.ClickException(
                f"{WHAT}: stage {stage!r} has one ({name}); add --rotate to replace it"
            ) from None
        if code in DENIED or exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 403:
            raise click.ClickException(
                f"{WHAT}: access denied: this AWS identity may not ssm:PutParameter {name} ({code})"
            ) from None
        raise


def _ssm(endpoint_url: str | None, region: str | None) -> Any:
    import botocore.config
    import botocore.session

    config = botocore.config.Config(connect_timeout=5, read_timeout=10, retries={"mode": "standard", "max_attempts": 3})
    return botocore.session.get_session().create_client(
        "ssm", endpoint_url=endpoint_url or None, region_name=region or None, config=config
    )
