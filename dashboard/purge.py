"""The purge: deleting deleted sites' data, a bounded step at a time (the dashboard app's
``purge`` function, every minute; local mode's schedule).

Deleting a site replaces it by its tombstone (tally_contract.sites.Deletion): its write key
finds nothing at once (the ingest's cache keeps it for up to a minute), processors drop its
queued events and the rollup leaves its buckets alone once their cached settings say so. The
purge walks the stored data (the store's ``delete_site``) and is done when a walk that started
at least GRACE after the deletion has ended (a walk: the store's items, then the site's
exported hourly files when there is an export, tally_export): by then no processor holds the site's old
settings (cached 5 minutes), no batch that read them still runs (60 s) and no rollup worker
still seals one of its buckets (120 s), so nothing of the site is written after that walk's
start. The first walk starts at once and removes the bulk; the last one waits for the grace.
Each run works until its budget is spent and keeps the walk's position on the tombstone after
every step, so a run cut short loses a step at most.
"""

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any, Protocol

from tally_contract.sites import Deletion, Site
from tally_store.base import Store

if TYPE_CHECKING:
    from tally_export.base import Sink

GRACE = 600.0
EXPORTS = "exports"  # a walk's position once the store's items are gone: the exported files'

BUDGET = 40.0  # seconds a run works (the function's timeout is 60 s)


class Deletions(Protocol):
    def listing(self) -> tuple[list[Site], list[Deletion]]: ...

    def save_deletion(self, deletion: Deletion) -> None: ...


@dataclass
class Report:
    pending: int = 0  # deletions not purged yet when the run began
    removed: int = 0  # items deleted by this run
    purged: list[str] = field(default_factory=list)  # sites this run finished


def run(
    sites: Deletions,
    store: Store,
    exports: "Sink | None" = None,
    *,
    clock: Callable[[], float] = time.time,
    budget: float = BUDGET,
    monotonic: Callable[[], float] = time.monotonic,
) -> Report:
    report = Report()
    stop = monotonic() + budget
    for deletion in sites.listing()[1]:
        if deletion.purged_at is not None:
            continue
        report.pending += 1
        more = True
        while more and monotonic() < stop:
            advanced, more = step(store, deletion, clock(), exports)
            report.removed += advanced.removed - deletion.removed
            if advanced != deletion:
                sites.save_deletion(advanced)
            if advanced.purged_at is not None:
                report.purged.append(advanced.site_id)
            deletion = advanced
    return report


def step(store: Store, deletion: Deletion, now: float, exports: "Sink | None" = None) -> tuple[Deletion, bool]:
    """One step of a deletion, and whether another may follow now."""
    due = deletion.deleted_at + GRACE
    if deletion.resume is None and deletion.walk_started is not None:  # a walk has ended
        if deletion.walk_started >= due:
            return replace(deletion, purged_at=now), False
        if now < due:
            return deletion, False  # the last walk waits for the grace
        deletion = replace(deletion, walk_started=None)
    started = now if deletion.walk_started is None else deletion.walk_started
    removed, resume = _walk(store, exports, deletion.site_id, deletion.resume)
    return replace(deletion, walk_started=started, resume=resume, removed=deletion.removed + removed), True


def _walk(store: Store, exports: "Sink | None", site: str, resume: str | None) -> tuple[int, str | None]:
    if resume != EXPORTS:
        removed, resume = store.delete_site(site, resume)
        return removed, EXPORTS if resume is None and exports is not None else resume
    assert exports is not None  # a walk at EXPORTS began with an export
    removed, more = exports.delete_site(site)
    return removed, EXPORTS if more else None


_built: "tuple[Deletions, Store, Sink | None] | None" = None


def run_scheduled() -> dict[str, Any]:
    """The scheduled function: the sites table and the store from the environment, built once
    per Lambda instance."""
    global _built
    if _built is None:
        _built = from_environment()
    return asdict(run(*_built))


def from_environment() -> "tuple[Deletions, Store, Sink | None]":
    """The sites and the store: local mode's SQLite file (TALLY_STORE_URL), else DynamoDB; the
    exported files (TALLY_EXPORT_BUCKET or TALLY_EXPORT_DIR), if any."""
    import os
    from typing import cast

    import tally_export.base
    import tally_store
    from tally_contract.sites import open_sites

    url = os.environ.get("TALLY_STORE_URL", "")
    sites = cast(Deletions, open_sites(url, os.environ.get("TALLY_SITES_TABLE", "")))
    return sites, tally_store.from_url(url) if url else _dynamodb(), tally_export.base.from_environment()


def _dynamodb() -> Store:
    from tally_store.dynamodb import DynamoDBStore

    return DynamoDBStore.from_environment()


def reset() -> None:
    global _built
    _built = None
