"""`tally store copy`: DynamoDB (moto) to SQLite and back, through the store protocol. After a
copy the target's rollup seals exactly what the source's sealed; a crashed copy resumes after
its last finished site hour; a finished one, run again, copies nothing."""

from pathlib import Path
from typing import Any

import pytest

from processor_lambda.request_job import SiteSettings, declared
from tally_aggregates.rollup import Rollup
from tally_contract.sites_sqlite import SQLiteSites
from tally_ops.errors import OpsError
from tally_ops.store_copy import Checkpoint, StoreCopy
from tally_store.base import Bucket, Row, Store
from tally_store.dynamodb import DynamoDBStore
from tally_store.dynamodb_calls import Calls
from tally_store.sqlite import SQLiteStore
from tests.support.cli_harness import isolated, run
from tests.support.infra import create_table
from tests.support.jobs import BOT, CHROME, tally_job
from tests.support.processor_harness import NOW, Processor, make_processor

__all__ = ["isolated"]
LATER = NOW + 5 * 86400
HOURS = 8


@pytest.fixture
def source(aws: None, boto: Any) -> Processor:
    """A DynamoDB store with 8 hours of events (two days, a midnight), some stored twice."""
    proc = make_processor(boto.client("dynamodb"))
    for hour in range(HOURS):
        at = f"2026-11-{22 + (hour + 20) // 24}T{(hour + 20) % 24:02d}:{hour:02d}:00.000Z"
        batch = [tally_job(f"h{hour}-{i}", at=at, ip=f"198.51.100.{i % 7}", url=f"https://shop.example.com/p{i % 3}",
                           ua=BOT if i == 0 else CHROME) for i in range(6)]  # fmt: skip
        proc.pipeline.process(batch)
        if hour % 3 == 0:
            proc.pipeline.process(batch[:3])  # a redelivery: some events in two packs
    proc.rollup(at=LATER)
    return proc


def _sealed(store: Store, keys: list[tuple[Bucket, Row]]) -> dict[tuple[Bucket, Row], dict[str, int]]:
    found = store.counts(keys)
    return {key: {k: v for k, v in (counts.sealed or {}).items() if v} for key, counts in found.items()
            if counts.sealed and any(counts.sealed.values())}  # fmt: skip


def _copy(source: Processor, target: Store, sites: Any, checkpoint: Path) -> Any:
    job = StoreCopy(source.store, target, source.sites, sites, Checkpoint.open(checkpoint, "a", "b"),
                    clock=lambda: LATER)  # fmt: skip
    sites_found = job.sites()
    return job.run(sites_found, job.plan(sites_found))


def _rollup(store: Store, sites: Any) -> None:
    """The target's rollup, with its sites' goals and counted properties, as the functions run it."""
    settings = SiteSettings(sites.by_id)
    Rollup(store, declared=lambda site: declared(settings, site), clock=lambda: LATER).settle()


class Crashing(SQLiteStore):
    """Dies (as a killed process would) on the ``after``-th write."""

    def __init__(self, path: Path, after: int) -> None:
        super().__init__(path)
        self.left = after

    def write_events(self, events: Any, now: float) -> Any:
        self.left -= 1
        if self.left < 0:
            raise SystemExit("killed")
        return super().write_events(events, now)


def test_dynamodb_to_sqlite_resumes_after_a_crash_and_seals_the_same_totals(source: Processor, tmp_path: Path) -> None:
    keys = source.everything()[1]
    want = _sealed(source.store, keys)
    assert len(want) > 40
    db, checkpoint, sites = tmp_path / "tally.db", tmp_path / "copy.json", SQLiteSites(tmp_path / "tally.db")
    with pytest.raises(SystemExit):
        _copy(source, Crashing(db, after=5), sites, checkpoint)
    resumed = _copy(source, SQLiteStore(db), sites, checkpoint)
    assert (resumed.units, resumed.skipped) == (HOURS, 5)
    again = _copy(source, SQLiteStore(db), sites, checkpoint)
    assert (again.skipped, again.events) == (HOURS, 0), "a finished copy copies nothing"
    assert sites.by_id("shop") == source.sites.by_id("shop")

    target = SQLiteStore(db)
    assert len({e["event_id"] for e in target.every_event()}) == len(source.stored()) == HOURS * 6
    _rollup(target, sites)
    assert _sealed(target, keys) == want
    assert not target.dirty_buckets()


def test_sqlite_back_to_dynamodb(source: Processor, tmp_path: Path, boto: Any) -> None:
    keys = source.everything()[1]
    db = tmp_path / "tally.db"
    _copy(source, SQLiteStore(db), SQLiteSites(db), tmp_path / "there.json")
    client = boto.client("dynamodb")
    back = DynamoDBStore(create_table(client, "back", "EventsTable"), create_table(client, "back", "AggregatesTable"),
                         Calls(client, sleep=lambda _: None))  # fmt: skip
    from tally_contract.sites_dynamodb import DynamoSites

    back_sites = DynamoSites(create_table(client, "back", "SitesTable"), client=client)
    there = Processor(SQLiteStore(db), SQLiteSites(db), source.registry, source.pipeline, source.everything)
    _copy(there, back, back_sites, tmp_path / "back.json")
    _rollup(back, back_sites)
    assert _sealed(back, keys) == _sealed(source.store, keys)
    assert back_sites.by_id("shop") == source.sites.by_id("shop")


def test_a_refused_write_stops_the_copy_with_a_clear_error(source: Processor, tmp_path: Path) -> None:
    class Refusing(SQLiteStore):
        def write_events(self, events: Any, now: float) -> Any:
            from tally_store.base import Refused
            from tally_store.memory import Done

            return Done([Refused(events[0][0]["event_id"], "disk full", True)])

    with pytest.raises(OpsError, match=r"refused 1 events \(disk full\); run again"):
        _copy(source, Refusing(tmp_path / "x.db"), SQLiteSites(tmp_path / "x.db"), tmp_path / "c.json")
    assert not (tmp_path / "c.json").exists(), "nothing noted done"


def test_the_command_copies_and_says_what_it_did(source: Processor, tmp_path: Path, isolated: Path) -> None:
    url = f"sqlite://{tmp_path / 'cli.db'}"
    done = run("store", "copy", "--from", "dynamodb://test", "--to", url, "--days-back", "30")
    assert done.exit_code == 0, done.output
    assert f"copied {HOURS * 6} events of {HOURS} site hours and 1 sites" in done.output
    again = run("store", "copy", "--from", "dynamodb://test", "--to", url, "--days-back", "30")
    assert "copied 0 events of 0 site hours and 1 sites" in again.output
    assert f"{HOURS} site hours were done" in again.output
    bad = run("store", "copy", "--from", "postgres://x", "--to", url)
    assert bad.exit_code != 0 and "expected dynamodb://<stage> or sqlite://<path>" in bad.output
