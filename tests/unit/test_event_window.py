"""Issue 18, backdating: a browser (write key only) may date an event at most the site's
``max_event_age_hours`` back (48 by default) and not ahead beyond the clock-skew allowance; a
server sender (secret key) may import history within the site's retention. Older is a 422
naming ``time`` and saying the bound."""

from typing import Any

import pytest

from tally_contract import event as event_model
from tally_contract.sites import Site
from tally_contract.sites_dynamodb import from_item, to_item
from tally_contract.timeutil import format_iso
from tests.support.ingest_harness import NOW, Ingest, make_ingest

DAY = 86400
EVENT = {"url": "https://shop.example.com/pricing"}


def server(ingest: Ingest) -> dict[str, str | None]:
    return {"Origin": None, "Authorization": f"Bearer {ingest.secret}"}


def test_a_hundred_past_days_with_the_write_key_are_refused_naming_time_and_the_bound(ingest: Ingest) -> None:
    # The audit's request: 100 events on 100 past days, once accepted whole (202).
    batch = [{**EVENT, "time": format_iso(NOW - (day + 3) * DAY)} for day in range(100)]
    response = ingest.post({"batch": batch})
    assert response.status == 422, response.body
    rejected = response.json()["rejected"]
    assert [r["index"] for r in rejected] == list(range(100))
    assert {r["field"] for r in rejected} == {"time"}
    bound = format_iso(NOW - 48 * 3600)
    assert rejected[0]["message"] == f"is before {bound}: this sender may date events at most 48 hours back"
    assert ingest.jobs() == []


def test_events_from_1970_are_refused(ingest: Ingest) -> None:
    for time in (0, "1970-01-01T00:00:00Z", 86400 * 365):
        response = ingest.post({**EVENT, "time": time})
        assert response.status == 422 and response.json()["field"] == "time", (time, response.body)


def test_late_events_inside_the_window_are_kept_as_dated(ingest: Ingest) -> None:
    late = NOW - 47 * 3600
    assert ingest.post({**EVENT, "time": late}).status == 202
    assert ingest.events()[0]["event_time"] == format_iso(late)


def test_a_wrong_client_clock_is_corrected_before_the_window_is_applied(ingest: Ingest) -> None:
    # A device whose clock is a year behind: time and sent_at agree, so the event is 10 s old.
    behind = NOW - 365 * DAY
    assert ingest.post({**EVENT, "time": behind - 10, "sent_at": behind}).status == 202
    assert ingest.events()[0]["event_time"] == format_iso(NOW - 10)
    # sent_at far ahead of time still dates the event long ago: refused.
    response = ingest.post({**EVENT, "time": NOW, "sent_at": NOW + 30 * DAY})
    assert response.status == 422 and response.json()["field"] == "time"


def test_the_future_is_refused_beyond_the_clock_skew_allowance(ingest: Ingest) -> None:
    response = ingest.post({**EVENT, "time": NOW + 86400 * 365})
    assert response.status == 422 and response.json()["field"] == "time"
    assert "after the event was received" in response.json()["message"]
    response = ingest.post({**EVENT, "time": NOW + event_model.FUTURE_SKEW_SECONDS + 1}, headers=server(ingest))
    assert response.status == 422 and response.json()["field"] == "time"
    assert ingest.post({**EVENT, "time": NOW + event_model.FUTURE_SKEW_SECONDS - 1}).status == 202
    assert ingest.events()[0]["event_time"] == format_iso(NOW)  # clamped to the receipt


def test_a_server_sender_may_import_history_within_the_retention(ingest: Ingest) -> None:
    retention = ingest.site.retention_days
    old = NOW - (retention - 1) * DAY
    assert ingest.post({**EVENT, "time": old}, headers=server(ingest)).status == 202
    assert ingest.events()[0]["event_time"] == format_iso(old)
    response = ingest.post({**EVENT, "time": NOW - (retention + 1) * DAY}, headers=server(ingest))
    assert response.status == 422 and response.json()["field"] == "time"
    assert f"at most {retention * 24} hours back" in response.json()["message"]
    # The same old time with the write key alone: refused.
    assert ingest.post({**EVENT, "time": old}).status == 422


@pytest.mark.parametrize(("hours", "accepted"), [(0, False), (1, False), (6, True)])
def test_the_window_is_the_sites_setting(hours: int, accepted: bool) -> None:
    harness = make_ingest(max_event_age_hours=hours)
    response = harness.post({**EVENT, "time": NOW - 2 * 3600})
    assert (response.status == 202) is accepted, response.body
    assert harness.post({**EVENT, "time": NOW - 60}).status == (202 if hours else 422)


def test_the_setting_is_stored_with_the_site_and_defaults_for_old_items() -> None:
    site = Site("shop", "wk_x", "hash", max_event_age_hours=12)
    assert from_item(to_item(site)) == site
    item: dict[str, Any] = to_item(Site("shop", "wk_x", "hash"))
    del item["max_event_age_hours"]  # a site stored before the setting existed
    assert from_item(item).max_event_age_hours == 48
    assert Site("s", "w", "h").max_event_age_seconds(False) == 48 * 3600
    assert Site("s", "w", "h", retention_days=30).max_event_age_seconds(True) == 30 * DAY
