"""Deleting a site with its data, on every adapter (memory, SQLite, DynamoDB on moto): the site
stores' tombstones, the processor dropping a deleted site's queued events, the rollup sealing
none of them, and the purge removing the site's data, and only its, once a walk that started
after the grace has ended."""

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dashboard import purge
from tally_aggregates.declared import Declared
from tally_aggregates.rollup import Rollup
from tally_contract.sites import MemorySites, NoSuchSite, SiteAdmin, SiteExists
from tally_contract.sites_dynamodb import DynamoSites
from tally_contract.sites_sqlite import SQLiteSites
from tests.support.infra import create_table
from tests.support.jobs import tally_job
from tests.support.processor_harness import NOW, SHOP, Processor, make_processor, sqlite_processor

BLOG = dataclasses.replace(SHOP, site_id="blog", write_key="wk_blog")


@pytest.fixture(params=["memory", "sqlite", "dynamodb"])
def site_admin(request: Any, tmp_path: Path) -> Iterator[SiteAdmin]:
    if request.param == "memory":
        yield MemorySites([SHOP, BLOG])
        return
    if request.param == "sqlite":
        sites: Any = SQLiteSites(tmp_path / "tally.db")
    else:
        request.getfixturevalue("aws")
        import boto3

        client = boto3.client("dynamodb", region_name="us-east-1")
        sites = DynamoSites(create_table(client, "test", "SitesTable"), client=client)
    sites.put(SHOP)
    sites.put(BLOG)
    yield sites


def test_a_deleted_site_is_a_tombstone_until_purged(site_admin: Any) -> None:
    with pytest.raises(SiteExists):
        site_admin.create(dataclasses.replace(SHOP, write_key="wk_other"))
    site_admin.update(dataclasses.replace(SHOP, timezone="Europe/Berlin"))
    assert site_admin.by_id("shop").timezone == "Europe/Berlin"
    site_admin.delete("shop", NOW)
    assert site_admin.by_write_key("wk_shop") is None  # its key finds nothing at once
    assert site_admin.by_id("shop").deleted_at == NOW
    with pytest.raises(NoSuchSite):
        site_admin.delete("shop", NOW)
    with pytest.raises(NoSuchSite):
        site_admin.update(SHOP)
    with pytest.raises(SiteExists):  # not before its data is gone
        site_admin.create(SHOP)
    live, gone = site_admin.listing()
    assert [site.site_id for site in live] == ["blog"] and [d.site_id for d in gone] == ["shop"]
    site_admin.save_deletion(dataclasses.replace(gone[0], removed=3, purged_at=NOW + 700))
    assert site_admin.listing()[1][0].removed == 3
    site_admin.create(SHOP)  # purged: the id may be used again
    assert site_admin.by_write_key("wk_shop") == SHOP and site_admin.listing()[1] == []


@pytest.fixture(params=["memory", "sqlite", "dynamodb"])
def proc(request: Any, tmp_path: Path) -> Processor:
    if request.param == "memory":
        made = make_processor()
    elif request.param == "sqlite":
        made = sqlite_processor(tmp_path / "tally.db")
    else:
        request.getfixturevalue("aws")
        import boto3

        made = make_processor(boto3.client("dynamodb", region_name="us-east-1"))
    made.sites.put(BLOG)
    return made


def blog_job(event_id: str) -> str:
    job = json.loads(tally_job(event_id))
    job["args"][0]["site"] = "blog"
    return json.dumps(job)


def sites_of(proc: Processor) -> set[str]:
    events, rows = proc.everything()
    return {event["site"] for event in events} | {bucket.site for bucket, _ in rows}


