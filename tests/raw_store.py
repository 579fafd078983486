"""What the raw-event table holds, read the way Tally's readers read it (processor_lambda/items.py)."""

from typing import Any


def event_ids(dynamodb: Any, table: str) -> list[str]:
    """The event ids of every raw pack: an id once per pack holding it (a redelivered event can
    sit in two packs; readers keep one)."""
    from processor_lambda import items

    found = []
    for page in dynamodb.get_paginator("scan").paginate(TableName=table):
        found += [str(event["event_id"]) for item in page["Items"] for event in items.events_of(item)]
    return found


def stored_count(dynamodb: Any, table: str) -> int:
    """Distinct events stored."""
    return len(set(event_ids(dynamodb, table)))


def events(dynamodb: Any, table: str) -> list[dict[str, Any]]:
    """Every stored event once, as readers see them."""
    from processor_lambda import items

    packs = [item for page in dynamodb.get_paginator("scan").paginate(TableName=table) for item in page["Items"]]
    return list(items.unique_events(packs))
