"""What `tally up` prints while it runs: one line per processed batch and per rollup that did
something, for a person (``text``) or as JSON objects (``json``, beside the Powertools EMF
lines the functions print, for machines)."""

import json
import logging
import sys
import threading
import time
from collections.abc import Sequence
from typing import Any, TextIO

from processor_lambda.pipeline import Pipeline
from processor_lambda.results import RecordResult
from tally_store.base import Store


class Console:
    def __init__(self, log_format: str = "text", stream: TextIO | None = None) -> None:
        self.json = log_format == "json"
        self.stream = stream or sys.stdout
        self._lock = threading.Lock()
        self._handler: logging.Handler | None = None

    def install(self, verbose: bool) -> None:
        """Warnings of the pipeline's own loggers (a worker giving back jobs, a failed settle)
        as lines of this console; with ``verbose`` their info lines too."""
        handler = logging.StreamHandler(self.stream)
        if self.json:
            handler.setFormatter(_JsonLines())
        else:
            handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(message)s", "%H:%M:%S"))
        root = logging.getLogger()
        root.addHandler(handler)
        root.setLevel(logging.INFO if verbose else logging.WARNING)
        self._handler = handler

    def uninstall(self) -> None:
        if self._handler is not None:
            logging.getLogger().removeHandler(self._handler)
            self._handler = None

    def batch(self, size: int, failed: int, seconds: float, lag: float | None) -> None:
        lag_text = f"{lag:.2f} s" if lag is not None else "-"
        self._line(f"batch   {size:>5} jobs  {failed:>3} failed  lag {lag_text:>8}  {seconds * 1000:>6.0f} ms",
                   kind="batch", size=size, failed=failed, lag=lag, ms=round(seconds * 1000, 1))  # fmt: skip

    def rollup(self, report: dict[str, Any], seconds: float) -> None:
        if not any(report.get(k) for k in ("planned", "sealed", "still_dirty", "packs_removed")):
            return  # nothing to seal: an idle pipeline stays quiet
        shown = ("planned", "sealed", "still_dirty", "waiting", "events_read", "summaries_read")
        text = "  ".join(f"{name.replace('_', ' ')} {report.get(name, 0)}" for name in shown)
        text += f"  oldest unsealed {float(report.get('oldest_unsealed') or 0):.0f} s"
        self._line(f"rollup  {text}  {seconds * 1000:.0f} ms", kind="rollup", **report, ms=round(seconds * 1000, 1))

    def note(self, text: str) -> None:
        self._line(text, kind="note")

    def _line(self, text: str, **fields: Any) -> None:
        stamp = time.strftime("%H:%M:%S")
        line = json.dumps({"time": time.time(), **fields}) if self.json else f"{stamp} {text}"
        with self._lock:
            print(line, file=self.stream, flush=True)


class _JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return json.dumps({"time": record.created, "level": record.levelname, "logger": record.name,
                           "message": record.getMessage()})  # fmt: skip


class ReportingPipeline(Pipeline):
    """The processing pipeline, printing one line per batch: jobs, failures, the lag of the
    batch's oldest event (the processor's heartbeat, read back from the store) and its time;
    with ``emf`` (JSON output, a worker's batch) also the processor's EMF metric line."""

    def __init__(self, base: Pipeline, console: Console, store: Store, *, emf: bool = False) -> None:
        super().__init__(base.registry)
        self.console, self.store, self.emf = console, store, emf

    def process(self, bodies: Sequence[str | bytes]) -> list[RecordResult]:
        started, wall = time.perf_counter(), time.time()
        results = super().process(bodies)
        seconds = time.perf_counter() - started
        try:
            beat = self.store.heartbeat()
        except Exception:  # noqa: BLE001 - the line is a courtesy; processing already ended
            beat = None
        lag = beat.lag if beat is not None and beat.at >= wall - 1 else None
        failed = sum(not r.ok for r in results)
        self.console.batch(len(results), failed, seconds, lag)
        if self.emf:  # the batch's EMF line, as the SQS function prints it (dead letters: the worker's)
            from processor_lambda import observability

            observability.record_batch(len(results), failed, 0, started)
            observability.metrics.flush_metrics()
        return results
