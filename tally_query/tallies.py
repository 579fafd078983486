"""What a result row adds up: visitors (whole days' counts, which add up because visitor ids are
salted per UTC day, plus the ids of partial days), events, pageviews, and the visits that start
in the range with their bounces, durations and pageviews. ``finish`` turns them into metrics."""

from dataclasses import dataclass, field


@dataclass
class Tally:
    visitors: int = 0  # distinct visitors of whole UTC days, summed
    ids: set[str] = field(default_factory=set)  # visitor ids of partial days
    pageviews: int = 0
    events: int = 0
    visits: int = 0
    bounces: int = 0
    duration_ms: int = 0
    visit_pageviews: int = 0

    def add_visit(self, bounced: bool, duration_ms: int, pageviews: int) -> None:
        self.visits += 1
        self.bounces += bounced
        self.duration_ms += duration_ms
        self.visit_pageviews += pageviews

    def add_visit_row(self, values: dict[str, int]) -> None:
        self.visits += values.get("visits", 0)
        self.bounces += values.get("bounces", 0)
        self.duration_ms += values.get("duration_ms", 0)
        self.visit_pageviews += values.get("pv", 0)

    @property
    def empty(self) -> bool:
        return not (self.visitors or self.ids or self.events or self.visits)

    @property
    def visitor_count(self) -> int:
        return self.visitors + len(self.ids)


def finish(tally: Tally, metrics: tuple[str, ...], total_visitors: int | None) -> list[float | int | None]:
    """Metric values in the order asked. ``total_visitors``: the divisor of ``percentage`` and
    ``conversion_rate``."""
    visits = tally.visits
    values = {
        "visitors": tally.visitor_count,
        "pageviews": tally.pageviews,
        "events": tally.events,
        "visits": visits,
        "bounce_rate": round(100 * tally.bounces / visits, 2) if visits else 0.0,
        "visit_duration": round(tally.duration_ms / visits / 1000) if visits else 0,
        "views_per_visit": round(tally.visit_pageviews / visits, 2) if visits else 0.0,
        "percentage": _share(tally.visitor_count, total_visitors),
        "conversion_rate": _share(tally.visitor_count, total_visitors),
    }
    return [values[metric] for metric in metrics]


def _share(part: int, whole: int | None) -> float:
    return round(100 * part / whole, 2) if whole else 0.0
