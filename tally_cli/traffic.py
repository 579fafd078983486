"""Synthetic but realistic traffic: weighted page paths, referrers, browsers and bots, visitor
IPs, a few custom events; and a sender that posts it in batches over plain HTTP."""

import json
import random
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from tally_contract.errors import TallyError

SITE = "https://shop.example.com"
PAGES = [("/", 30), ("/pricing", 15), ("/products", 12), ("/products/widget", 8), ("/blog", 6),
         ("/blog/launch", 5), ("/docs", 7), ("/docs/install", 4), ("/signup", 5), ("/about", 3)]  # fmt: skip
REFERRERS = [("", 40), ("https://www.google.com/", 25), ("https://news.ycombinator.com/", 8),
             ("https://duckduckgo.com/", 6), ("https://t.co/abc", 5), ("https://www.bing.com/search?q=widget", 4),
             ("https://newsletter.example.net/issue/42", 7), ("https://github.com/", 5)]  # fmt: skip
HUMAN_AGENTS = [
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/131.0.0.0 Safari/537.36", 35),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/18.1 Safari/605.1.15", 15),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/18.1 Mobile/15E148 Safari/604.1", 18),
    ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/131.0.0.0 Mobile Safari/537.36", 12),
    ("Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0", 8),
]  # fmt: skip
# What the processor's bot detection (processor_lambda/useragent.py) flags: counted only in a
# bucket's bot total. tests/unit/test_traffic.py checks both lists against it.
BOT_AGENTS = [
    ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", 5),
    ("Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)", 3),
    ("curl/8.5.0", 2),
    ("python-requests/2.32.3", 2),
]  # fmt: skip
USER_AGENTS = HUMAN_AGENTS + BOT_AGENTS
BOTS = frozenset(agent for agent, _ in BOT_AGENTS)
# The request's own header: the user agent of every event sent without the secret key.
SENDER_AGENT = "tally-send/0.1"
UTM = [None] * 8 + [{"utm_source": "newsletter", "utm_medium": "email", "utm_campaign": "launch"}]
CUSTOM = [("signup", {"plan": "pro"}), ("signup", {"plan": "free"}), ("add_to_cart", {"sku": "W-1", "qty": 2})]


def _pick(rng: random.Random, weighted: list[tuple[str, int]]) -> str:
    values = [value for value, _ in weighted]
    return rng.choices(values, [weight for _, weight in weighted])[0]


class Traffic:
    """Events for a pool of visitors (an IP and a browser each), so unique visitors are fewer
    than views. ``with_identity``: include ``ip`` and ``user_agent`` (needs the secret key)."""

    def __init__(self, rng: random.Random, *, visitors: int = 200, with_identity: bool = True) -> None:
        self.rng = rng
        self.with_identity = with_identity
        self.visitors = [(self._ip(), _pick(rng, USER_AGENTS)) for _ in range(max(1, visitors))]

    def _ip(self) -> str:
        if self.rng.random() < 0.1:
            return f"2001:db8:{self.rng.randrange(0x10000):x}::{self.rng.randrange(1, 0x10000):x}"
        net = self.rng.choice(["192.0.2", "198.51.100", "203.0.113"])  # documentation ranges
        return f"{net}.{self.rng.randrange(1, 255)}"

    def event(self) -> dict[str, Any]:
        ip, user_agent = self.rng.choice(self.visitors)
        path = _pick(self.rng, PAGES)
        utm = self.rng.choice(UTM)
        query = "?" + "&".join(f"{k}={quote(v)}" for k, v in utm.items()) if utm else ""
        event: dict[str, Any] = {"url": SITE + path + query}
        referrer = _pick(self.rng, REFERRERS)
        if referrer:
            event["referrer"] = referrer
        if self.rng.random() < 0.08:
            name, properties = self.rng.choice(CUSTOM)
            event.update(name=name, properties=properties)
        if self.with_identity:
            event.update(ip=ip, user_agent=user_agent)
        return event

    def is_bot(self, event: dict[str, Any]) -> bool:
        """Whether the processor will count ``event`` as a bot (by the user agent it ends with)."""
        return event.get("user_agent", SENDER_AGENT) in BOTS


@dataclass
class Summary:
    sent: int = 0
    accepted: int = 0
    requests: int = 0
    rejected: Counter[str] = field(default_factory=Counter)  # reason -> events
    seconds: float = 0.0
    # What the aggregates will count, of the accepted events: bots in the bot total only,
    # everyone else by event name (views are the pageviews).
    names: Counter[str] = field(default_factory=Counter)
    bots: int = 0

    def accept(self, event: dict[str, Any], bot: bool) -> None:
        if bot:
            self.bots += 1
        else:
            self.names[event.get("name") or "pageview"] += 1

    @property
    def rejected_total(self) -> int:
        return sum(self.rejected.values())


class SendError(TallyError):
    """The endpoint could not be reached at all."""


class Sender:
    def __init__(self, api_url: str, write_key: str, secret_key: str | None, *, timeout: float = 10.0) -> None:
        self.url = f"{api_url.rstrip('/')}/events?key={quote(write_key)}"
        self.headers = {"Content-Type": "application/json", "User-Agent": SENDER_AGENT}
        if secret_key:
            self.headers["Authorization"] = f"Bearer {secret_key}"
        self.timeout = timeout

    def send(self, events: list[dict[str, Any]], summary: Summary, bot: Callable[[dict[str, Any]], bool]) -> None:
        body = json.dumps({"batch": events}).encode()
        request = urllib.request.Request(self.url, data=body, headers=self.headers, method="POST")  # noqa: S310
        summary.sent += len(events)
        summary.requests += 1
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 - http(s) only, checked
                status, payload = response.status, response.read()
        except urllib.error.HTTPError as exc:
            status, payload = exc.code, exc.read()
        except (urllib.error.URLError, OSError) as exc:
            raise SendError(f"cannot reach {self.url.split('?')[0]}: {getattr(exc, 'reason', exc)}") from None
        for index in self._count(status, payload, len(events), summary):
            summary.accept(events[index], bot(events[index]))

    @staticmethod
    def _count(status: int, payload: bytes, size: int, summary: Summary) -> list[int]:
        """Count the answer into ``summary``; return the indexes of the accepted events."""
        try:
            answer = json.loads(payload)
        except ValueError:
            answer = {}
        if not isinstance(answer, dict):
            answer = {}
        if status in (202, 207):
            summary.accepted += int(answer.get("accepted", 0))
            refused = set()
            for item in answer.get("rejected") or []:
                summary.rejected[str(item.get("error", "rejected"))] += 1
                refused.add(item.get("index"))
            return [index for index in range(size) if index not in refused]
        summary.rejected[f"{status} {answer.get('error', '')}".strip()] += size
        return []


def pace(rate: float, started: float, sent: int) -> None:
    """Sleep until ``sent`` events are due at ``rate`` per second (0: no pacing)."""
    if rate > 0:
        delay = started + sent / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
