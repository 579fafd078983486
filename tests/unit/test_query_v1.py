"""Plausible's v1 filter syntax as v2 filters, and v1's comparison arithmetic (tally_query/v1.py)."""

from typing import Any

import pytest
import regex

from tally_query import v1
from tally_query.errors import QueryError


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("event:page==/pricing", [["is", "event:page", ["/pricing"]]]),
        ("visit:country==US|DE", [["is", "visit:country", ["US", "DE"]]]),
        ("visit:device != Desktop", [["is_not", "visit:device", ["Desktop"]]]),
        ("event:props:plan==a\\|b|c", [["is", "event:props:plan", ["a|b", "c"]]]),
        ("event:page==/blog/**;visit:source==news",
         [["matches", "event:page", ["^/blog/.*$"]], ["is", "visit:source", ["news"]]]),
        ("event:page!=/a/*|/b", [["matches_not", "event:page", ["^/a/[^/]*$", "^/b$"]]]),
        ("event:page==/a.b(c)*", [["matches", "event:page", ["^/a\\.b\\(c\\)[^/]*$"]]]),
    ],
)  # fmt: skip
def test_v1_filters_become_v2_filters(text: str, want: list[Any]) -> None:
    assert v1.filters(text) == want


@pytest.mark.parametrize(
    ("glob", "hits", "misses"),
    [("/blog/**", ["/blog/", "/blog/a/b"], ["/blog", "/blogs/a", "x/blog/a"]),
     ("/blog/*", ["/blog/a", "/blog/"], ["/blog/a/b"]),
     ("**.html", ["/a/b.html"], ["/a/bxhtml", "/a.html/x"])],
)  # fmt: skip
def test_wildcards_match_as_plausible_documents(glob: str, hits: list[str], misses: list[str]) -> None:
    (_, _, [pattern]) = v1.filters(f"event:page=={glob}")[0]
    assert all(regex.search(pattern, path) for path in hits)
    assert not any(regex.search(pattern, path) for path in misses)


@pytest.mark.parametrize("text", ["event:page=/x", "page==/x", "event:page", "==x", "event:page==/x;", "x" * 5000])
def test_a_filter_v1_cannot_read_is_an_error_naming_filters(text: str) -> None:
    with pytest.raises(QueryError) as raised:
        v1.filters(text)
    assert raised.value.field == "filters"


def test_changes_are_percent_rounded_and_bounce_rate_in_points() -> None:
    assert v1._change("visitors", 4, 5) == 25 and v1._change("visitors", 3, 1) == -67
    assert v1._change("visitors", 0, 5) == 100 and v1._change("visitors", 0, 0) == 0
    assert v1._change("bounce_rate", 40.0, 52.5) == 12.5
    assert v1._previous(["2026-11-01", "2026-11-30"]) == ["2026-10-02", "2026-10-31"]
