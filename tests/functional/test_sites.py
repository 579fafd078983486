"""Sites: the DynamoDB store (moto, table from infra/template.yaml), the SQLite store, the
memory one, and the TTL cache."""

from pathlib import Path
from typing import Any

import pytest
from botocore.stub import Stubber

from tally_contract.errors import StoreUnavailable
from tally_contract.sites import CachedSites, MemorySites, create, hash_secret
from tally_contract.sites_dynamodb import DynamoSites
from tally_contract.sites_sqlite import SQLiteSites
from tests.support.infra import create_table


def test_dynamodb_round_trip_by_write_key(aws: None, boto: Any) -> None:
    table = create_table(boto.client("dynamodb"), "test", "SitesTable")
    store = DynamoSites(table)
    created = create("blog", origins=["https://Blog.example.com/"], ip_handling="drop", rate_limit=50)
    store.put(created.site)
    found = store.by_write_key(created.site.write_key)
    assert found == created.site
    assert found.origins == ("https://blog.example.com",)
    assert store.by_write_key("wk_unknown") is None
    item = boto.client("dynamodb").get_item(TableName=table, Key={"site_id": {"S": "blog"}})["Item"]
    assert created.secret_key not in str(item), "the secret key must never be stored in clear"
    assert item["secret_hash"]["S"] == hash_secret(created.secret_key)


@pytest.mark.parametrize("adapter", ["memory", "sqlite", "dynamodb"])
def test_every_site_store_finds_a_site_by_key_id_and_domain(adapter: str, tmp_path: Path, request: Any) -> None:
    if adapter == "dynamodb":
        request.getfixturevalue("aws")
        boto = request.getfixturevalue("boto")
        store: Any = DynamoSites(create_table(boto.client("dynamodb"), "test", "SitesTable"))
    else:
        store = SQLiteSites(tmp_path / "tally.db") if adapter == "sqlite" else MemorySites()
    shop, blog = create("shop", domain="https://www.Shop.example.com/"), create("blog")
    for created in (shop, blog):
        store.put(created.site)
    assert store.by_domain("shop.example.com") == shop.site == store.by_write_key(shop.site.write_key)
    assert store.by_domain("blog") is None and store.by_id("blog") == blog.site
    assert sorted(site.site_id for site in store.all_sites()) == store.site_ids() == ["blog", "shop"]


def test_dynamodb_errors_become_store_unavailable(boto: Any) -> None:
    client = boto.client("dynamodb")
    with Stubber(client) as stub:
        stub.add_client_error("query", "ProvisionedThroughputExceededException", http_status_code=400)
        with pytest.raises(StoreUnavailable):
            DynamoSites("t", client=client).by_write_key("wk_x")


def test_secret_comparison_and_origins() -> None:
    created = create("s", origins=["https://a.example", "https://*.example.org"])
    site = created.site
    assert site.secret_matches(created.secret_key) and not site.secret_matches("sk_other")
    assert site.allows_origin("https://a.example") and site.allows_origin("https://x.y.example.org")
    assert not site.allows_origin("https://example.org.evil.net") and not site.allows_origin("http://a.example")
    assert create("any", origins=["*"]).site.allows_origin("https://whatever.test")
    assert not create("none").site.allows_origin("https://a.example")


class CountingStore(MemorySites):
    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.lookups = 0

    def by_write_key(self, write_key: str) -> Any:
        self.lookups += 1
        return super().by_write_key(write_key)


def test_cache_ttl_negative_ttl_and_bound() -> None:
    site = create("s").site
    store = CountingStore([site])
    now = [0.0]
    cache = CachedSites(store, ttl=60, negative_ttl=10, max_entries=3, clock=lambda: now[0])
    assert cache.by_write_key(site.write_key) == site
    assert cache.by_write_key(site.write_key) == site
    assert cache.by_write_key("wk_bad") is None and cache.by_write_key("wk_bad") is None
    assert store.lookups == 2
    now[0] = 11  # the negative entry expired, the positive one has not
    cache.by_write_key("wk_bad")
    cache.by_write_key(site.write_key)
    assert store.lookups == 3
    for i in range(10):
        cache.by_write_key(f"wk_{i}")
    assert len(cache._entries) == 3
