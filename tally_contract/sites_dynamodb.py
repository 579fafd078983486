"""The sites table in DynamoDB: one item per site, found by write key or by domain through GSIs.

The table definition lives in infra/ (and tests create it from there); this module only
maps items; the AWS edge (aws.call) turns botocore's errors into StoreUnavailable.
"""

from typing import Any

from . import aws
from .errors import StoreUnavailable
from .privacy import DEFAULT_QUERY_PARAMS, VISITORS_BY_DEVICE
from .sites import Site

WRITE_KEY_INDEX = "by_write_key"
DOMAIN_INDEX = "by_domain"  # sparse: only sites with a domain are in it
MAX_SITES = 200


class DynamoSites:
    def __init__(self, table: str, *, client: Any = None) -> None:
        self.table = table
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = aws.client("dynamodb")
        return self._client

    def by_write_key(self, write_key: str) -> Site | None:
        return self._one(WRITE_KEY_INDEX, "write_key", write_key)

    def by_domain(self, domain: str) -> Site | None:
        return self._one(DOMAIN_INDEX, "domain", domain)

    def _one(self, index: str, attribute: str, value: str) -> Site | None:
        response = self._call(
            "query",
            TableName=self.table,
            IndexName=index,
            KeyConditionExpression=f"{attribute} = :k",
            ExpressionAttributeValues={":k": {"S": value}},
            Limit=1,
        )
        items = response.get("Items", [])
        return from_item(items[0]) if items else None

    def by_id(self, site_id: str) -> Site | None:
        response = self._call("get_item", TableName=self.table, Key={"site_id": {"S": site_id}})
        return from_item(response["Item"]) if "Item" in response else None

    def put(self, site: Site) -> None:
        self._call("put_item", TableName=self.table, Item=to_item(site))

    def site_ids(self) -> list[str]:
        """The sites for the dashboard's picker: one Scan page of the (small) table, ids only."""
        response = self._call("scan", TableName=self.table, ProjectionExpression="site_id", Limit=MAX_SITES)
        return sorted(item["site_id"]["S"] for item in response.get("Items", []))

    def all_sites(self) -> list[Site]:
        """Every site's settings (one Scan page), for the DLQ panel to show dead letters as each
        site would store them."""
        response = self._call("scan", TableName=self.table, Limit=MAX_SITES)
        return [from_item(item) for item in response.get("Items", [])]

    def _call(self, operation: str, **params: Any) -> Any:
        return aws.call(self.client, operation, error=StoreUnavailable, **params)


def to_item(site: Site) -> dict[str, Any]:
    item: dict[str, Any] = {
        "site_id": {"S": site.site_id},
        "write_key": {"S": site.write_key},
        "secret_hash": {"S": site.secret_hash},
        "respect_dnt": {"BOOL": site.respect_dnt},
        "ip_handling": {"S": site.ip_handling},
        "retention_days": {"N": str(site.retention_days)},
        "rate_limit": {"N": str(site.rate_limit)},
        "max_event_age_hours": {"N": str(site.max_event_age_hours)},
        "timezone": {"S": site.timezone},
        "origins": {"L": [{"S": origin} for origin in site.origins]},
        "visitors": {"S": site.visitors},
        "goals": {"L": [{"S": goal} for goal in site.goals]},
        "props": {"L": [{"S": key} for key in site.props]},
    }
    if site.domain:
        item["domain"] = {"S": site.domain}
    if site.query_params != DEFAULT_QUERY_PARAMS:  # absent: the defaults, as they are then
        item["query_params"] = {"L": [{"S": name} for name in site.query_params]}
    return item


def from_item(item: dict[str, Any]) -> Site:
    return Site(
        site_id=item["site_id"]["S"],
        write_key=item["write_key"]["S"],
        secret_hash=item["secret_hash"]["S"],
        origins=tuple(entry["S"] for entry in item.get("origins", {}).get("L", [])),
        respect_dnt=item.get("respect_dnt", {}).get("BOOL", False),
        ip_handling=item.get("ip_handling", {}).get("S", "truncate"),
        retention_days=int(item.get("retention_days", {}).get("N", "395")),
        rate_limit=int(item.get("rate_limit", {}).get("N", "0")),
        domain=item.get("domain", {}).get("S"),
        query_params=_names(item.get("query_params")),
        visitors=item.get("visitors", {}).get("S", VISITORS_BY_DEVICE),
        goals=tuple(entry["S"] for entry in item.get("goals", {}).get("L", [])),
        props=tuple(entry["S"] for entry in item.get("props", {}).get("L", [])),
        max_event_age_hours=int(item.get("max_event_age_hours", {}).get("N", "48")),
        timezone=item.get("timezone", {}).get("S", "UTC"),
    )


def _names(value: dict[str, Any] | None) -> tuple[str, ...]:
    if value is None:
        return DEFAULT_QUERY_PARAMS
    return tuple(entry["S"] for entry in value.get("L", []))
