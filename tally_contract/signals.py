"""SIGTERM and SIGINT for long-running commands (`tally up`, the Redis worker), without a lost
signal or a handler that deadlocks.

CPython runs a signal's Python handler in the main thread, between bytecodes, whichever thread
of the process the kernel handed the signal to (a signal sent to a process may be taken by any
of its threads). Two consequences:

- A main thread parked in an untimed wait (``Event.wait()``) wakes only if it took the signal
  itself. When another thread took it, the handler never ran: `tally up` ignored SIGTERM that
  way on a loaded machine. So the main thread here sleeps in short steps.
- The handler can run while the main thread holds a lock, e.g. inside ``Event.wait``'s
  condition, so it takes none: ``Event.set()`` from a handler can deadlock on that very lock.
  It only records the signal; the main thread acts on it.
"""

import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopSignals:
    """Records SIGINT/SIGTERM while ``installed``; ``received`` lists them in arrival order."""

    def __init__(self) -> None:
        self.received: list[int] = []

    def _record(self, signum: int, _frame: FrameType | None) -> None:
        self.received.append(signum)  # no lock taken: see the module's docstring

    @contextmanager
    def installed(self) -> Iterator["StopSignals"]:
        """Handle the stop signals (main thread only), and put the previous handlers back after."""
        previous = {sig: signal.signal(sig, self._record) for sig in STOP_SIGNALS}
        try:
            yield self
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def wait(self, step: float = 0.2) -> int:
        """Sleep until a stop signal has arrived (at most ``step`` seconds after); returns it."""
        while not self.received:
            time.sleep(step)
        return self.received[0]