def test_the_purge_removes_the_sites_data_and_only_its(proc: Processor) -> None:
    proc.pipeline.process([tally_job("s1"), tally_job("s2", name="signup"), blog_job("b1")])
    proc.rollup(at=NOW + 86400 * 3)  # sealed values and blobs too
    assert sites_of(proc) == {"shop", "blog"}
    sites = MemorySites([SHOP, BLOG])
    sites.delete("shop", NOW)
    first = purge.run(sites, proc.store, clock=lambda: NOW + 1)
    assert first.pending == 1 and first.removed > 0 and first.purged == []  # the grace is not over
    assert sites_of(proc) == {"blog"}
    # A processor that still held the old settings wrote one more: the last walk finds it.
    proc.sites.put(SHOP)
    proc.pipeline.process([tally_job("s3", at="2026-11-23T13:19:00.000Z")])
    assert "shop" in sites_of(proc)
    assert purge.run(sites, proc.store, clock=lambda: NOW + 60).removed == 0  # waits for the grace
    last = purge.run(sites, proc.store, clock=lambda: NOW + purge.GRACE + 1)
    assert last.purged == ["shop"] and last.removed > 0
    assert sites_of(proc) == {"blog"}
    assert [e["event_id"] for e in proc.stored()] == ["b1"]
    assert purge.run(sites, proc.store, clock=lambda: NOW + 2 * purge.GRACE).pending == 0  # done for good


def test_the_processor_drops_a_deleted_sites_queued_events_and_the_rollup_skips_it(proc: Processor) -> None:
    from processor_lambda.request_job import SiteSettings, declared

    proc.pipeline.process([tally_job("s1")])
    proc.sites.delete("shop", NOW)
    proc.now[0] += 301  # once the processor's cached settings (5 minutes) have expired
    results = proc.pipeline.process([tally_job("s2"), blog_job("b1")])
    assert all(result.ok for result in results)  # acknowledged: nothing retried, nothing dead-lettered
    assert sorted(e["event_id"] for e in proc.stored()) == ["b1", "s1"]  # s2 was not stored
    settings = SiteSettings(proc.sites.by_id)
    assert declared(settings, "shop") is None and declared(settings, "blog") == Declared(BLOG.goals, BLOG.props)
    report = Rollup(proc.store, declared=lambda site: declared(settings, site), clock=lambda: NOW + 86400 * 3).settle()
    states = {bucket: proc.store.bucket_state(bucket) for bucket, _ in proc.everything()[1]}
    sealed = {bucket.site for bucket, state in states.items() if state.version and not state.dirty}
    assert "shop" not in sealed and "blog" in sealed, (report, states)  # the shop's minute stays dirty, unsealed


@pytest.fixture(params=["files", "s3"])
def exports(request: Any, tmp_path: Path) -> Any:
    """Where the hourly export wrote (tally_export): a directory, or an S3 bucket on moto."""
    if request.param == "files":
        from tally_export.files import FileSink

        return FileSink(tmp_path / "export")
    request.getfixturevalue("aws")
    import boto3

    from tally_export.s3 import S3Sink

    client = boto3.client("s3", region_name="us-east-1")
    client.create_bucket(Bucket="tally-test-export")
    return S3Sink("tally-test-export", client=client)


def exported(sink: Any, site: str) -> list[str]:
    from tally_export.base import site_prefix

    if hasattr(sink, "root"):
        folder = sink.root / site_prefix(site)
        return sorted(str(p) for p in folder.rglob("*.ndjson.gz")) if folder.is_dir() else []
    listed = sink.client.list_objects_v2(Bucket=sink.bucket, Prefix=site_prefix(site))
    return sorted(item["Key"] for item in listed.get("Contents", []))


def test_the_purge_removes_the_sites_exported_files_and_only_its(exports: Any) -> None:
    """A deleted site's hourly files go with its stored data, in the walk that purges it, a
    bounded batch a step (S3: one listing, one DeleteObjects)."""
    proc = make_processor()
    proc.sites.put(BLOG)
    proc.pipeline.process([tally_job("s1"), tally_job("s2", at="2026-11-23T15:19:00.000Z"), blog_job("b1")])
    Rollup(proc.store, clock=lambda: NOW + 86400 * 3, export=exports).settle()
    assert len(exported(exports, "shop")) == 2 and len(exported(exports, "blog")) == 1
    sites = MemorySites([SHOP, BLOG])
    sites.delete("shop", NOW)
    purge.run(sites, proc.store, exports, clock=lambda: NOW + 1)
    assert exported(exports, "shop") == [] and len(exported(exports, "blog")) == 1
    last = purge.run(sites, proc.store, exports, clock=lambda: NOW + purge.GRACE + 1)
    assert last.purged == ["shop"] and len(exported(exports, "blog")) == 1
