"""``tally sites``: add, list, edit, delete (with their data) and rotate the keys of sites."""

import dataclasses
from typing import Any

import click

from tally_contract import sites as site_model

from ..config import Target, target
from ..errors import translated
from ..snippet import script_tag


@click.group()
def sites() -> None:
    """Manage sites: who may send events, and with which keys.

    \b
      tally sites add shop --origin https://shop.example.com
      tally sites list
      tally sites rotate-key shop
      tally sites edit shop --timezone Europe/Berlin --retention-days 90
      tally sites delete shop --yes
    """


def _check_site_id(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    if not value or len(value) > 64 or not all(c.isalnum() or c in "-_." for c in value):
        raise click.BadParameter("1-64 of letters, digits, '-', '_', '.'")
    return value


def _api_url(where: Target, api_url: str | None) -> str:
    if api_url:
        return api_url
    # API Gateway's stage is named after the Chalice stage (.chalice/config.json): /dev, /prod.
    return where.local.api_url if where.local else f"https://<api>/{where.stage}"


stage_option = click.option("--stage", default=None, help="AWS stage; default: the running local pipeline, else dev.")
api_option = click.option("--api-url", envvar="TALLY_API_URL", help="API base for the snippet (…/<stage>).")


@sites.command()
@click.argument("site_id", callback=_check_site_id)
@click.option("--origin", multiple=True, help="Allowed browser origin (repeatable): exact, https://*.x.org or *.")
@click.option("--respect-dnt", is_flag=True, help="Drop events from browsers that ask not to be tracked.")
@click.option("--ip-handling", type=click.Choice(["truncate", "drop", "keep"]), default="truncate", show_default=True)
@click.option("--retention-days", type=click.IntRange(1, 3650), default=395, show_default=True)
@click.option("--rate-limit", type=click.IntRange(0), default=0, show_default=True, help="Events/s; 0: none.")
@click.option("--domain", help="The site's domain, for Plausible's tracker and Events API (POST /api/event).")
@click.option(
    "--keep-query",
    multiple=True,
    metavar="NAME",
    help="A query parameter stored URLs keep (repeatable); default: UTM tags, ref, source, ad click ids.",
)
@click.option(
    "--visitors",
    type=click.Choice(["device", "user"]),
    default="device",
    show_default=True,
    help="Count an event with a user id by its device (privacy first) or as that user.",
)
@click.option("--max-event-age-hours", type=click.IntRange(0, 8784), default=48, show_default=True,
              help="How far back a browser may date an event (the secret key: the whole retention).")  # fmt: skip
@click.option("--timezone", default="UTC", show_default=True, help="IANA zone the dashboard and API report in.")
@stage_option
@api_option
def add(
    site_id: str,
    origin: tuple[str, ...],
    respect_dnt: bool,
    ip_handling: str,
    retention_days: int,
    rate_limit: int,
    domain: str | None,
    keep_query: tuple[str, ...],
    visitors: str,
    max_event_age_hours: int,
    timezone: str,
    stage: str | None,
    api_url: str | None,
) -> None:
    """Create a site; print its write key, its secret key (shown once) and the snippet.

    \b
      tally sites add shop --origin https://shop.example.com --origin https://*.shop.example.com
      tally sites add blog --domain blog.example.com --origin https://blog.example.com --respect-dnt
    """  # fmt: skip
    where = target(stage)
    store = where.site_admin()
    with translated("sites add"):
        if store.by_id(site_id) is not None:
            raise click.ClickException(f"site {site_id!r} exists (or is being purged); see `tally sites list`")
        try:
            site_model.check_timezone(timezone)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--timezone") from None
        created = site_model.create(
            site_id,
            origin,
            respect_dnt=respect_dnt,
            ip_handling=ip_handling,
            retention_days=retention_days,
            rate_limit=rate_limit,
            domain=domain,
            visitors=visitors,
            **({"query_params": tuple(name.lower() for name in keep_query)} if keep_query else {}),
            max_event_age_hours=max_event_age_hours,
            timezone=timezone,
        )
        if created.site.domain and store.by_domain(created.site.domain) is not None:
            raise click.ClickException(f"another site has the domain {created.site.domain!r}")
        store.create(created.site)
    _print_keys(created.site, created.secret_key, _api_url(where, api_url))


@sites.command("list")
@stage_option
def list_sites(stage: str | None) -> None:
    """List every site with its write key and origins.

    \b
      tally sites list --stage prod
    """
    where = target(stage)
    with translated("sites list"):
        rows = _every_site(where)
    if not rows:
        click.echo(f"no sites in {where.where()}; add one with `tally sites add <site>`")
        return
    width = max(len(site.site_id) for site in rows)
    click.echo(f"{'site':<{width}}  {'write key':<27}  origins")
    for site in sorted(rows, key=lambda s: s.site_id):
        click.echo(f"{site.site_id:<{width}}  {site.write_key:<27}  {', '.join(site.origins) or '-'}")


@sites.command("rotate-key")
@click.argument("site_id", callback=_check_site_id)
@click.option("--secret", is_flag=True, help="Rotate the secret server key too.")
@stage_option
@api_option
def rotate_key(site_id: str, secret: bool, stage: str | None, api_url: str | None) -> None:
    """Give a site a new write key (the old one stops working within a minute); print the snippet.

    \b
      tally sites rotate-key shop --secret
    """
    where = target(stage)
    store = where.sites()
    with translated("sites rotate-key"):
        site = _live_site(store, site_id, where)
        fresh = site_model.create(site_id)
        rotated = dataclasses.replace(
            site, write_key=fresh.site.write_key, secret_hash=fresh.site.secret_hash if secret else site.secret_hash
        )
        store.put(rotated)
    _print_keys(rotated, fresh.secret_key if secret else None, _api_url(where, api_url))


@sites.command()
@click.argument("site_id", callback=_check_site_id)
@click.option("--timezone", help="IANA time zone of the site's days, weeks and months (Europe/Berlin).")
@click.option("--retention-days", type=int, help="Days raw events are kept (1-3650).")
@click.option("--ip-handling", type=click.Choice(["truncate", "drop", "keep"]))
@click.option("--respect-dnt/--ignore-dnt", default=None, help="Drop events of browsers that ask not to be tracked.")
@click.option("--rate-limit", type=int, help="Events/s per ingest instance; 0: none.")
@click.option("--max-event-age-hours", type=int, help="How far back a browser may date an event.")
@click.option("--origin", "origins", multiple=True, help="Allowed browser origins (repeatable; replaces the list).")
@click.option("--goal", "goals", multiple=True, help="Goals, event:<name> or page:<path> (repeatable; replaces).")
@click.option("--prop", "props", multiple=True, help="Property keys counted (repeatable; replaces the list).")
@click.option("--clear", multiple=True, type=click.Choice(["origins", "goals", "props"]), help="Empty a list.")
@stage_option
def edit(site_id: str, clear: tuple[str, ...], stage: str | None, **given: object) -> None:
    """Change a site's settings; only those given change. Live within the settings caches
    (5 minutes in the processors, a minute at the ingest).

    \b
      tally sites edit shop --timezone Europe/Berlin --ip-handling drop
      tally sites edit shop --goal event:signup --goal page:/pricing --prop plan
      tally sites edit shop --clear goals
    """
    from dashboard.site_settings import SettingError, edited, shown

    changes = {k: list(v) if isinstance(v, tuple) else v for k, v in given.items() if v not in (None, ())}
    changes.update({name: [] for name in clear})
    if not changes:
        raise click.UsageError("nothing to change: give at least one setting")
    where = target(stage)
    store = where.site_admin()
    with translated("sites edit"):
        site = _live_site(store, site_id, where)
        try:
            changed = edited(site, changes)
        except SettingError as exc:
            raise click.BadParameter(exc.message, param_hint=f"--{exc.field.replace('_', '-')}") from None
        store.update(changed)
    _audit(where, "site.edit", f"{site_id}: {', '.join(sorted(changes))}")
    for name, value in shown(changed).items():
        click.echo(f"{name:<20} {', '.join(value) if isinstance(value, list) else value}")


@sites.command()
@click.argument("site_id", callback=_check_site_id)
@click.option("--yes", is_flag=True, help="Confirm: the site's events and aggregates are deleted for good.")
@stage_option
def delete(site_id: str, yes: bool, stage: str | None) -> None:
    """Delete a site and, in the background, all of its data (raw events, aggregates).

    Its keys stop working at once (the ingest's cache: a minute); queued events of it are dropped
    by the processors; the purge (every minute) deletes what is stored (docs/dashboard.md, "Sites").

    \b
      tally sites delete shop --yes
    """
    if not yes:
        raise click.UsageError(f"deleting {site_id!r} deletes all of its data: add --yes to confirm")
    import time

    from dashboard.accounts import Accounts
    from dashboard.purge import GRACE

    where = target(stage)
    with translated("sites delete"):
        _live_site(where.site_admin(), site_id, where)
        where.site_admin().delete(site_id, time.time())
        Accounts(where.auth_store()).forget_site(site_id)
    _audit(where, "site.delete", site_id)
    click.echo(f"deleted {site_id}; its data is purged within {GRACE / 60:.0f} minutes (`tally sites purge`)")


@sites.command()
@stage_option
def purge(stage: str | None) -> None:
    """Run the purge of deleted sites' data now (what the schedule does every minute)."""
    from dashboard import purge as purging

    from .rollup import export_of

    where = target(stage)
    with translated("sites purge"):
        report = purging.run(where.site_admin(), where.store(), export_of(where, None))
    click.echo(f"{report.pending} deletion(s) pending; {report.removed} item(s) removed; "
               f"purged: {', '.join(report.purged) or 'none yet'}")  # fmt: skip


def _audit(where: Target, action: str, detail: str) -> None:
    import getpass
    import time

    from dashboard.accounts import Accounts

    with translated("audit log"):
        Accounts(where.auth_store()).record(f"cli:{getpass.getuser()}", action, detail, time.time())


def _every_site(where: Target) -> list[site_model.Site]:
    if where.store_url:
        from tally_contract.sites_sqlite import SQLiteSites

        return SQLiteSites(where.store_url.removeprefix("sqlite://")).all_sites()
    from tally_contract import aws
    from tally_contract.sites_dynamodb import from_item

    pages = aws.client("dynamodb").get_paginator("scan").paginate(TableName=where.sites_table)
    found = [from_item(item) for page in pages for item in page.get("Items", [])]
    return [site for site in found if site.deleted_at is None]  # not the deleted sites' tombstones


def _print_keys(site: site_model.Site, secret_key: str | None, api_url: str) -> None:
    click.echo(f"site       {site.site_id}")
    click.echo(f"write key  {site.write_key}")
    if secret_key:
        click.echo(f"secret key {secret_key}  (shown once: store it now; servers send it as Authorization: Bearer)")
    click.echo("snippet    " + script_tag(api_url, site.write_key))


def _live_site(store: Any, site_id: str, where: Target) -> site_model.Site:
    """The site, or a one-line error when there is none (or it is deleted, awaiting its purge)."""
    site = store.by_id(site_id)
    if site is None or site.deleted_at is not None:
        raise click.ClickException(f"no site {site_id!r} in {where.where()}")
    return site  # type: ignore[no-any-return]
