"""Browser, OS, device class and bot flag from a User-Agent header.

ua-parser (uap-core's regexes, from ua-parser-builtins) names the browser, OS and device;
CrawlerDetect's list catches the crawlers, HTTP libraries and headless browsers ua-parser
leaves unnamed. A processor batch repeats a few dozen user agents thousands of times, so
results are kept in an LRU cache keyed by the header: a repeat costs one dict lookup.

The regexes run on ua-parser-rs (Rust, a manylinux2014 wheel for x86_64 and arm64): a miss
costs ~70 us instead of ~700 us with Python's re, which matters on a cold Lambda or a day of
many new browser builds. Both engines run the same regexes, so the pure-Python resolver is the
fallback where the wheel is missing (tests/unit/test_enrich.py checks they agree).
"""

import re
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from ua_parser import Device, Resolver

CACHE_SIZE = 4096
# The ingest cuts headers to 512 characters; producers' events are not cut. Parsing cost
# grows with length and the interesting tokens come first.
MAX_LENGTH = 1024

# Families ua-parser splits by platform, merged because the device field already says it.
_BROWSER_NAMES = {
    "Chrome Mobile": "Chrome",
    "Chrome Mobile iOS": "Chrome",
    "Chrome Mobile WebView": "Android WebView",
    "Mobile Safari": "Safari",
    "Mobile Safari UI/WKWebView": "Safari",
    "Firefox Mobile": "Firefox",
    "Firefox iOS": "Firefox",
    "Edge Mobile": "Edge",
    "Opera Mobile": "Opera",
}
_OS_NAMES = {"Mac OS X": "macOS"}
_DESKTOP_OS = frozenset(
    {"Windows", "Mac OS X", "Linux", "Chrome OS", "Ubuntu", "Fedora", "Debian", "FreeBSD", "OpenBSD", "NetBSD"}
    | {"Solaris", "Red Hat", "SUSE", "Gentoo", "Kubuntu", "Arch Linux", "Mint", "Mandriva", "Slackware"}
)
_MOBILE_OS = frozenset({"iOS", "Windows Phone", "BlackBerry OS", "KaiOS", "Symbian OS", "Firefox OS"})
_TABLETS = frozenset({"iPad", "Kindle", "Kindle Fire", "Galaxy Tab", "Xoom", "BlackBerry Playbook"})
# TVs, streaming sticks and consoles: their headers often claim Android "Mobile" or Windows.
_NOT_PERSONAL = re.compile(r"TV|CrKey|PlayStation|Xbox|Nintendo|\bAFT[A-Z]")


class Agent(NamedTuple):
    browser: str | None
    browser_version: str | None  # major version only: minor versions split every chart
    os: str | None
    device: str | None  # desktop, mobile, tablet, bot, other
    bot: bool
    os_version: str | None = None  # major version only, as for the browser

    def as_fields(self) -> dict[str, Any]:
        return self._asdict()


NO_AGENT = Agent(None, None, None, None, False)


def parse(user_agent: object) -> Agent:
    """No header at all is not taken for a bot: server-side events often carry none, and
    flagging them would keep them out of every count."""
    if not isinstance(user_agent, str) or not user_agent.strip():
        return NO_AGENT
    return _parse_cached(user_agent[:MAX_LENGTH])


@lru_cache(maxsize=CACHE_SIZE)
def _parse_cached(user_agent: str) -> Agent:
    from ua_parser import Domain

    result = _resolver()(user_agent, Domain.ALL).complete().with_defaults()
    bot = result.device.family == "Spider" or _is_crawler(user_agent)
    return Agent(
        browser=_known(_BROWSER_NAMES.get(result.user_agent.family, result.user_agent.family)),
        browser_version=result.user_agent.major,
        os=_known(_OS_NAMES.get(result.os.family, result.os.family)),
        device="bot" if bot else _device_class(user_agent, result.os.family, result.device),
        bot=bot,
        os_version=result.os.major if _known(result.os.family) else None,
    )


def _known(family: str) -> str | None:
    return None if family == "Other" else family


def _device_class(user_agent: str, os_family: str, device: "Device") -> str:
    if _NOT_PERSONAL.search(user_agent):
        return "other"
    if device.family in _TABLETS or device.brand == "Generic_Android_Tablet":
        return "tablet"
    if device.family in ("iPhone", "iPod") or os_family in _MOBILE_OS:
        return "mobile"
    if os_family == "Android":
        # Android's own rule: phones say "Mobile", tablets leave it out.
        return "mobile" if "Mobile" in user_agent else "tablet"
    if "Mobi" in user_agent:  # the token MDN recommends for "a phone of any kind"
        return "mobile"
    return "desktop" if os_family in _DESKTOP_OS else "other"


def _is_crawler(user_agent: str) -> bool:
    return bool(_crawler_detect().is_crawler(user_agent))


# Built on first use, not at import: the rollup Lambda imports this package but parses no
# user agent, and loading both sets of regexes costs ~150 ms.
@cache
def _resolver() -> "Resolver":
    from ua_parser import BasicResolver, load_builtins, load_lazy_builtins

    try:
        from ua_parser.regex import Resolver as RustResolver
    except ImportError:
        return BasicResolver(load_builtins())
    # Lazy builtins: the Rust engine builds its own regex sets, so compiling every pattern
    # with Python's re first would be wasted.
    return RustResolver(load_lazy_builtins())


@cache
def _crawler_detect() -> Any:
    from crawlerdetect import CrawlerDetect  # type: ignore[import-untyped]  # ships no type hints

    return CrawlerDetect()
