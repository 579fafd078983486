"""What the dashboard page must show, from the oracle (tests/support/oracle.py): the headline
numbers and their change, the chart's data table and every panel, formatted as the page's
scripts format them (dashboard/static/headline.js, chart.js, panels.js), and what it shows,
read from the page in one script."""

import math
from collections.abc import Sequence
from typing import Any

from tests.support import oracle

HEADLINE = ["visitors", "visits", "pageviews", "views_per_visit", "bounce_rate", "visit_duration"]
CHART = ["visitors", "visits", "pageviews", "bounce_rate", "visit_duration"]
# The page's panels: id -> dimension, metrics (panels.js).
PANELS = {
    "pages": "event:page", "entry": "visit:entry_page", "exit": "visit:exit_page", "sources": "visit:source",
    "utm_source": "visit:utm_source", "utm_medium": "visit:utm_medium", "utm_campaign": "visit:utm_campaign",
    "countries": "visit:country", "devices": "visit:device", "browsers": "visit:browser", "os": "visit:os",
    "goals": "event:goal", "props": "event:props:",
}  # fmt: skip
PANEL_METRICS = {"goals": ["visitors", "events", "conversion_rate"], "props": ["visitors", "events"]}
LIMIT = 10
Span = tuple[float, float]


def js_number(value: float) -> str:
    """String(value) in JavaScript, for the numbers the API sends (ints and 2-decimal floats)."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def js_round(value: float) -> int:
    return math.floor(value + 0.5)  # Math.round: halves up


def shown(metric: str, value: float) -> str:
    if metric in ("bounce_rate", "conversion_rate"):
        return js_number(value) + "%"
    if metric == "visit_duration":
        seconds = int(value)
        return f"{seconds}s" if seconds < 60 else f"{seconds // 60}m {seconds % 60}s"
    return js_number(value)


def change(metric: str, now: float, before: float, visits_before: int) -> str:
    if visits_before == 0:
        return "0%" if now == 0 else "new"
    if metric == "bounce_rate":
        return _signed(js_round(now - before)) + " pts"
    if before == 0:
        return "0%" if now == 0 else "new"
    return _signed(js_round(100 * (now - before) / before)) + "%"


def _signed(n: int) -> str:
    return f"+{n}" if n > 0 else str(n)


class Expected:
    """The oracle over the stored copies, for one view: range, previous range, filters."""

    def __init__(self, copies: Sequence[dict[str, Any]], zone: str, goals: tuple[str, ...], prop: str) -> None:
        self.copies, self.zone, self.goals, self.prop = copies, zone, goals, prop

    def rows(self, span: Span, metrics: list[str], dimensions: list[str], filters: list[Any]) -> dict[Any, Any]:
        body = {"metrics": metrics, "dimensions": dimensions, "filters": filters}
        return oracle.query(self.copies, body, span, self.zone, self.goals)

    def headline(self, span: Span, previous: Span, filters: list[Any]) -> dict[str, dict[str, str]]:
        page = any(f[1] == "event:page" for f in filters)
        metrics = [m for m in HEADLINE if not (page and m == "views_per_visit")]
        now = self.rows(span, metrics, [], filters).get((), [0] * len(metrics))
        before = self.rows(previous, metrics, [], filters).get((), [0] * len(metrics))
        stats = {m: "-" for m in HEADLINE}
        changes = {m: "" for m in HEADLINE}
        for index, metric in enumerate(metrics):
            stats[metric] = shown(metric, now[index])
            changes[metric] = change(metric, now[index], before[index], before[metrics.index("visits")])
        return {"stats": stats, "changes": changes}

    def chart(self, span: Span, interval: str, labels: list[str], filters: list[Any]) -> list[list[str]]:
        by = self.rows(span, CHART, [f"time:{interval}"], filters)
        return [[label] + [shown(m, v) for m, v in zip(CHART, by.get((label,), [0] * len(CHART)), strict=True)]
                for label in labels]  # fmt: skip

    def panels(self, span: Span, filters: list[Any]) -> dict[str, dict[str, Any]]:
        out = {}
        for panel, dimension in PANELS.items():
            metrics = PANEL_METRICS.get(panel, ["visitors"])
            found = self.rows(span, metrics, [dimension + self.prop if panel == "props" else dimension], filters)
            ordered = sorted(found.items(), key=lambda item: (-item[1][0], list(item[0])))
            rows = [[key[0]] + [shown(m, v) for m, v in zip(metrics, values, strict=True)]
                    for key, values in ordered[:LIMIT]]  # fmt: skip
            note = f"{len(rows)} of {len(ordered)}" if len(ordered) > len(rows) else ""
            out[panel] = {"rows": rows or [["nothing yet"]], "note": note}
        return out


READ = """
function cells(selector) {
  return Array.from(document.querySelectorAll(selector + " tr"), function (row) {
    return Array.from(row.querySelectorAll("td"), function (c) { return c.textContent; });
  }).filter(function (r) { return r.length; });
}
var out = {stats: {}, changes: {}, panels: {}, chart: cells("#chart-data"),
           live: document.getElementById("current-visitors").textContent,
           range: document.getElementById("range-shown").textContent, url: location.search};
arguments[0].forEach(function (m) {
  out.stats[m] = document.getElementById("stat-" + m).textContent;
  out.changes[m] = document.getElementById("change-" + m).textContent;
});
arguments[1].forEach(function (p) {
  out.panels[p] = {rows: cells("#rows-" + p), note: document.getElementById("note-" + p).textContent};
});
return out;
"""


def read(driver: Any) -> dict[str, Any]:
    """Everything the page shows, in one script (the page may redraw between two reads)."""
    found: dict[str, Any] = driver.execute_script(READ, HEADLINE, list(PANELS))
    return found
