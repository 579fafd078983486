"""Who may read: the admin (password, per deployment), named users and API tokens (accounts.py).

The admin record lives in one SSM SecureString parameter as JSON: the scrypt hash of the
password, its salt, and a random signing key. The password itself exists only when
``provision_admin`` creates it and hands it to its caller (``tally up`` prints it); there is no
default. Session and device cookies are ``<kind>.<random id>.<signature>``, their state kept
server-side (sessions.py); rotating the parameter (provision again) invalidates every one.

Every comparison of what a client sent is on bytes, in constant time, and total: any string
(non-ASCII, surrogates, any length) is an AuthError or False, never an exception.
"""

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import Unauthorized

if TYPE_CHECKING:
    from .ssm import Parameters

SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}  # ~16 MB, ~50 ms: once per login, not per request
MAX_PASSWORD = 256
MAX_CREDENTIAL = 1024  # longer than any token or cookie this module makes


class AuthError(Unauthorized):
    """No valid credentials (401)."""


@dataclass(frozen=True)
class Principal:
    """Who is asking. Every read route asks ``may_read(site)`` (the Stats API's too), every admin
    route ``is_admin``."""

    scope: str  # "admin", or "site:<id>[,<id>...]": the sites it may read
    nonce: str  # per session: the CSRF token is derived from it
    who: str = ""  # for the audit log: "admin", "user:<name>", "token:<id>"

    @property
    def is_admin(self) -> bool:
        return self.scope == "admin"

    @property
    def sites(self) -> frozenset[str]:
        """The sites a viewer may read (an admin reads every site)."""
        if self.is_admin or not self.scope.startswith("site:"):
            return frozenset()
        return frozenset(site for site in self.scope.removeprefix("site:").split(",") if site)

    def may_read(self, site: str) -> bool:
        return self.is_admin or site in self.sites


def viewer_scope(sites: Iterable[str]) -> str:
    return "site:" + ",".join(sorted(set(sites)))


@dataclass(frozen=True)
class AdminRecord:
    salt: bytes
    password_hash: bytes
    key: bytes

    def to_json(self) -> str:
        return json.dumps(
            {
                "v": 1,
                "salt": _b64(self.salt),
                "hash": _b64(self.password_hash),
                "key": _b64(self.key),
            }
        )

    @classmethod
    def from_json(cls, text: str) -> "AdminRecord":
        """Raises ValueError when ``text`` is not a record ``to_json`` wrote."""
        try:
            data = json.loads(text)
            return cls(_unb64(data["salt"]), _unb64(data["hash"]), _unb64(data["key"]))
        except (KeyError, TypeError, AuthError) as exc:
            raise ValueError(f"not an admin record: {type(exc).__name__}") from None


def hash_password(password: str, salt: bytes) -> bytes:
    return hashlib.scrypt(password.encode("utf-8", "surrogatepass")[:MAX_PASSWORD], salt=salt, **SCRYPT)


def new_admin(password: str | None = None) -> tuple[str, AdminRecord]:
    password = password or secrets.token_urlsafe(18)
    salt = secrets.token_bytes(16)
    return password, AdminRecord(salt, hash_password(password, salt), secrets.token_bytes(32))


def provision_admin(ssm_client: Any, name: str, *, overwrite: bool = True) -> str:
    """Create (or rotate) the admin credentials in SSM parameter ``name``; return the password.

    The caller shows the password once; only its scrypt hash is stored. Overwrites an existing
    parameter, which also invalidates every session and viewer token signed with the old key;
    with ``overwrite=False`` SSM refuses instead (ParameterAlreadyExists), atomically.
    """
    from .ssm import SsmParameters

    return provision_admin_in(SsmParameters(ssm_client), name, overwrite=overwrite)


def provision_admin_in(parameters: "Parameters", name: str, *, overwrite: bool = True) -> str:
    """``provision_admin`` in any parameter store (local mode: the store's SQLite file)."""
    password, record = new_admin()
    parameters.put(name, record.to_json(), overwrite=overwrite)
    return password


class Authenticator:
    def __init__(self, record: AdminRecord, clock: Callable[[], float] = time.time) -> None:
        self.record = record
        self.clock = clock

    def check_password(self, password: str) -> bool:
        candidate = hash_password(password, self.record.salt)
        return hmac.compare_digest(candidate, self.record.password_hash)

    def seal(self, kind: str, value: str) -> str:
        """``<kind>.<value>.<signature>`` for a cookie; ``value`` holds no dot."""
        return f"{kind}.{value}.{self._sign(f'{kind}.{value}')}"

    def unseal(self, kind: str, sealed: str) -> str | None:
        """The value of a genuine ``seal(kind, value)``, else None."""
        parts = sealed.split(".") if len(sealed) <= MAX_CREDENTIAL else []
        if len(parts) != 3 or parts[0] != kind or not same(self._sign(f"{kind}.{parts[1]}"), parts[2]):
            return None
        return parts[1]

    def csrf_token(self, principal: Principal) -> str:
        return self._sign(f"csrf.{principal.nonce}")

    def csrf_ok(self, principal: Principal, token: str | None) -> bool:
        return bool(token) and same(self.csrf_token(principal), token or "")

    def login_csrf(self, nonce: str) -> str:
        """The login form's CSRF token, bound to a pre-session cookie nonce."""
        return self._sign(f"login.{nonce}")

    def _sign(self, body: str) -> str:
        return _b64(hmac.new(self.record.key, body.encode("utf-8", "surrogatepass"), hashlib.sha256).digest())


def same(expected: str, given: str) -> bool:
    """Constant-time equality of two strings of any content (compare_digest refuses non-ASCII str)."""
    return hmac.compare_digest(expected.encode("utf-8", "surrogatepass"), given.encode("utf-8", "surrogatepass"))


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except ValueError as exc:
        raise AuthError("malformed credentials") from exc
