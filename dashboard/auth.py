"""Who may read: the admin (password, per deployment) and site viewers (a token per site).

The admin record lives in one SSM SecureString parameter as JSON: the scrypt hash of the
password, its salt, and a random signing key. The password itself exists only when
``provision_admin`` creates it and hands it to its caller (``tally up`` prints it); there is no
default. API tokens are HMAC-SHA256-signed, self-contained strings:
``<kind>.<scope>.<expiry>.<nonce>.<signature>``; the scope is ``admin`` or ``site:<id>``.
Session and device cookies are ``<kind>.<random id>.<signature>``, their state kept server-side
(sessions.py). Rotating the parameter (provision again) invalidates every one of them.

Every comparison of what a client sent is on bytes, in constant time, and total: any string
(non-ASCII, surrogates, any length) is an AuthError or False, never an exception.
"""

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import Unauthorized

if TYPE_CHECKING:
    from .ssm import Parameters

SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}  # ~16 MB, ~50 ms: once per login, not per request
TOKEN_SECONDS = 90 * 86400
MAX_PASSWORD = 256
MAX_CREDENTIAL = 1024  # longer than any token or cookie this module makes


class AuthError(Unauthorized):
    """No valid credentials (401)."""


@dataclass(frozen=True)
class Principal:
    scope: str  # "admin" or "site:<id>"
    nonce: str  # per session: the CSRF token is derived from it

    @property
    def is_admin(self) -> bool:
        return self.scope == "admin"

    def may_read(self, site: str) -> bool:
        return self.is_admin or self.scope == f"site:{site}"


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

    def issue(self, kind: str, scope: str, seconds: int) -> str:
        expiry = int(self.clock()) + seconds
        body = f"{kind}.{_b64(scope.encode())}.{expiry}.{secrets.token_urlsafe(12)}"
        return f"{body}.{self._sign(body)}"

    def verify(self, token: str, kind: str) -> Principal:
        return self.verify_expiring(token, kind)[0]

    def verify_expiring(self, token: str, kind: str) -> tuple[Principal, float]:
        """The token's principal and its expiry (epoch seconds)."""
        parts = token.split(".") if len(token) <= MAX_CREDENTIAL else []
        if len(parts) != 5 or parts[0] != kind:
            raise AuthError("malformed credentials")
        body, signature = ".".join(parts[:4]), parts[4]
        if not same(self._sign(body), signature):
            raise AuthError("invalid credentials")
        # Signed by us from here on: the fields are as issue() wrote them.
        if int(parts[2]) < self.clock():
            raise AuthError("expired credentials")
        return Principal(_unb64(parts[1]).decode(), parts[3]), float(parts[2])

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
