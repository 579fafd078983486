"""What the dashboard builds once per Lambda instance, from the environment; tests hand in
their own pieces through ``configure``."""

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

from tally_contract.clientip import Network, parse_networks
from tally_contract.sites import SiteAdmin

from .accounts import Accounts
from .auth import AdminRecord, Authenticator
from .errors import Unavailable
from .health import Pipeline
from .sessions import AuthStore, LoginBackoff, Sessions
from .ssm import Parameters, SsmParameters
from .stats import Stats

RECORD_TTL = 300.0  # a rotated password takes effect within five minutes on every instance


@dataclass
class Runtime:
    stats: Stats
    parameter: str | None
    pipeline: Pipeline | None = None
    ssm: Any = None  # an SSM client for the default SsmParameters (tests hand in moto's)
    parameters: Parameters | None = None  # where the admin record lives (local mode: SQLite)
    auth_store: AuthStore | None = None  # built on first use: TALLY_AUTH_TABLE, or local mode's file
    sites: SiteAdmin | None = None  # default: the stats' site list (the sites table)
    trusted_proxies: tuple[Network, ...] = field(default_factory=tuple)
    clock: Callable[[], float] = time.time
    _auth: tuple[float, Authenticator] | None = None
    sites_by_id: Callable[[str], Any] | None = None  # site id -> Site | None, cached (query_api.SiteCache)

    def authenticator(self) -> Authenticator:
        if self._auth is None or self._auth[0] < time.monotonic():
            if not self.parameter:
                raise Unavailable("no admin credentials are provisioned (set TALLY_ADMIN_PARAMETER)")
            parameters = self.parameters or SsmParameters(self.ssm)
            try:
                record = AdminRecord.from_json(parameters.get(self.parameter))
            except ValueError as exc:
                raise Unavailable(f"admin parameter {self.parameter}: {exc}") from None
            self._auth = (time.monotonic() + RECORD_TTL, Authenticator(record, self.clock))
        return self._auth[1]

    def store(self) -> AuthStore:
        if self.auth_store is None and os.environ.get("TALLY_STORE_URL", "").startswith("sqlite://"):
            from .sessions_sqlite import SQLiteAuthStore  # local mode: beside the admin record

            self.auth_store = SQLiteAuthStore(os.environ["TALLY_STORE_URL"].removeprefix("sqlite://"))
        if self.auth_store is None:
            table = os.environ.get("TALLY_AUTH_TABLE")
            if not table:
                raise Unavailable("no session store is configured (set TALLY_AUTH_TABLE)")
            from .sessions_dynamodb import DynamoAuthStore

            self.auth_store = DynamoAuthStore(table)
        return self.auth_store

    def accounts(self) -> Accounts:
        return Accounts(self.store())

    def site_admin(self) -> SiteAdmin:
        return self.sites if self.sites is not None else cast(SiteAdmin, self.stats.site_list)

    def sessions(self) -> Sessions:
        return Sessions(self.store(), self.clock)

    def backoff(self) -> LoginBackoff:
        return LoginBackoff(self.store(), self.clock)

    def site_by_id(self) -> Callable[[str], Any]:
        if self.sites_by_id is None:
            from .query_api import SiteCache

            self.sites_by_id = SiteCache(self.stats.site)
        return self.sites_by_id

    def queue_pipeline(self) -> Pipeline:
        if self.pipeline is None:
            from .health import from_environment

            self.pipeline = from_environment()
        return self.pipeline


_runtime: Runtime | None = None


def get() -> Runtime:
    global _runtime
    if _runtime is None:
        import tally_store
        from tally_contract import sites

        from . import ssm

        stats = Stats(tally_store.from_environment(), sites.from_environment())
        _runtime = Runtime(
            stats,
            os.environ.get("TALLY_ADMIN_PARAMETER") or None,
            parameters=ssm.from_environment(),
            trusted_proxies=parse_networks(os.environ.get("TALLY_TRUSTED_PROXIES", "")),
        )
    return _runtime


def configure(runtime: Runtime) -> Runtime:
    global _runtime
    _runtime = runtime
    return runtime


def reset() -> None:
    global _runtime
    _runtime = None
