"""What the dashboard builds once per Lambda instance, from the environment; tests hand in
their own pieces through ``configure``."""

import os
import time
from dataclasses import dataclass, field
from typing import Any

from .auth import AdminRecord, Authenticator, LoginThrottle
from .errors import Unavailable
from .health import Pipeline
from .ssm import Parameters, SsmParameters
from .stats import Stats

RECORD_TTL = 300.0  # a rotated password takes effect within five minutes on every instance


@dataclass
class Runtime:
    stats: Stats
    parameter: str | None
    pipeline: Pipeline | None = None
    throttle: LoginThrottle = field(default_factory=LoginThrottle)
    ssm: Any = None  # an SSM client for the default SsmParameters (tests hand in moto's)
    parameters: Parameters | None = None  # where the admin record lives (local mode: SQLite)
    _auth: tuple[float, Authenticator] | None = None

    def authenticator(self) -> Authenticator:
        if self._auth is None or self._auth[0] < time.monotonic():
            if not self.parameter:
                raise Unavailable("no admin credentials are provisioned (set TALLY_ADMIN_PARAMETER)")
            parameters = self.parameters or SsmParameters(self.ssm)
            record = AdminRecord.from_json(parameters.get(self.parameter))
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
        import tally_store
        from tally_contract import sites

        from . import ssm

        stats = Stats(tally_store.from_environment(), sites.from_environment())
        parameter = os.environ.get("TALLY_ADMIN_PARAMETER") or None
        _runtime = Runtime(stats, parameter, parameters=ssm.from_environment())
    return _runtime


def configure(runtime: Runtime) -> Runtime:
    global _runtime
    _runtime = runtime
    return runtime


def reset() -> None:
    global _runtime
    _runtime = None
