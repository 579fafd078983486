"""The analytics SDKs people already run, from PyPI and unmodified, pointed at `tally up`:
Segment's and RudderStack's (the HTTP Tracking API, /v1/batch) and PostHog's (/batch/). Each
sends a burst its consumer thread splits into several requests; what Tally then counts (names,
pages, visitors, from the aggregates and the rollup's recompute) is exactly what was sent."""

import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.tally_up import Running, tally_up

pytestmark = pytest.mark.slow
UA = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/{n}.0"
BURST = 230  # upload_size 100: at least three requests


@pytest.fixture(scope="module")
def tally(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    with tally_up(tmp_path_factory.mktemp("sdks")) as running:
        yield running


class Errors:
    """The SDKs' on_error callbacks: any call is a failed upload."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.lock = threading.Lock()

    def __call__(self, error: Any, *args: Any) -> None:
        with self.lock:
            self.seen.append(repr(error))


def visitor(i: int) -> dict[str, str]:
    """Five server-side visitors: the server sender tells Tally each one's address and browser."""
    return {"ip": f"198.51.100.{10 + i % 5}", "userAgent": UA.format(n=120 + i % 5)}


def segment_burst(client: Any, site: str) -> tuple[Counter[str], Counter[str]]:
    """BURST messages of every call type; returns (events by name, pageviews by path) expected."""
    names: Counter[str] = Counter()
    pages: Counter[str] = Counter()
    for i in range(BURST):
        context = {**visitor(i), "page": {"url": f"https://{site}.example.com/p{i % 4}?token=secret"}}
        user = f"user-{i % 5}"
        if i % 5 == 0:
            client.page(user_id=user, name="Pricing", context=context, properties={"title": "Pricing"})
            names["pageview"] += 1
            pages[f"/p{i % 4}"] += 1
        elif i % 23 == 1:
            client.identify(user_id=user, traits={"email": "x@example.com"}, context=visitor(i))
            names["identify"] += 1
        elif i % 29 == 2:
            client.group(user_id=user, group_id="acme", context=visitor(i))
            names["group"] += 1
        elif i % 31 == 3:
            client.alias(previous_id=f"anon-{i}", user_id=user, context=visitor(i))
            names["alias"] += 1
        elif i % 37 == 4:
            client.screen(user_id=user, name="Home", context=visitor(i))
            names["screen"] += 1
        else:
            client.track(user_id=user, event="signup", properties={"plan": "pro", "seats": i}, context=context)
            names["signup"] += 1
    return names, pages


def check(tally: Running, site: str, names: Counter[str], pages: Counter[str], visitors: int) -> list[dict[str, Any]]:
    events = tally.wait_stored(site, sum(names.values()))
    counts = tally.counts(site)
    assert counts.names == dict(names)
    assert counts.pages == dict(pages)
    assert counts.visitors == visitors
    return events


def test_segment_sdk_burst_is_split_and_counted_exactly(tally: Running) -> None:
    from segment.analytics import Client

    created = tally.add_site("seg")
    errors = Errors()
    # A server sender: the SDK's one key string carries the write key and the secret key.
    client = Client(f"{created.site.write_key}:{created.secret_key}", host=tally.api, on_error=errors,
                    upload_size=100, gzip=True, max_retries=2)  # fmt: skip
    names, pages = segment_burst(client, "seg")
    client.flush()
    client.shutdown()
    assert errors.seen == []
    events = check(tally, "seg", names, pages, visitors=5)
    assert len({e["correlation_id"] for e in events}) >= 3, "the SDK sent one request: no split burst"
    signup = next(e for e in events if e["name"] == "signup")
    assert signup["url"].endswith("?") is False and "token=" not in signup["url"]  # not on the allowlist
    assert signup["user_id"].startswith("user-") and signup["ip"].endswith(".0")  # truncated before queueing
    assert signup["properties"]["plan"] == "pro" and signup["browser"] == "Firefox"
    assert not any("email" in str(e["properties"]) for e in events), "identify traits are not stored"


def test_rudderstack_sdk_sends_to_the_same_api(tally: Running) -> None:
    from rudderstack.analytics import Client

    created = tally.add_site("rudder", visitors="user")
    errors = Errors()
    client = Client(
        f"{created.site.write_key}:{created.secret_key}",
        host=tally.api,
        on_error=errors,
        upload_size=100,
        max_retries=2,
    )  # fmt: skip  (gzip on: the SDK's default)
    names, pages = segment_burst(client, "rudder")
    client.flush()
    client.shutdown()
    assert errors.seen == []
    # This site counts visitors by user id: five users, whatever their devices.
    events = check(tally, "rudder", names, pages, visitors=5)
    assert len({e["correlation_id"] for e in events}) >= 3


def test_a_write_key_alone_cannot_set_the_visitors_address(tally: Running) -> None:
    from segment.analytics import Client

    created = tally.add_site("browserish")
    errors = Errors()
    client = Client(created.site.write_key, host=tally.api, on_error=errors, sync_mode=True)
    client.track(user_id="u", event="signup", context={"ip": "192.0.2.77", "userAgent": "Forged/1.0"})
    assert errors.seen == []
    (event,) = tally.wait_stored("browserish", 1)
    assert event["ip"] == "127.0.0.0" and event["user_agent"].startswith("analytics-python/")


def test_posthog_sdk_burst_is_split_and_counted_exactly(tally: Running) -> None:
    from posthog import Posthog

    created = tally.add_site("ph")
    errors = Errors()
    client = Posthog(f"{created.site.write_key}:{created.secret_key}", host=tally.api, on_error=errors,
                     flush_at=100, gzip=True, max_retries=2)  # fmt: skip
    names: Counter[str] = Counter()
    pages: Counter[str] = Counter()
    for i in range(BURST):
        who = visitor(i)
        props = {"$current_url": f"https://ph.example.com/a{i % 3}?utm_source=news&email=x@example.com",
                 "$ip": who["ip"], "$raw_user_agent": who["userAgent"],
                 "plan": "pro", "cart": {"items": i}}  # fmt: skip
        if i % 4 == 0:
            client.capture("$pageview", distinct_id=f"user-{i % 5}", properties=props)
            names["pageview"] += 1
            pages[f"/a{i % 3}"] += 1
        elif i % 41 == 1:
            client.capture("$identify", distinct_id=f"user-{i % 5}", properties={**props, "$anon_distinct_id": "a"})
            names["identify"] += 1
        else:
            client.capture("purchase", distinct_id=f"user-{i % 5}", properties=props)
            names["purchase"] += 1
    client.flush()
    client.shutdown()
    assert errors.seen == []
    events = check(tally, "ph", names, pages, visitors=5)
    assert len({e["correlation_id"] for e in events}) >= 3
    purchase = next(e for e in events if e["name"] == "purchase")
    assert purchase["url"].endswith("?utm_source=news") and purchase["utm_source"] == "news"
    assert purchase["properties"] == {"plan": "pro", "cart.items": purchase["properties"]["cart.items"]}
    assert purchase["user_id"].startswith("user-")


def test_sdk_errors_name_the_field(tally: Running) -> None:
    """An unknown key: the SDK reads the 401's code and message (and does not retry a 4xx)."""
    from segment.analytics import Client
    from segment.analytics.request import APIError

    client = Client("wk_nobody", host=tally.api, sync_mode=True, max_retries=0)
    with pytest.raises(APIError) as refused:
        client.track(user_id="u", event="signup")
    assert (refused.value.status, refused.value.code) == (401, "unauthorized")
    assert refused.value.message == "unknown write key" and refused.value.response.json()["field"] == "writeKey"
