"""A site's editable settings, checked in one place for the admin API and ``tally sites``.

``parse`` takes what a client sent (JSON values, or the CLI's options) and returns the
settings as ``Site`` holds them, or raises SettingError naming the field at fault. A new
setting is one entry in FIELDS.
"""

import re
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from tally_aggregates.declared import MAX_GOALS, MAX_PROPS, check_goal
from tally_contract.errors import TallyError
from tally_contract.sites import Site

SITE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
# An allowed browser origin: "*", scheme://host[:port], or scheme://*.domain (sites.py matches them).
ORIGIN = re.compile(
    r"^(\*|https?://(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*(:\d{1,5})?)$"
)
TIMEZONE = re.compile(r"^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+){0,2}$")
IP_HANDLING = ("truncate", "drop", "keep")
MAX_ORIGINS = 50
MAX_PROP_KEY = 100


class SettingError(TallyError):
    """A setting is invalid; ``field`` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def site_id(value: object) -> str:
    if not isinstance(value, str) or not SITE_ID.match(value):
        raise SettingError("site", "1-64 of letters, digits, '-', '_', '.'")
    return value


def _integer(low: int, high: int) -> Callable[[str, object], int]:
    def check(field: str, value: object) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise SettingError(field, f"must be an integer from {low} to {high}")
        return value

    return check


def _flag(field: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise SettingError(field, "must be true or false")
    return value


def _ip_handling(field: str, value: object) -> str:
    if value not in IP_HANDLING:
        raise SettingError(field, f"must be one of {', '.join(IP_HANDLING)}")
    return str(value)


def _strings(field: str, value: object, most: int) -> tuple[str, ...]:
    if not isinstance(value, list | tuple) or len(value) > most or not all(isinstance(v, str) for v in value):
        raise SettingError(field, f"must be a list of at most {most} strings")
    return tuple(dict.fromkeys(value))  # in the order given, each once


def _origins(field: str, value: object) -> tuple[str, ...]:
    origins = tuple(origin.lower().rstrip("/") for origin in _strings(field, value, MAX_ORIGINS))
    for origin in origins:
        if len(origin) > 200 or not ORIGIN.match(origin):
            raise SettingError(field, f"{origin[:80]!r}: an origin is *, https://host[:port] or https://*.domain")
    return origins


def _timezone(field: str, value: object) -> str:
    """An IANA time zone name the system's zone database knows ("Europe/Berlin", "UTC")."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    if not isinstance(value, str) or not 1 <= len(value) <= 64 or not TIMEZONE.match(value):
        raise SettingError(field, "must be an IANA time zone name such as Europe/Berlin or UTC")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingError(field, f"{value!r} is no time zone this system knows") from None
    return value


def _goals(field: str, value: object) -> tuple[str, ...]:
    goals = _strings(field, value, MAX_GOALS)
    for goal in goals:
        try:
            check_goal(goal)
        except ValueError as exc:
            raise SettingError(field, str(exc)) from None
    return goals


def _props(field: str, value: object) -> tuple[str, ...]:
    keys = _strings(field, value, MAX_PROPS)
    if any(not key or len(key) > MAX_PROP_KEY or not key.isprintable() for key in keys):
        raise SettingError(field, f"a property key is 1-{MAX_PROP_KEY} printable characters")
    return keys


FIELDS: dict[str, Callable[[str, object], Any]] = {
    "origins": _origins,
    "respect_dnt": _flag,
    "ip_handling": _ip_handling,
    "retention_days": _integer(1, 3650),
    "rate_limit": _integer(0, 1_000_000),
    "max_event_age_hours": _integer(0, 8784),
    "timezone": _timezone,
    "goals": _goals,
    "props": _props,
}


def parse(values: Mapping[str, object]) -> dict[str, Any]:
    """The settings given, checked; SettingError for an unknown or invalid one."""
    settings = {}
    for field, value in values.items():
        check = FIELDS.get(field)
        if check is None:
            raise SettingError(field, f"is not a setting (settings: {', '.join(FIELDS)})")
        settings[field] = check(field, value)
    return settings


def edited(site: Site, values: Mapping[str, object]) -> Site:
    return replace(site, **parse(values))


def shown(site: Site) -> dict[str, Any]:
    """A site's settings and public key as the admin API answers them (never its secret)."""
    return {"site": site.site_id, "write_key": site.write_key,
            **{field: _json(getattr(site, field)) for field in FIELDS}}  # fmt: skip


def _json(value: object) -> object:
    return list(value) if isinstance(value, tuple) else value
