"""``tally export events`` and ``tally export csv`` against a stage's tables (moto): one file of
every event once, cursors followed; the CSV zip equal to the engine's answers; bad input one
line naming the option."""

import csv
import io
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tally_export import parts, records
from tally_store.dynamodb import DynamoDBStore
from tests.functional.test_export_parts import event, totals
from tests.support.cli_harness import assert_one_line_error, isolated, run
from tests.support.infra import create_table

__all__ = ["isolated"]
STAGE = "t"
COUNT = 600
STEP = 10  # every 10th of the unit tests' events: 18 s apart, 00:00 to 03:00 on 2026-11-20


@pytest.fixture
def stage(aws: None, boto: Any) -> DynamoDBStore:
    client = boto.client("dynamodb")
    for logical_id in ("SitesTable", "EventsTable", "AggregatesTable"):
        create_table(client, STAGE, logical_id)
    assert run("sites", "add", "shop", "--stage", STAGE).exit_code == 0
    store = DynamoDBStore(f"tally-{STAGE}-events", f"tally-{STAGE}-aggregates")
    made = [event(n * STEP) for n in range(COUNT)]
    assert store.write_events([(e, 30) for e in made], 0).wait() == []
    assert store.add_counters(totals(made), 0) == []
    return store


def test_export_events_follows_the_cursors_into_one_file(stage: DynamoDBStore, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.setattr(parts, "PART_HOURS", 1)  # a part per hour: the cursors are followed
    out = tmp_path / "events.ndjson.gz"
    result = run("export", "events", "--site", "shop", "--from", "2026-11-19", "--to", "2026-11-21", "-o", str(out),
                 "--stage", STAGE)  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = records.read(out.read_bytes())
    assert [line["event_id"] for line in lines] == [f"e{n * STEP:06d}" for n in range(COUNT)]
    hours = len({line["event_time"][:13] for line in lines})
    assert hours == 3 and f"{COUNT} events of shop in {hours} part(s)" in result.output
    assert not list(tmp_path.glob("*.partial"))


def test_export_csv_writes_the_panels(stage: DynamoDBStore, tmp_path: Path) -> None:
    out = tmp_path / "shop.zip"
    result = run("export", "csv", "--site", "shop", "--range", "2026-11-20,2026-11-20", "-o", str(out),
                 "--filter", '[["is", "event:name", ["signup"]]]', "--stage", STAGE)  # fmt: skip
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(out) as packed:
        pages = list(csv.reader(io.StringIO(packed.read("pages.csv").decode())))
        series = list(csv.reader(io.StringIO(packed.read("visitors.csv").decode())))
    signups = [e for e in map(event, range(0, COUNT * STEP, STEP)) if e["name"] == "signup"]
    want = {e["path"]: len({s["visitor_id"] for s in signups if s["path"] == e["path"]}) for e in signups}
    assert pages[0] == ["name", "visitors", "pageviews"]
    assert {row[0]: int(row[1]) for row in pages[1:]} == want and {row[2] for row in pages[1:]} == {"0"}
    assert series[1][0] == "2026-11-20" and int(series[1][1]) == len({e["visitor_id"] for e in signups})


def test_export_bad_input_is_one_line(stage: DynamoDBStore, tmp_path: Path) -> None:
    out = str(tmp_path / "x")
    assert_one_line_error(run("export", "events", "--site", "shop", "--from", "soon", "--to", "2026-11-21", "-o", out,
                              "--stage", STAGE), "--from")  # fmt: skip
    assert_one_line_error(run("export", "csv", "--site", "shop", "--filter", "[", "-o", out, "--stage", STAGE),
                          "--filter")  # fmt: skip
    assert_one_line_error(run("export", "csv", "--site", "shop", "--range", "soon", "-o", out, "--stage", STAGE),
                          "date_range")  # fmt: skip
    assert_one_line_error(run("export", "csv", "--site", "nope", "-o", out, "--stage", STAGE), "no site 'nope'")
