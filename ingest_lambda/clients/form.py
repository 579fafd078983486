"""HTML forms and query strings: the fields of a Tally event as Rails ``request.params`` has
them (``url=...&name=signup&properties[plan]=pro``; ``batch[0][url]=...&batch[1][url]=...`` for several), on
``POST /events`` as ``application/x-www-form-urlencoded`` (query and body merged, the body
winning, as Rails merges them) and on ``GET /i.gif`` (the query alone).

Bracket nesting is qs-codec's (a port of the qs library Rack's rules came from), bounded in
depth, parameter count and list length. Every value of a form is a string: ``time`` and
``sent_at`` given as digits are read as epoch numbers; properties stay strings.
"""

from typing import Any

from ..errors import MalformedBody, TooLarge

MAX_PARAMETERS = 1000
MAX_DEPTH = 3  # batch[][properties][plan]
MAX_LIST = 100  # a batch's limit; qs reads bigger indices as keys, which the event refuses
_NUMERIC_TIMES = ("time", "sent_at")


def payload(data: bytes, query: dict[str, list[str]]) -> dict[str, Any]:
    """The merged fields of a form body and the request's query."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedBody(f"form body is not valid UTF-8 (byte {exc.start})") from None
    merged = {**_decode(query), **_decode(text)}
    return _times(merged)


def pixel_payload(query: dict[str, list[str]], fields: tuple[str, ...]) -> dict[str, Any]:
    """The event fields of a pixel's query; other parameters (cache busters, the key) are not
    the event's. ``properties`` may also be one JSON object (``properties={"plan":"pro"}``)."""
    decoded = _decode(query)
    event = {name: decoded[name] for name in fields if name in decoded}
    properties = decoded.get("properties")
    if isinstance(properties, str):
        from .. import body

        properties = body.parse_json(properties.encode("utf-8", "surrogatepass"))
    if properties is not None:
        event["properties"] = properties
    return _times(event)


def _decode(source: str | dict[str, list[str]]) -> dict[str, Any]:
    import qs_codec
    from qs_codec import DecodeOptions, Duplicates

    options = DecodeOptions(
        depth=MAX_DEPTH, strict_depth=True, parameter_limit=MAX_PARAMETERS, raise_on_limit_exceeded=True,
        list_limit=MAX_LIST, duplicates=Duplicates.LAST,
    )  # fmt: skip
    # A repeated plain name keeps its last value, as Rails does; a[] keeps them all.
    flat = _last_values(source) if isinstance(source, dict) else source
    try:
        decoded: dict[str, Any] = qs_codec.decode(flat, options)
    except IndexError:
        raise MalformedBody(f"a form field is nested deeper than {MAX_DEPTH} levels") from None
    except ValueError:
        raise TooLarge(f"the form has more than {MAX_PARAMETERS} fields") from None
    return decoded


def _last_values(query: dict[str, list[str]]) -> dict[str, Any]:
    return {name: (values if name.endswith("[]") else values[-1]) for name, values in query.items() if values}


def _times(fields: dict[str, Any]) -> dict[str, Any]:
    for name in _NUMERIC_TIMES:
        value = fields.get(name)
        if isinstance(value, str) and value.isascii() and value.replace(".", "", 1).isdigit():
            fields[name] = float(value) if "." in value else int(value)
    batch = fields.get("batch")
    if isinstance(batch, list):
        fields["batch"] = [_times(item) if isinstance(item, dict) else item for item in batch]
    return fields
