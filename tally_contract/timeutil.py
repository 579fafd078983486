"""Times on the wire: ISO-8601 UTC strings with milliseconds, or epoch numbers."""

from datetime import UTC, datetime

from .errors import FieldError

# Epoch numbers above this are milliseconds (1e11 s is the year 5138).
_MILLIS_THRESHOLD = 1e11
_MIN_EPOCH = 0.0
_MAX_EPOCH = 253402300799.0  # 9999-12-31T23:59:59Z


def format_iso(epoch: float) -> str:
    moment = datetime.fromtimestamp(epoch, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_time(field: str, value: object) -> float:
    """Epoch seconds from an ISO-8601 string or an epoch number (seconds or milliseconds)."""
    if isinstance(value, bool):
        raise FieldError(field, "must be an ISO-8601 string or an epoch number")
    if isinstance(value, int | float):
        try:
            epoch = float(value) / 1000 if value > _MILLIS_THRESHOLD else float(value)
        except OverflowError:  # an integer past float range (JSON allows 4,300 digits)
            raise FieldError(field, "is out of range") from None
    elif isinstance(value, str):
        epoch = _parse_iso(field, value)
    else:
        raise FieldError(field, "must be an ISO-8601 string or an epoch number")
    if not _MIN_EPOCH <= epoch <= _MAX_EPOCH:
        raise FieldError(field, "is out of range")
    return epoch


def _parse_iso(field: str, value: str) -> float:
    if len(value) > 40:
        raise FieldError(field, "is too long for a timestamp")
    text = value[:-1] + "+00:00" if value.endswith(("Z", "z")) else value
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise FieldError(field, "is not an ISO-8601 timestamp") from None
    if moment.tzinfo is None:
        # A time without an offset is taken as UTC, as Rails' Time#iso8601 would have sent it.
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()
