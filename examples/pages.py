"""PublishPageJob: render a landing page's configuration once, in the background, and serve the
cached HTML (the seeds' versioned landing pages).

An editor saves version N of a page's configuration (``Pages.save``) and enqueues
``PublishPageJob(slug, N)``. The job renders that version to HTML once, caches it, then marks N
published; visitors get the cached HTML of the published version (``Pages.serve``) and nothing
is rendered per request. A redelivered job renders the same HTML again (the cache is
overwritten with the same bytes) and a late job for an older version never takes the place of
a newer published one. Storage is a directory of JSON and HTML files, written whole, so the
job may run in another process than the editor (a worker, `tally up`).
"""

import html
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from processor_lambda.registry import Registry
from processor_lambda.results import JobFailed
from tally_contract import envelope
from tally_contract.envelope import Job, JobOptions
from tally_contract.queues import Queue

from .files import write_whole

JOB_CLASS = "PublishPageJob"
DIRECTORY = "TALLY_EXAMPLE_PAGES"  # where the pages live, for `tally up --jobs examples.pages`


class Pages:
    def __init__(self, root: Path) -> None:
        self.root = root

    def save(self, slug: str, config: dict[str, Any]) -> int:
        """A new version of the page's configuration; returns its number."""
        version = len(list(self._dir(slug).glob("v*.json"))) + 1
        write_whole(self._dir(slug) / f"v{version}.json", json.dumps(config))
        return version

    def config(self, slug: str, version: int) -> dict[str, Any] | None:
        path = self._dir(slug) / f"v{version}.json"
        return dict(json.loads(path.read_text())) if path.exists() else None

    def cache(self, slug: str, version: int, page: str) -> None:
        write_whole(self._dir(slug) / f"v{version}.html", page)

    def publish(self, slug: str, version: int) -> None:
        if version > self.published(slug):
            write_whole(self._dir(slug) / "published", str(version))

    def published(self, slug: str) -> int:
        path = self._dir(slug) / "published"
        return int(path.read_text()) if path.exists() else 0

    def serve(self, slug: str) -> str | None:
        """The published version's cached HTML (None before the first publish)."""
        version = self.published(slug)
        return (self._dir(slug) / f"v{version}.html").read_text() if version else None

    def _dir(self, slug: str) -> Path:
        if not slug or not all(c.isalnum() or c in "-_" for c in slug):
            raise JobFailed(f"page slug {slug!r}: letters, digits, '-' and '_' only", retryable=False)
        path = self.root / slug
        path.mkdir(parents=True, exist_ok=True)
        return path


def render(config: dict[str, Any]) -> str:
    title = html.escape(str(config.get("title", "")))
    sections = "".join(_section(section) for section in config.get("sections", []))
    return f"<!doctype html><title>{title}</title><h1>{title}</h1>{sections}"


def _section(section: dict[str, Any]) -> str:
    heading, body = html.escape(str(section.get("heading", ""))), html.escape(str(section.get("body", "")))
    return f"<section><h2>{heading}</h2><p>{body}</p></section>"


def publish_page(pages: Pages, arguments: Sequence[Any]) -> None:
    if len(arguments) != 2 or not isinstance(arguments[1], int):
        raise JobFailed("PublishPageJob takes (slug, version)", retryable=False)
    slug, version = str(arguments[0]), arguments[1]
    config = pages.config(slug, version)
    if config is None:
        raise JobFailed(f"page {slug!r} has no version {version}", retryable=False)
    pages.cache(slug, version, render(config))  # cached before it is published: never a page without HTML
    pages.publish(slug, version)


def register(registry: Registry, pages: Pages | None = None) -> None:
    where = pages or Pages(Path(os.environ.get(DIRECTORY, ".tally/pages")))

    def handle(arguments: list[Any], job: Job) -> None:
        publish_page(where, arguments)

    registry.register(JOB_CLASS, handle)


def enqueue(queue: Queue, slug: str, version: int) -> None:
    """What the editor does after saving: one Sidekiq job, on any queue backend."""
    body = envelope.encode(envelope.build([slug, version], JobOptions(job_class=JOB_CLASS)))
    if queue.push("default", [body]):
        raise JobFailed(f"the queue did not take {JOB_CLASS}({slug}, {version})")
