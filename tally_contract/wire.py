"""JSON exactly as Sidekiq writes it.

Ruby's ``JSON.generate`` is compact, writes non-ASCII as raw UTF-8, does not escape ``/``
and refuses NaN; these arguments make Python's encoder produce the same bytes (checked
against the captures in ``shared/reference/sidekiq-6.4.1-captures``).
"""

import json
from typing import Any


def dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _refuse_constant(name: str) -> Any:
    # json.loads accepts NaN/Infinity by default; neither Ruby nor SQS consumers do.
    raise ValueError(f"{name} is not valid JSON")


def loads(data: str | bytes) -> Any:
    """Parse JSON, refusing NaN and Infinity. Raises ValueError (or RecursionError)."""
    return json.loads(data, parse_constant=_refuse_constant)
