"""tally_contract.signals: a stop signal is noticed whichever thread the kernel hands it to.

The child processes below block SIGTERM in their main thread, so the kernel must hand it to the
other thread: what happened at random on a loaded machine, when `tally up` ignored SIGTERM
(tests/e2e/test_cli_local.py::test_up_with_the_redis_backend timed out)."""

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tally_contract.signals import StopSignals

ROOT = Path(__file__).resolve().parents[2]
CHILD = textwrap.dedent(
    """
    import os, signal, sys, threading, time
    from tally_contract.signals import StopSignals

    ready = threading.Event()

    def sender():  # the thread the kernel must deliver to: it does not block SIGTERM
        ready.wait()
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(60)

    threading.Thread(target=sender, daemon=True).start()
    with StopSignals().installed() as signals:
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
        ready.set()
        if sys.argv[1] == "event":  # what `tally up` did: a handler setting an Event it waits on
            stop = threading.Event()
            signal.signal(signal.SIGTERM, lambda *_: stop.set())
            stop.wait()
            print("stopped")
        else:
            print("stopped on", signal.Signals(signals.wait()).name)
    """
)


def _child(mode: str, timeout: float) -> "subprocess.CompletedProcess[str]":
    return subprocess.run([sys.executable, "-c", CHILD, mode], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                          capture_output=True, text=True, timeout=timeout, check=True)  # fmt: skip


@pytest.mark.slow
def test_a_signal_another_thread_took_still_ends_the_wait() -> None:
    assert _child("signals", 20).stdout.strip() == "stopped on SIGTERM"


@pytest.mark.slow
def test_an_untimed_event_wait_misses_a_signal_another_thread_took() -> None:
    """The failure the module exists for, reproduced on purpose: the old wait never returns."""
    with pytest.raises(subprocess.TimeoutExpired):
        _child("event", 3)


def test_handlers_record_and_are_put_back() -> None:
    before = signal.getsignal(signal.SIGINT)
    with StopSignals().installed() as signals:
        os.kill(os.getpid(), signal.SIGINT)  # to this, the main thread: the handler runs at once
        assert signals.wait(step=0.01) == signal.SIGINT
        os.kill(os.getpid(), signal.SIGTERM)
        assert signals.received == [signal.SIGINT, signal.SIGTERM]
    assert signal.getsignal(signal.SIGINT) is before
