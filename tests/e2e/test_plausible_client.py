"""A Plausible API client people already run, from PyPI and unmodified, pointed at `tally up`:
plausible-mcp (an MCP server for self-hosted Plausible: PLAUSIBLE_BASE_URL, PLAUSIBLE_API_KEY;
Plausible's Stats API v1 over urllib), started as a subprocess and driven over stdio by the
``mcp`` package's own client. What its tools report for traffic sent to Tally equals what the
engine and the oracle say for the same events. With its telemetry off (DO_NOT_TRACK=1,
MCP_TELEMETRY_OPT_OUT=1) and its update check never asked for (only the check_for_updates tool
makes it), it talks to Tally alone: a proxy on 127.0.0.1, which any other request would reach,
sees none."""

import functools
import json
import socket
import sys
import threading
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import pytest

from tests.support import oracle
from tests.support.local_up import tally
from tests.support.tally_up import Running, tally_up

pytestmark = pytest.mark.slow
SITE = "blog"
UA = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/{n}.0"
PAGES = ["/", "/", "/about", "/blog/one", "/", "/blog/two", "/about", "/"]


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    with tally_up(tmp_path_factory.mktemp("plausible")) as up:
        yield up


class Proxy:
    """A listener standing in for every host but 127.0.0.1: it counts who connects, answers nothing."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.seen: list[bytes] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(2)
                try:
                    self.seen.append(conn.recv(200))
                except OSError:
                    self.seen.append(b"")


def send(running: Running, key: str, secret: str) -> None:
    """Three visitors of several pageviews 20 s apart (the last three minutes, today), a signup,
    and a fourth visitor's single pageview (a bounce)."""
    now = datetime.now(UTC)
    step = min(timedelta(seconds=20), (now - now.replace(hour=0, minute=0, second=0)) / 20)

    def at(i: int) -> str:
        return (now - step * (len(PAGES) - i)).isoformat().replace("+00:00", "Z")

    events = [{"url": f"https://blog.example.com{page}", "ip": f"198.51.100.{20 + i % 3}", "time": at(i),
               "user_agent": UA.format(n=120 + i % 3), "referrer": "https://news.example.net/a" if i % 2 else None}
              for i, page in enumerate(PAGES)]  # fmt: skip
    events.append({"name": "signup", "url": "https://blog.example.com/about", "ip": "198.51.100.20",
                   "user_agent": UA.format(n=120)})  # fmt: skip
    events.append({"url": "https://blog.example.com/", "ip": "198.51.100.23", "user_agent": UA.format(n=123)})
    request = urllib.request.Request(
        f"{running.api}/events?key={key}", data=json.dumps({"batch": events}).encode(), method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {secret}"},
    )  # fmt: skip
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 202


async def call_tools(env: dict[str, str], calls: list[tuple[str, dict[str, Any]]]) -> list[Any]:
    from mcp.client.session import ClientSession
    from mcp.client.stdio import StdioServerParameters, stdio_client

    server = StdioServerParameters(command=str(Path(sys.executable).parent / "plausible-mcp"), env=env)
    answers = []
    with open(Path(env["HOME"]) / "server.log", "w") as errlog:
        async with stdio_client(server, errlog=errlog) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            for name, arguments in calls:
                result = await session.call_tool(name, arguments)
                text = result.content[0].text  # type: ignore[union-attr]
                answers.append(json.loads(text) if text.startswith("{") else text)
    return answers


def test_plausible_mcp_reports_what_the_engine_and_the_oracle_count(running: Running, tmp_path: Path) -> None:
    created = running.add_site(SITE)
    send(running, created.site.write_key, created.secret_key)
    stored = running.wait_stored(SITE, len(PAGES) + 2)
    token = tally(running.tmp, "tokens", "create", "mcp", "--site", SITE).stdout.splitlines()[1].split()[0]
    proxy = Proxy()
    home = tmp_path / "home"
    home.mkdir()
    env = {"PLAUSIBLE_BASE_URL": running.api, "PLAUSIBLE_API_KEY": token, "DO_NOT_TRACK": "1",
           "MCP_TELEMETRY_OPT_OUT": "1", "HOME": str(home), "HTTP_PROXY": f"http://127.0.0.1:{proxy.port}",
           "HTTPS_PROXY": f"http://127.0.0.1:{proxy.port}", "NO_PROXY": "127.0.0.1,localhost"}  # fmt: skip
    metrics = ["visitors", "visits", "pageviews", "bounce_rate", "visit_duration", "events"]
    calls: list[tuple[str, dict[str, Any]]] = [
        ("doctor", {}),
        ("get_aggregate_stats", {"site_id": SITE, "date_range": "day", "metrics": metrics}),
        ("get_breakdown", {"site_id": SITE, "property_name": "page", "date_range": "day", "limit": 3}),
        ("get_breakdown", {"site_id": SITE, "property_name": "browser", "date_range": "7d"}),
        ("get_timeseries", {"site_id": SITE, "date_range": "7d", "interval": "date"}),
        ("get_realtime_visitors", {"site_id": SITE}),
        ("get_aggregate_stats", {"site_id": "other-site", "date_range": "day"}),
    ]
    doctor, totals, pages, browsers, series, realtime, refused = anyio.run(functools.partial(call_tools, env, calls))

    assert doctor["status"] == "healthy" and doctor["sample_sites"] == [SITE], doctor
    assert refused.startswith("[ENVIRONMENT_FIXABLE") and "HTTP 403" in refused  # a read token reads its site only
    today = datetime.now(UTC).date()
    want = Expected(stored, today)
    assert totals["totals"] == dict(zip(metrics, want.rows(metrics, [])[()], strict=True)), totals
    assert totals["totals"]["pageviews"] == len(PAGES) + 1 and totals["totals"]["events"] == len(PAGES) + 2
    assert totals["totals"]["bounce_rate"] == 25.0 and totals["totals"]["visit_duration"] > 0
    by_page = want.rows(["visitors"], ["event:page"])
    top = sorted(by_page.items(), key=lambda item: (-item[1][0], item[0]))[:3]
    assert pages["results"] == [{"page": key[0], "visitors": values[0]} for key, values in top], pages
    week = want.rows(["visitors"], ["visit:browser"], days=7)
    assert {row["browser"]: row["visitors"] for row in browsers["results"]} == {k[0]: v[0] for k, v in week.items()}
    points = {point["date"]: point["visitors"] for point in series["timeseries"]}
    assert list(points) == [(today - timedelta(days=6 - n)).isoformat() for n in range(7)]
    assert points[today.isoformat()] == want.rows(["visitors"], [])[()][0] == 4 and sum(points.values()) == 4
    assert realtime["realtime_visitors"] == 4  # all within the last five minutes
    assert proxy.seen == [], proxy.seen  # no telemetry, no update check: Tally was the only host
    assert not (home / ".cache" / "mcp_fleet_updates.json").exists()


class Expected:
    """The oracle's rows for the stored events over the last ``days`` days to today (UTC)."""

    def __init__(self, stored: list[dict[str, Any]], today: Any) -> None:
        self.stored, self.today = stored, today

    def rows(self, metrics: list[str], dimensions: list[str], days: int = 1) -> dict[tuple[str, ...], list[Any]]:
        first = datetime(self.today.year, self.today.month, self.today.day, tzinfo=UTC) - timedelta(days=days - 1)
        end = first + timedelta(days=days)
        body = {"site_id": SITE, "metrics": metrics, "dimensions": dimensions}
        return oracle.query(self.stored, body, (first.timestamp(), end.timestamp()))
