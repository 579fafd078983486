"""Local mode's site and dashboard password, kept across restarts.

The store keeps the site (its write key, the secret key's hash) and the admin record (the
password's scrypt hash). The two secrets that exist only in clear, the site's secret key and
the dashboard password, are kept in ``<data dir>/credentials.json`` (mode 0600, in a 0700
directory), so a restarted `tally up` prints the same ones: the page carrying the old snippet
keeps counting. A credential that no longer matches what the store holds (a key rotated with
`tally sites rotate-key`, a password with `tally dashboard password --rotate`) is not reused.
"""

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from dashboard.auth import AdminRecord, Authenticator, provision_admin_in
from dashboard.ssm import Parameters
from tally_contract import sites as site_model
from tally_contract.errors import TallyError
from tally_contract.sites import ListedSites, Site

from ..config import write_private


@dataclass(frozen=True)
class Credentials:
    site: Site
    secret_key: str  # "" when the stored site's secret was rotated elsewhere
    admin_password: str
    created: bool  # a new site (a first start)


@dataclass(frozen=True)
class _Saved:
    secret_key: str = ""
    admin_password: str = ""


def ensure(keep: Path | None, sites: ListedSites, parameters: Parameters, site_id: str, parameter: str) -> Credentials:
    """The local site and the dashboard password: the ones saved in ``keep`` if they still
    hold, else new (``keep`` None: nothing is saved, as over the AWS emulator's memory)."""
    saved = _read(keep) if keep else _Saved()
    site, created = sites.by_id(site_id), False
    secret = saved.secret_key
    if site is None:
        made = site_model.create(site_id, origins=["*"])
        sites.put(made.site)
        site, secret, created = made.site, made.secret_key, True
    elif not (secret and site.secret_matches(secret)):
        secret = ""
    password = saved.admin_password
    if not (password and _password_holds(parameters, parameter, password)):
        password = provision_admin_in(parameters, parameter, overwrite=True)
    if keep:
        write_private(keep, json.dumps(asdict(_Saved(secret, password)), indent=2))
    return Credentials(site, secret, password, created)


def _password_holds(parameters: Parameters, parameter: str, password: str) -> bool:
    try:
        record = AdminRecord.from_json(parameters.get(parameter))
    except (TallyError, ValueError, KeyError):
        return False
    return Authenticator(record).check_password(password)


def _read(path: Path) -> _Saved:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return _Saved(str(data.get("secret_key", "")), str(data.get("admin_password", "")))
    except (OSError, ValueError, AttributeError):
        return _Saved()
