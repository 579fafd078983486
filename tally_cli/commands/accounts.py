"""``tally users`` and ``tally tokens``: the dashboard's named users (invited, each with their
own password) and its API tokens, in the stage's auth table or local mode's file
(dashboard/accounts.py holds the rules; this module only speaks to the terminal)."""

import getpass
import time
from typing import TYPE_CHECKING

import click

from ..config import Target, target
from ..errors import translated

if TYPE_CHECKING:
    from dashboard.accounts import Accounts

stage_option = click.option("--stage", default=None, help="AWS stage; default: the running local pipeline, else dev.")


def _accounts(where: Target) -> "Accounts":
    from dashboard.accounts import Accounts

    return Accounts(where.auth_store())


def _by() -> str:
    return f"cli:{getpass.getuser()}"


class _Refused:
    """AccountError as a one-line usage error naming the field at fault."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: object, exc: BaseException | None, tb: object) -> None:
        from dashboard.accounts import AccountError

        if isinstance(exc, AccountError):
            raise click.BadParameter(exc.message, param_hint=exc.field) from None


@click.group()
def users() -> None:
    """The dashboard's named users: admins, or viewers of chosen sites. No one has a password
    until they accept their invitation and choose it.

    \b
      tally users invite ann --role admin
      tally users invite vic --site shop --site blog
      tally users list
      tally users remove vic
    """


@users.command()
@click.argument("name")
@click.option("--role", type=click.Choice(["viewer", "admin"]), default="viewer", show_default=True)
@click.option("--site", "sites", multiple=True, help="A site the viewer reads (repeatable; required for viewers).")
@click.option("--dashboard-url", envvar="TALLY_DASHBOARD_URL", help="The dashboard's base URL, for the link.")
@stage_option
def invite(name: str, role: str, sites: tuple[str, ...], dashboard_url: str | None, stage: str | None) -> None:
    """Invite a user: print a one-time link (7 days) where they choose their password.

    \b
      tally users invite vic --site shop
    """
    where = target(stage)
    accounts = _accounts(where)
    with translated("users invite"), _Refused():
        known = set(where.sites().site_ids())
        unknown = sorted(set(sites) - known)
        if unknown:
            raise click.BadParameter(f"no site {', '.join(unknown)}", param_hint="--site")
        code = accounts.invite(name, role, sites, _by(), time.time())
        accounts.record(_by(), "user.invite", name.lower(), time.time())
    base = dashboard_url or (where.local.api_url if where.local else "<dashboard>")
    click.echo(f"invited {name.lower()} ({role}{': ' + ', '.join(sorted(set(sites))) if sites else ''})")
    click.echo(f"one-time link (7 days; shown once): {base.rstrip('/')}/dashboard/invite?code={code}")


@users.command("list")
@stage_option
def list_users(stage: str | None) -> None:
    """Every user, their role, sites and whether they chose a password yet."""
    with translated("users list"):
        found = _accounts(target(stage)).users()
    if not found:
        click.echo("no users; invite one with `tally users invite <name>`")
    for user in found:
        state = "active" if user.hash else "invited"
        click.echo(f"{user.name:<24} {user.role:<7} {state:<8} {', '.join(user.sites) or '-'}")


@users.command()
@click.argument("name")
@stage_option
def remove(name: str, stage: str | None) -> None:
    """Remove a user: their sessions end on their next request."""
    accounts = _accounts(target(stage))
    with translated("users remove"), _Refused():
        if not accounts.remove(name):
            raise click.ClickException(f"no user {name!r}")
        accounts.record(_by(), "user.remove", name.lower(), time.time())
    click.echo(f"removed {name.lower()}")


@click.group()
def tokens() -> None:
    """API tokens for the read and admin APIs (Authorization: Bearer), named, scoped and
    revocable one by one.

    \b
      tally tokens create ci --site shop
      tally tokens create ops --scope admin --expires-days 30
      tally tokens list
      tally tokens revoke 0123456789abcdef
    """


@tokens.command()
@click.argument("name")
@click.option("--scope", type=click.Choice(["read", "admin"]), default="read", show_default=True)
@click.option("--site", "sites", multiple=True, help="A site a read token reads (repeatable; required for read).")
@click.option("--expires-days", type=int, default=None, help="Days until it expires (default: never).")
@stage_option
def create(name: str, scope: str, sites: tuple[str, ...], expires_days: int | None, stage: str | None) -> None:
    """Make a token and print it once (only its SHA-256 is stored)."""
    where = target(stage)
    accounts = _accounts(where)
    with translated("tokens create"), _Refused():
        unknown = sorted(set(sites) - set(where.sites().site_ids()))
        if unknown:
            raise click.BadParameter(f"no site {', '.join(unknown)}", param_hint="--site")
        token, secret = accounts.mint(name, scope, sites, _by(), time.time(), expires_days)
        accounts.record(_by(), "token.mint", f"{token.id} ({token.name})", time.time())
    click.echo(f"token {token.id} ({token.name}, {scope}{': ' + ', '.join(token.sites) if token.sites else ''})")
    click.echo(f"{secret}  (shown once: store it now)")


@tokens.command("list")
@stage_option
def list_tokens(stage: str | None) -> None:
    """Every token: id, name, scope, sites and expiry (never the secret)."""
    with translated("tokens list"):
        found = _accounts(target(stage)).tokens()
    if not found:
        click.echo("no API tokens; make one with `tally tokens create <name> --site <site>`")
    for token in found:
        expires = time.strftime("%Y-%m-%d", time.gmtime(token.expires_at)) if token.expires_at else "never"
        click.echo(f"{token.id}  {token.scope:<5}  {expires:<10}  {token.name}  [{', '.join(token.sites) or 'all'}]")


@tokens.command()
@click.argument("token_id")
@stage_option
def revoke(token_id: str, stage: str | None) -> None:
    """Revoke one token: it fails on its next request (every request reads its record)."""
    accounts = _accounts(target(stage))
    with translated("tokens revoke"):
        if not accounts.revoke(token_id):
            raise click.ClickException(f"no token {token_id!r}")
        accounts.record(_by(), "token.revoke", token_id, time.time())
    click.echo(f"revoked {token_id}")
