"""What the raw-event table holds, read the way Tally's readers read it (tally_store/dynamodb_packs.py)."""

from typing import Any


def event_ids(dynamodb: Any, table: str) -> list[str]:
    """The event ids of every raw pack: an id once per pack holding it (a redelivered event can
    sit in two packs; readers keep one)."""
    from tally_store import dynamodb_packs

    found = []
    for page in dynamodb.get_paginator("scan").paginate(TableName=table):
        found += [str(event["event_id"]) for item in page["Items"] for event in dynamodb_packs.events_of(item)]
    return found


def stored_count(dynamodb: Any, table: str) -> int:
    """Distinct events stored."""
    return len(set(event_ids(dynamodb, table)))


def events(dynamodb: Any, table: str) -> list[dict[str, Any]]:
    """Every stored event once, as readers see them."""
    from tally_store import dynamodb_packs

    packs = [item for page in dynamodb.get_paginator("scan").paginate(TableName=table) for item in page["Items"]]
    return list(dynamodb_packs.unique_events(packs))
