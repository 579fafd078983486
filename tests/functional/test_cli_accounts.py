"""`tally sites edit/delete/purge`, `tally users` and `tally tokens` against moto's tables from
infra/template.yaml: settings checked with the field at fault, a deleted site's key and data
gone, an invitation that is the only way to a password, tokens listed and revoked one by one."""

import re
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli_harness import assert_one_line_error, isolated, run
from tests.support.infra import create_table

__all__ = ["isolated"]

STAGE = "t"


@pytest.fixture
def tables(aws: None, boto: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    client = boto.client("dynamodb")
    for logical_id in ("SitesTable", "EventsTable", "AggregatesTable", "AuthTable"):
        create_table(client, STAGE, logical_id)
    assert run("sites", "add", "shop", "--stage", STAGE).exit_code == 0
    assert run("sites", "add", "blog", "--stage", STAGE).exit_code == 0
    return client


def accounts() -> Any:
    from dashboard.accounts import Accounts
    from dashboard.sessions_dynamodb import DynamoAuthStore

    return Accounts(DynamoAuthStore(f"tally-{STAGE}-auth"))


def test_sites_edit_changes_only_what_is_given(tables: Any) -> None:
    from tally_contract.sites_dynamodb import DynamoSites

    edited = run("sites", "edit", "shop", "--timezone", "Europe/Berlin", "--retention-days", "30",
                 "--ip-handling", "drop", "--goal", "event:signup", "--prop", "plan", "--stage", STAGE)  # fmt: skip
    assert edited.exit_code == 0, edited.output
    site = DynamoSites(f"tally-{STAGE}-sites").by_id("shop")
    assert site is not None and site.timezone == "Europe/Berlin" and site.retention_days == 30
    assert site.ip_handling == "drop" and site.goals == ("event:signup",) and site.props == ("plan",)
    assert site.respect_dnt is False  # not given: kept
    assert run("sites", "edit", "shop", "--clear", "goals", "--stage", STAGE).exit_code == 0
    assert DynamoSites(f"tally-{STAGE}-sites").by_id("shop").goals == ()  # type: ignore[union-attr]
    assert_one_line_error(run("sites", "edit", "shop", "--timezone", "Mars/Olympus", "--stage", STAGE), "--timezone")
    assert_one_line_error(run("sites", "edit", "shop", "--retention-days", "0", "--stage", STAGE), "--retention-days")
    assert_one_line_error(run("sites", "edit", "shop", "--goal", "nope", "--stage", STAGE), "--goals")
    assert_one_line_error(run("sites", "edit", "shop", "--stage", STAGE), "nothing to change")
    assert_one_line_error(run("sites", "edit", "gone", "--retention-days", "5", "--stage", STAGE), "no site 'gone'")


def test_sites_delete_stops_the_key_and_the_purge_removes_the_data(tables: Any) -> None:
    from tally_contract.sites_dynamodb import DynamoSites
    from tally_store.dynamodb import DynamoDBStore

    store = DynamoDBStore(f"tally-{STAGE}-events", f"tally-{STAGE}-aggregates")
    event = {"site": "shop", "event_id": "e1", "event_time": "2026-11-23T13:05:00.000Z", "name": "pageview",
             "url": "https://shop.example.com/"}  # fmt: skip
    other = {**event, "site": "blog", "event_id": "e2"}
    store.write_events([(event, 0), (other, 0)], time.time()).wait()
    sites = DynamoSites(f"tally-{STAGE}-sites")
    key = sites.by_id("shop").write_key  # type: ignore[union-attr]
    viewer = accounts().mint("both", "read", ["shop", "blog"], "test", time.time())[0]
    assert_one_line_error(run("sites", "delete", "shop", "--stage", STAGE), "--yes")
    assert run("sites", "delete", "shop", "--yes", "--stage", STAGE).exit_code == 0
    assert sites.by_write_key(key) is None and sites.by_id("shop").deleted_at is not None  # type: ignore[union-attr]
    assert accounts().token(viewer.id).sites == ("blog",)  # a site made again later is not theirs
    listed = run("sites", "list", "--stage", STAGE)
    assert "shop" not in listed.output and "blog" in listed.output
    purged = run("sites", "purge", "--stage", STAGE)
    assert purged.exit_code == 0 and "1 deletion(s) pending; 1 item(s) removed" in purged.output, purged.output
    assert [e["event_id"] for e in store.read_events("blog", "2026-11-23T13", "2026-11-23T14").events] == ["e2"]
    assert store.read_events("shop", "2026-11-23T13", "2026-11-23T14").events == []
    assert_one_line_error(run("sites", "add", "shop", "--stage", STAGE), "being purged")
    assert_one_line_error(run("sites", "delete", "shop", "--yes", "--stage", STAGE), "no site 'shop'")
    log = [entry["action"] for entry in accounts().log(10)]
    assert "site.delete" in log


def test_users_are_invited_with_a_one_time_link_and_no_password(tables: Any) -> None:
    invited = run("users", "invite", "Vic", "--site", "shop", "--stage", STAGE, "--dashboard-url", "https://d.example")
    assert invited.exit_code == 0, invited.output
    code = re.search(r"https://d\.example/dashboard/invite\?code=(\S+)", invited.output)
    assert code, invited.output
    user = accounts().user("vic")
    assert user.role == "viewer" and user.sites == ("shop",) and user.hash == "" and user.salt == ""
    assert accounts().sign_in("vic", "") is None  # no password at all before the invitation is accepted
    listed = run("users", "list", "--stage", STAGE)
    assert re.search(r"vic\s+viewer\s+invited\s+shop", listed.output), listed.output
    accepted = accounts().accept(code[1], "a long enough secret", time.time())
    assert accepted.hash and accounts().sign_in("vic", "a long enough secret") == accepted
    with pytest.raises(Exception, match="unknown, used or expired"):
        accounts().accept(code[1], "another long secret", time.time())  # one time only
    assert_one_line_error(run("users", "invite", "eve", "--stage", STAGE), "a viewer reads at least one site")
    assert_one_line_error(run("users", "invite", "eve", "--site", "nope", "--stage", STAGE), "no site nope")
    assert_one_line_error(run("users", "invite", "vic", "--site", "shop", "--stage", STAGE), "exists")
    assert run("users", "remove", "vic", "--stage", STAGE).exit_code == 0
    assert accounts().user("vic") is None
    assert_one_line_error(run("users", "remove", "vic", "--stage", STAGE), "no user 'vic'")


def test_tokens_are_listed_and_revoked_one_by_one(tables: Any) -> None:
    made = [run("tokens", "create", name, "--site", "shop", "--stage", STAGE) for name in ("ci", "grafana")]
    assert all(result.exit_code == 0 for result in made), [r.output for r in made]
    secrets = [re.search(r"^(tly\.\S+)", result.output, re.M)[1] for result in made]  # type: ignore[index]
    admin = run("tokens", "create", "ops", "--scope", "admin", "--expires-days", "30", "--stage", STAGE)
    assert admin.exit_code == 0, admin.output
    listed = run("tokens", "list", "--stage", STAGE).output
    assert "ci" in listed and "grafana" in listed and re.search(r"admin\s+\d{4}-\d\d-\d\d\s+ops", listed)
    assert all(secret not in listed for secret in secrets)  # never shown again
    first_id = secrets[0].split(".")[1]
    assert run("tokens", "revoke", first_id, "--stage", STAGE).exit_code == 0
    assert accounts().bearer(secrets[0], time.time()) is None
    assert accounts().bearer(secrets[1], time.time()) is not None  # the others still work
    assert_one_line_error(run("tokens", "revoke", first_id, "--stage", STAGE), "no token")
    assert_one_line_error(run("tokens", "create", "x", "--stage", STAGE), "sites")
    assert_one_line_error(run("tokens", "create", "x", "--site", "shop", "--expires-days", "0", "--stage", STAGE),
                          "expires_days")  # fmt: skip


def test_no_default_password_anywhere(tmp_path: Path) -> None:
    """The shipped code and config hold no password a stage would accept: users have none until
    invited, the admin's is random per stage (tally dashboard password)."""
    root = Path(__file__).resolve().parents[2]
    for path in [
        *root.glob("dashboard/**/*.py"),
        *root.glob("dashboard_app/.chalice/*.json"),
        root / "infra/template.yaml",
    ]:
        text = path.read_text()
        assert not re.search(r"""(password|passwd)\s*[=:]\s*["'][^"'{]{3,}["']""", text, re.I), path
