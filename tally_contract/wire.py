"""JSON exactly as Sidekiq writes it.

Ruby's ``JSON.generate`` is compact, writes non-ASCII as raw UTF-8, does not escape ``/``
and refuses NaN; these arguments make Python's encoder produce the same bytes (checked
against the captures in ``shared/reference/sidekiq-6.4.1-captures``).
"""

import json
from typing import Any

# Built once: json.dumps/json.loads with any argument build a new encoder/decoder per call,
# which cost a worker ~15% of its per-job CPU.
_ENCODE = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode


def dumps(obj: Any) -> str:
    return _ENCODE(obj)


def _refuse_constant(name: str) -> Any:
    # json.loads accepts NaN/Infinity by default; neither Ruby nor SQS consumers do.
    raise ValueError(f"{name} is not valid JSON")


_DECODER = json.JSONDecoder(parse_constant=_refuse_constant)


def loads(data: str | bytes) -> Any:
    """Parse JSON, refusing NaN and Infinity. Raises ValueError (or RecursionError)."""
    if isinstance(data, bytes | bytearray):
        # What json.loads does with bytes: UTF-8, -16 or -32 by the first bytes.
        data = data.decode(json.detect_encoding(data), "surrogatepass")
    elif not isinstance(data, str):
        raise TypeError(f"the JSON object must be str or bytes, not {type(data).__name__}")
    return _DECODER.decode(data)
