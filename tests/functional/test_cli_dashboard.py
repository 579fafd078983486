"""`tally dashboard password` against moto's SSM (in process, and a moto server through
--endpoint-url): stored as a scrypt record only, printed once, kept unless --rotate, errors."""

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from dashboard.auth import AdminRecord, Authenticator, AuthError
from tests.support.cli_harness import assert_one_line_error, isolated, run
from tests.support.servers import free_port

__all__ = ["isolated"]  # autouse: no local state, an empty config file, the environment restored

ROOT = Path(__file__).resolve().parents[2]
PARAMETER = "/tally/dev/admin"  # what dashboard_app/.chalice/config.json gives the dev stage's dashboard


@pytest.fixture(autouse=True)
def in_checkout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # the command reads .chalice/config.json where it runs


def printed_password(result: Result) -> str:
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert PARAMETER in lines[0] and "shown once" in lines[0]
    return lines[1]


def stored(ssm: Any) -> tuple[str, AdminRecord]:
    parameter = ssm.get_parameter(Name=PARAMETER, WithDecryption=True)["Parameter"]
    assert parameter["Type"] == "SecureString"
    return parameter["Value"], AdminRecord.from_json(parameter["Value"])


def test_makes_a_password_stores_only_its_hash_and_prints_it_once(
    aws: None, boto: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # botocore logs request bodies at DEBUG
    result = run("dashboard", "password", "--stage", "dev")
    password = printed_password(result)
    assert len(password) >= 24 and result.output.count(password) == 1
    value, record = stored(boto.client("ssm"))
    assert password not in value and set(json.loads(value)) == {"v", "salt", "hash", "key"}
    assert Authenticator(record).check_password(password)
    assert not Authenticator(record).check_password(password + "x")
    assert password not in caplog.text


def test_an_existing_password_is_kept_without_rotate(aws: None, boto: Any) -> None:
    first = printed_password(run("dashboard", "password", "--stage", "dev"))
    before, _ = stored(boto.client("ssm"))
    assert_one_line_error(run("dashboard", "password", "--stage", "dev"), "has one (/tally/dev/admin); add --rotate")
    after, record = stored(boto.client("ssm"))
    assert after == before and Authenticator(record).check_password(first)


def test_rotate_replaces_the_password_and_ends_old_sessions(aws: None, boto: Any) -> None:
    old_password = printed_password(run("dashboard", "password", "--stage", "dev"))
    _, old_record = stored(boto.client("ssm"))
    session = Authenticator(old_record).issue("session", "admin", 3600)

    result = run("dashboard", "password", "--stage", "dev", "--rotate")
    new_password = printed_password(result)
    assert "stop working within 5 minutes" in result.output
    _, record = stored(boto.client("ssm"))
    fresh = Authenticator(record)
    assert new_password != old_password and fresh.check_password(new_password)
    assert not fresh.check_password(old_password)
    with pytest.raises(AuthError):  # sessions are signed with the record's key, replaced too
        fresh.verify(session, "session")


def test_endpoint_url_reaches_that_endpoint() -> None:
    import boto3
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        args = ("dashboard", "password", "--stage", "dev", "--endpoint-url", endpoint, "--region", "eu-west-1")
        password = printed_password(run(*args))
        _, record = stored(boto3.client("ssm", endpoint_url=endpoint, region_name="eu-west-1"))
        assert Authenticator(record).check_password(password)
    finally:
        server.stop()


def test_unknown_stage_and_no_checkout_are_one_line_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert_one_line_error(run("dashboard", "password", "--stage", "staging"), "no stage 'staging'")
    assert_one_line_error(run("dashboard", "password"), "--stage")
    monkeypatch.chdir(tmp_path)
    no_checkout = run("dashboard", "password", "--stage", "dev")
    assert_one_line_error(no_checkout, "cannot read dashboard_app/.chalice/config.json")


def test_an_unreachable_endpoint_is_a_one_line_error() -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    result = run("dashboard", "password", "--stage", "dev", "--endpoint-url", closed)
    assert_one_line_error(result, f'Could not connect to the endpoint URL: "{closed}/"')


@pytest.fixture
def no_credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # no instance metadata lookup either
    yield


def test_no_credentials_is_a_one_line_error(no_credentials: None) -> None:
    closed = f"http://127.0.0.1:{free_port()}"  # were credentials found, nothing would answer
    result = run("dashboard", "password", "--stage", "dev", "--endpoint-url", closed)
    assert_one_line_error(result, "no AWS credentials (set AWS_PROFILE")


def test_access_denied_is_a_one_line_error(aws: None, boto: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.core import set_initial_no_auth_action_count

    iam = boto.client("iam")
    iam.create_user(UserName="reader")
    policy = {"Effect": "Allow", "Action": "ssm:GetParameter", "Resource": "*"}
    iam.put_user_policy(
        UserName="reader",
        PolicyName="read-only",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [policy]}),
    )
    key = iam.create_access_key(UserName="reader")["AccessKey"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
    monkeypatch.delenv("AWS_SESSION_TOKEN")

    # moto checks IAM from the first request on, inside this call only.
    result = set_initial_no_auth_action_count(0)(lambda: run("dashboard", "password", "--stage", "dev"))()
    assert_one_line_error(result, "access denied: this AWS identity may not ssm:PutParameter /tally/dev/admin")
    assert boto.client("ssm").describe_parameters()["Parameters"] == []


def test_help_has_an_example() -> None:
    result = run("dashboard", "password", "--help")
    assert result.exit_code == 0 and "tally dashboard password --stage dev --rotate" in result.output
