"""`tally query` over the files the rollup exported from generated traffic: its counts per
hour and per day equal what the store sealed; bad SQL is one clear line and a non-zero exit."""

import json
import subprocess
import sys
from pathlib import Path

from tally_export import records
from tally_export.files import FileSink
from tally_store.base import Bucket
from tests.support import exports, oracle
from tests.support.cli_harness import assert_one_line_error, isolated, run
from tests.support.processor_harness import make_processor

__all__ = ["isolated"]

PER_HOUR = """
SELECT strftime(event_time, '%Y-%m-%dT%H') AS bucket,
       count(*) FILTER (WHERE NOT bot AND name = 'pageview') AS pv,
       count(*) FILTER (WHERE NOT bot) AS ev,
       count(DISTINCT visitor_id) FILTER (WHERE NOT bot) AS uv,
       count(*) FILTER (WHERE bot) AS bots
FROM events GROUP BY ALL ORDER BY bucket
"""
PER_DAY = PER_HOUR.replace("strftime(event_time, '%Y-%m-%dT%H')", "strftime(date, '%Y-%m-%d')")


def test_query_counts_equal_the_sealed_counts(tmp_path: Path) -> None:
    proc = make_processor()
    exports.run_traffic(proc, FileSink(tmp_path / "export"), 42)
    for sql, granularity in ((PER_HOUR, "h"), (PER_DAY, "d")):
        result = run("query", "--dir", str(tmp_path / "export"), "--json", sql)
        assert result.exit_code == 0, result.output
        rows = [json.loads(line) for line in result.output.splitlines()]
        assert len(rows) >= 3 if granularity == "h" else len(rows) >= 2
        for row in rows:
            sealed = exports.sealed_counts(proc, Bucket("shop", granularity, row.pop("bucket")))
            assert row == sealed, granularity
    total = run("query", "--dir", str(tmp_path / "export"), "--csv", "SELECT count(*) AS n FROM events")
    assert total.output.splitlines() == ["n", str(len(oracle.counted(proc.stored_copies())))]
    table = run("query", "--dir", str(tmp_path / "export"), "SELECT site, count(*) AS n FROM events GROUP BY site")
    assert table.output.splitlines()[0].split() == ["site", "n"] and table.output.rstrip().endswith("(1 row)")


def test_bad_sql_and_no_files_are_clear_errors(tmp_path: Path) -> None:
    FileSink(tmp_path).put_hour("shop", "2026-11-23T13", records.gzipped([]))
    bad = run("query", "--dir", str(tmp_path), "SELEC count(*) FROM events")
    assert_one_line_error(bad, "query: Parser Error: syntax error")
    assert_one_line_error(run("query", "--dir", str(tmp_path), "SELECT nope FROM events"), 'column "nope" not found')
    assert_one_line_error(run("query", "--dir", str(tmp_path / "none"), "SELECT 1"), "no exported files under")
    assert run("query", "--dir", str(tmp_path), "SELECT count(*) AS n FROM events").output.splitlines()[2] == "0"
    both = run("query", "--dir", str(tmp_path), "--json", "--csv", "SELECT 1")
    assert both.exit_code == 2


def test_other_commands_do_not_load_duckdb() -> None:
    code = ("import sys; from click.testing import CliRunner; from tally_cli.main import cli; "
            "CliRunner().invoke(cli, ['query', '--help']); CliRunner().invoke(cli, ['stats', '--help']); "
            "print('duckdb' in sys.modules)")  # fmt: skip
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
