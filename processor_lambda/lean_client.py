"""Two per-request costs botocore pays that the processor's write path does not need.

Measured with callgrind on a 2,000-record batch (bench/processor.py's records), when each
event was its own item: the batch took 2,185 M instructions with a stock client and 1,521 M
with both changes below (-30 %).

- **Serialization.** botocore's JSON serializer walks the service model for every value of
  every AttributeValue map. The processor's UpdateItem parameters (counters: hundreds per
  batch) are already the wire JSON (strings, numbers as strings, maps, never None, bytes or
  datetimes), so for that operation the body is the parameters themselves. Every other
  operation keeps the full serializer: BatchWriteItem carries binary raw-event packs, which
  need its base64, and since events are packed (items.py) it writes a few items a batch
  instead of one per event. tests/test_lean_client.py checks the bodies are byte-identical.
- **User-Agent.** botocore rebuilds the User-Agent string twice per request, sanitizing each
  component; it only changes when feature ids are recorded, which are telemetry for AWS. The
  client's string is built once and reused.

Both touch botocore internals of the pinned version (requirements.txt); when they are missing
the client is left as it is, slower but correct.
"""

from typing import Any

PASS_THROUGH = frozenset({"UpdateItemInput"})


def make_lean(client: Any) -> Any:
    """Apply both changes to a DynamoDB client in place; returns it."""
    holder, serializer = client, getattr(client, "_serializer", None)
    if serializer is not None and hasattr(serializer, "_serializer"):
        # With parameter validation on, botocore wraps the serializer in a validating one.
        holder, serializer = serializer, serializer._serializer
    if serializer is not None and not isinstance(serializer, _PassThroughSerializer):
        holder._serializer = _pass_through(type(serializer))()
    creator = getattr(client, "_user_agent_creator", None)
    if creator is not None and hasattr(creator, "to_string"):
        built = creator.to_string()
        creator.to_string = lambda: built
    return client


class _PassThroughSerializer:
    """Marker base: a serializer whose top level is the parameters as they are."""


def _pass_through(base: type) -> type:
    class PassThroughSerializer(base, _PassThroughSerializer):  # type: ignore[misc]
        def _serialize(self, serialized: Any, value: Any, shape: Any, key: Any = None) -> None:
            if key is None and shape.name in PASS_THROUGH:
                serialized.update(value)
            else:
                super()._serialize(serialized, value, shape, key)

    return PassThroughSerializer
