"""What the dashboard builds once per Lambda instance, from the environment; tests hand in
their own pieces through ``configure``."""

import os
import time
from dataclasses import dataclass, field
from typing import Any

from .auth import AdminRecord, Authenticator, LoginThrottle
from .errors import Unavailable
from .health import Pipeline
from .ssm import read_parameter
from .stats import Stats

RECORD_TTL = 300.0  # a rotated password takes effect within five minutes on every instance


@dataclass
class Runtime:
    stats: Stats
    parameter: str | None
    pipeline: Pipeline | None = None
    throttle: LoginThrottle = field(default_factory=LoginThrottle)
    ssm: Any = None
    _auth: tuple[float, Authenticator] | None = None

    def authenticator(self) -> Authenticator:
        if self._auth is None or self._auth[0] < time.monotonic():
            if not self.parameter:
                raise Unavailable("no admin credentials are provisioned (set TALLY_ADMIN_PARAMETER)")
            record = AdminRecord.from_json(read_parameter(self.parameter, self.ssm))
            self._auth = (time.monotonic() + RECORD_TTL, Authenticator(record))
        return self._auth[1]

    def queue_pipeline(self) -> Pipeline:
        if self.pipeline is None:
            from .health import from_environment

            self.pipeline = from_environment()
        return self.pipeline


_runtime: Runtime | None = None


def get() -> Runtime:
    global _runtime
    if _runtime is None:
        from tally_contract.sites_dynamodb import DynamoSites
        from tally_store.dynamodb import DynamoDBStore

        stats = Stats(DynamoDBStore.from_environment(), DynamoSites(os.environ.get("TALLY_SITES_TABLE", "")))
        _runtime = Runtime(stats, os.environ.get("TALLY_ADMIN_PARAMETER") or None)
    return _runtime


def configure(runtime: Runtime) -> Runtime:
    global _runtime
    _runtime = runtime
    return runtime


def reset() -> None:
    global _runtime
    _runtime = None
