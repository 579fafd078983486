"""Several processes on one SQLite store file, as `tally up`, extra workers and `tally rollup`
share it: two processors write counters to the same buckets while two more processes roll up
in a loop. No increment is lost (BEGIN IMMEDIATE around every update), no rollup marks a
bucket clean under a version that moved or writes values over newer ones, and the final seal
equals the oracle."""

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.support import oracle
from tests.support.processor_harness import NOW, sqlite_processor

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
LATER = NOW + 3 * 86400
PROCESSOR = textwrap.dedent(
    """
    import sys
    from tests.support.jobs import tally_job
    from tests.support.processor_harness import sqlite_processor

    proc = sqlite_processor(sys.argv[1])
    prefix, batches = sys.argv[2], int(sys.argv[3])
    for b in range(batches):
        jobs = [tally_job(f"{prefix}-{b}-{i}", url=f"https://shop.example.com/p{i % 4}", ip=f"198.51.100.{i % 9}")
                for i in range(20)]
        assert all(r.ok for r in proc.pipeline.process(jobs))
    """
)
ROLLUP = textwrap.dedent(
    """
    import sys, os
    from tests.support.processor_harness import sqlite_processor

    proc = sqlite_processor(sys.argv[1])
    runs = 0
    while not os.path.exists(sys.argv[2]):
        proc.rollup(at=float(sys.argv[3]))
        runs += 1
    print(runs)
    """
)


def _python(*args: str) -> "subprocess.Popen[str]":
    return subprocess.Popen([sys.executable, "-c", *args], cwd=ROOT, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin"},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip


def test_processors_and_a_rollup_in_three_processes_lose_nothing(tmp_path: Path) -> None:
    path, stop = tmp_path / "tally.db", tmp_path / "stop"
    sqlite_processor(path)  # the schema, before the race
    rollups = [_python(ROLLUP, str(path), str(stop), str(LATER)) for _ in range(2)]
    writers = [_python(PROCESSOR, str(path), name, "15") for name in ("a", "b")]
    for writer in writers:
        _, errors = writer.communicate(timeout=300)
        assert writer.returncode == 0, errors[-2000:]
    stop.touch()
    for rollup in rollups:
        runs, errors = rollup.communicate(timeout=300)
        assert rollup.returncode == 0, errors[-2000:]
        assert int(runs) >= 1

    proc = sqlite_processor(path)
    day, minute = proc.row("d", "2026-11-23"), proc.row("m", "2026-11-23T13:18")
    assert (day["ev"], minute["ev"], minute["ver"]) == (600, 600, 30), "every batch's increments and mark landed"
    proc.rollup(at=LATER)  # what was still dirty when the race ended
    site = proc.sites.by_id("shop")
    assert proc.sealed() == oracle.expected(proc.stored_copies(), site.goals, site.props)
    assert len(proc.stored()) == 600
    assert all("dirty" not in row for row in proc.aggregates().values())
