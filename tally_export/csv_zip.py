"""The dashboard's panels for a range as a zip of CSV files, named as Plausible's export names
them. Every file is one Stats API v2 query of the query engine (tally_query), the same query
the dashboard's panel sends with the page's range and filters, so every number is the one
``POST /api/v2/query`` answers. Bounded: a file holds at most the engine's page of rows
(the engine's MAX_LIMIT, the most visitors first), and the zip is built in memory from those rows."""

import csv
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tally_contract.sites import Site

if TYPE_CHECKING:  # the query engine is imported on use: the ingest zip ships tally_export (the rollup's
    from tally_query.engine import Engine  # hourly export), not tally_query

SERIES = ("visitors", "pageviews", "visits", "views_per_visit", "bounce_rate", "visit_duration")
VISIT_METRICS = ("visitors", "visits", "bounce_rate", "visit_duration")


@dataclass(frozen=True)
class Report:
    name: str  # the file's
    dimension: str
    metrics: tuple[str, ...]


REPORTS = (
    Report("pages.csv", "event:page", ("visitors", "pageviews")),
    Report("entry_pages.csv", "visit:entry_page", VISIT_METRICS),
    Report("exit_pages.csv", "visit:exit_page", ("visitors", "visits")),
    Report("sources.csv", "visit:source", VISIT_METRICS),
    Report("utm_mediums.csv", "visit:utm_medium", VISIT_METRICS),
    Report("utm_sources.csv", "visit:utm_source", VISIT_METRICS),
    Report("utm_campaigns.csv", "visit:utm_campaign", VISIT_METRICS),
    Report("countries.csv", "visit:country", ("visitors",)),
    Report("devices.csv", "visit:device", ("visitors",)),
    Report("browsers.csv", "visit:browser", ("visitors",)),
    Report("operating_systems.csv", "visit:os", ("visitors",)),
    Report("conversions.csv", "event:goal", ("visitors", "events", "conversion_rate")),
)


def build(engine: "Engine", site: Site, date_range: Any, filters: Any) -> bytes:
    """The zip: visitors.csv (a row per day of the range), one file per panel, custom_props.csv
    (a row per declared property key and value). A refused query raises its QueryError."""
    base = {"site_id": site.site_id, "date_range": date_range, "filters": filters}
    _parse({**base, "metrics": ["visitors"]})  # a bad range or filter is named before any read
    held = io.BytesIO()
    with zipfile.ZipFile(held, "w", zipfile.ZIP_DEFLATED) as packed:
        for name, rows in files(engine, site, base):
            packed.writestr(name, _csv(rows))
    return held.getvalue()


def files(engine: "Engine", site: Site, base: dict[str, Any]) -> Iterator[tuple[str, list[list[Any]]]]:
    """(file name, rows with the header first) of every file of the zip."""
    yield "visitors.csv", series(engine, base)
    for report in REPORTS:
        answer = engine.run({**base, **_breakdown(report.dimension, report.metrics)})
        yield report.name, [["name", *report.metrics]] + [r["dimensions"] + r["metrics"] for r in answer["results"]]
    props: list[list[Any]] = [["property", "value", "visitors", "events"]]
    for key in site.props:
        answer = engine.run({**base, **_breakdown(f"event:props:{key}", ("visitors", "events"))})
        props += [[key, *r["dimensions"], *r["metrics"]] for r in answer["results"]]
    yield "custom_props.csv", props


def series(engine: "Engine", base: dict[str, Any]) -> list[list[Any]]:
    """A row per day of the range, zeros on days without traffic. Views per visit by day is no
    query Plausible's rules allow (they refuse it with a dimension); each day's visits are whole
    visits, so the engine answers it without those rules."""
    body = {**base, "metrics": list(SERIES), "dimensions": ["time:day"], "include": {"time_labels": True}}
    answer = engine.answer(_parse(body), plausible_rules=False)
    by_day = {r["dimensions"][0]: r["metrics"] for r in answer["results"]}
    zeros = [0, 0, 0, 0.0, 0.0, 0]
    return [["date", *SERIES]] + [[day, *by_day.get(day, zeros)] for day in answer["meta"]["time_labels"]]


def _breakdown(dimension: str, metrics: tuple[str, ...]) -> dict[str, Any]:
    return {"metrics": list(metrics), "dimensions": [dimension], "pagination": {"limit": _max_rows()}}


def _csv(rows: list[list[Any]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


def checked_range(text: str) -> str | list[str]:
    """A range as a query string names it: a shortcut (``7d``) or ``start,end`` (ISO dates or
    times), as the Stats API takes them."""
    value: str | list[str] = text.split(",", 1) if "," in text else text
    _parse({"site_id": "x", "metrics": ["visitors"], "date_range": value})  # raises QueryError
    return value


def _parse(body: dict[str, Any]) -> Any:
    from tally_query.parse import parse

    return parse(body)


def _max_rows() -> int:
    from tally_query.model import MAX_LIMIT

    return MAX_LIMIT
