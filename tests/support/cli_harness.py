"""Running `tally` in the test process through click's runner, isolated from this machine's
local-mode state, config file and from what commands set in the process environment."""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from tally_cli.main import cli

# What commands set in their own process (the pipeline's settings, local mode's endpoint):
# restored after each test so nothing leaks into the next.
PROCESS_ENV = ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
               "AWS_DEFAULT_REGION", "AWS_REGION", "TALLY_STAGE", "TALLY_QUEUE_URL", "TALLY_SITES_TABLE",
               "TALLY_EVENTS_TABLE", "TALLY_AGGREGATES_TABLE", "TALLY_DLQ", "TALLY_SITE_CACHE_SECONDS",
               "TALLY_STORE_URL", "TALLY_DEFAULT_SITE", "TALLY_ADMIN_PARAMETER", "TALLY_EXPORT_DIR",
               "POWERTOOLS_METRICS_DISABLED", "POWERTOOLS_LOG_LEVEL")  # fmt: skip


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """No local-mode state and an empty config file, whatever this machine has."""
    from tally_contract import aws

    config = tmp_path / "config.toml"
    config.write_text("")
    for name in PROCESS_ENV:
        if name in os.environ:
            monkeypatch.setenv(name, os.environ[name])
        else:
            monkeypatch.setenv(name, "")
            monkeypatch.delenv(name)
    monkeypatch.setenv("TALLY_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("TALLY_CONFIG", str(config))
    yield config
    aws.reset()  # clients built for another endpoint


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def assert_one_line_error(result: Result, text: str) -> None:
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and text in errors[0], result.output
