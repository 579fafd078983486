"""Run a function every ``interval`` seconds in a thread, as EventBridge runs the rollup."""

import logging
import threading
from collections.abc import Callable
from typing import Any

logger = logging.getLogger(__name__)


class Every:
    def __init__(self, interval: float, job: Callable[[], Any], *, name: str = "schedule") -> None:
        if interval <= 0:
            raise ValueError("interval must be positive")
        self.interval, self.job, self.name = interval, job, name
        self.stopping = threading.Event()
        self.runs = 0

    def run(self) -> None:
        while not self.stopping.wait(self.interval):
            try:
                self.job()
                self.runs += 1
            except Exception as exc:  # noqa: BLE001 - a failed run is retried next interval, as EventBridge's
                logger.warning("%s failed: %s: %s", self.name, type(exc).__name__, exc)
