"""Settings shared by the commands: the config file, local mode's state file, and which AWS
endpoint and tables a command talks to."""

import json
import os
import tomllib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import click

DEFAULT_CONFIG = "~/.config/tally/config.toml"
STATE_FILE = "local.json"


def load(path: str | None) -> dict[str, Any]:
    """The config file as click's default_map: one table per command, nested for groups."""
    explicit = path is not None
    target = Path(path or DEFAULT_CONFIG).expanduser()
    if not target.exists():
        if explicit:
            raise click.BadParameter(f"config file {target} does not exist", param_hint="--config")
        return {}
    try:
        data = tomllib.loads(target.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise click.ClickException(f"cannot read config file {target}: {exc}") from None
    return data


def state_dir() -> Path:
    return Path(os.environ.get("TALLY_STATE_DIR", ".tally"))


@dataclass(frozen=True)
class LocalState:
    """What ``tally up`` tells the other commands while it runs (``.tally/local.json``)."""

    pid: int
    api_url: str
    stage: str
    queue_url: str  # sqlite://<path> (the default), redis://..., or sqs://<url> (--aws-emulator)
    store_url: str  # sqlite://<path>; empty with --aws-emulator (the emulator's DynamoDB tables)
    site_id: str
    write_key: str
    secret_key: str
    admin_password: str = ""
    endpoint_url: str = ""  # the AWS emulator's (--aws-emulator), else none
    region: str = "us-east-1"
    dlq_url: str = ""
    export_dir: str = ""  # where the rollup writes the hourly export files (docs/export.md)

    @property
    def backend(self) -> str:
        return self.queue_url.partition("://")[0].replace("rediss", "redis")

    def write(self) -> Path:
        directory = state_dir()
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / STATE_FILE
        # The local site's secret key and the dashboard password are in here: this user only.
        write_private(path, json.dumps(asdict(self), indent=2))
        return path

    @staticmethod
    def remove() -> None:
        (state_dir() / STATE_FILE).unlink(missing_ok=True)


def write_private(path: Path, text: str) -> None:
    """Write a file only this user may read, whole: a crash leaves the old one or the new one."""
    partial = path.with_name(path.name + ".partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(partial, path)


def read_state() -> LocalState | None:
    """The running local pipeline's state, or None when there is none (or it is stale)."""
    path = state_dir() / STATE_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        state = LocalState(**data)
    except (OSError, ValueError, TypeError):
        return None
    return state if _alive(state.pid) else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


if TYPE_CHECKING:
    from dashboard.sessions import AuthStore
    from tally_contract.sites import ListedSites, SiteAdmin
    from tally_store.base import Store


@dataclass(frozen=True)
class Target:
    """Where a command reads and writes: the local pipeline, or AWS for a stage."""

    stage: str
    sites_table: str
    events_table: str
    aggregates_table: str
    queue: str  # queue name or URL
    dlq: str
    local: LocalState | None = None
    store_url: str = ""  # sqlite://<path> in local mode: store, sites and the admin record there

    def store(self) -> "Store":
        if self.store_url:
            import tally_store

            return tally_store.from_url(self.store_url)
        from tally_store.dynamodb import DynamoDBStore

        return DynamoDBStore(self.events_table, self.aggregates_table)

    def sites(self) -> "ListedSites":
        from tally_contract.sites import open_sites

        return open_sites(self.store_url, self.sites_table)

    def site_admin(self) -> "SiteAdmin":
        """The sites, to create, edit and delete (every adapter but memory's is one)."""
        from typing import cast

        return cast("SiteAdmin", self.sites())

    def auth_store(self) -> "AuthStore":
        """Users, API tokens and the audit log: the stage's auth table, or local mode's file."""
        if self.store_url:
            from dashboard.sessions_sqlite import SQLiteAuthStore

            return SQLiteAuthStore(self.store_url.removeprefix("sqlite://"))
        from dashboard.sessions_dynamodb import DynamoAuthStore

        return DynamoAuthStore(os.environ.get("TALLY_AUTH_TABLE") or f"tally-{self.stage}-auth")

    def where(self) -> str:
        """The sites' home, for messages."""
        return self.store_url.removeprefix("sqlite://") if self.store_url else self.sites_table


def target(stage: str | None = None) -> Target:
    """Local mode when ``tally up`` runs (and no stage was asked for); AWS otherwise.

    Local mode with the AWS emulator points botocore at it with throwaway credentials, so a
    command can never reach a real account by accident while local mode is the target.
    """
    state = read_state() if stage is None else None
    if state is not None:
        if state.endpoint_url:
            use_local_endpoint(state.endpoint_url, state.region)
        prefix = f"tally-{state.stage}"
        return Target(state.stage, f"{prefix}-sites", f"{prefix}-events", f"{prefix}-aggregates",
                      state.queue_url.removeprefix("sqs://"), state.dlq_url, state, state.store_url)  # fmt: skip
    stage = stage or "dev"
    return Target(
        stage,
        os.environ.get("TALLY_SITES_TABLE") or f"tally-{stage}-sites",
        os.environ.get("TALLY_EVENTS_TABLE") or f"tally-{stage}-events",
        os.environ.get("TALLY_AGGREGATES_TABLE") or f"tally-{stage}-aggregates",
        f"tally-{stage}-events",
        f"tally-{stage}-events-dlq",
    )


LOCAL_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "tally-local", "AWS_SECRET_ACCESS_KEY": "tally-local"}


def use_local_endpoint(endpoint_url: str, region: str) -> None:
    from tally_contract import aws

    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        os.environ.pop(name, None)
    os.environ.update(LOCAL_CREDENTIALS, AWS_ENDPOINT_URL=endpoint_url, AWS_DEFAULT_REGION=region, AWS_REGION=region)
    aws.reset()


CHALICE_CONFIG = Path(".chalice") / "config.json"
# The dashboard's own Chalice project (its function, role and REST API; docs/architecture.md).
DASHBOARD_CONFIG = Path("dashboard_app") / ".chalice" / "config.json"


def stage_environment(stage: str, config: Path = CHALICE_CONFIG) -> dict[str, str]:
    """The environment ``chalice deploy --stage`` gives a stage's functions, from the project's
    ``.chalice/config.json`` under the current directory (the checkout ``make deploy`` runs in).

    A command that must name exactly what a deployed function reads (not the ``tally-<stage>-``
    convention ``target`` assumes) reads it here, so an unknown stage is an error, not a typo
    that quietly writes somewhere no function looks.
    """
    try:
        stages = json.loads(config.read_text(encoding="utf-8"))["stages"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise click.ClickException(f"cannot read {config} (run from the Tally checkout): {exc}") from None
    if stage not in stages:
        raise click.ClickException(f"no stage {stage!r} in {config} (stages: {', '.join(sorted(stages))})")
    return dict(stages[stage].get("environment_variables") or {})


def redacted(url: str) -> str:
    """A URL fit for a message: without its password."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username or ''}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return parts._replace(netloc=netloc).geturl()
