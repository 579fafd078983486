"""Dashboard sessions and the login backoff, kept server-side in the auth table.

The logic is here; storage is behind ``AuthStore`` (DynamoDB: sessions_dynamodb.py; memory:
``MemoryAuthStore`` below, for unit tests). Items are ``pk = <kind>#<id>``, ``sk = <kind>``, so
the same table can later hold named users and revocable API tokens (docs/dashboard.md).

- A session is a random id. The cookie carries it signed with the admin record's key (a forged
  cookie costs no read, and a rotation of the record ends every session at once); the table
  holds only its SHA-256 (a copy of the table holds no usable cookie). Logout deletes the item:
  the cookie is dead on every instance at once. A session ends at the earliest of 12 hours and
  the expiry of the credential that opened it (a viewer token's); it names that credential, so
  a credential revoked alone (named users and API tokens, later) can end its sessions too.
- The login backoff is one item per client. An attempt first claims it with a conditional
  write, so of many parallel attempts one is checked and the others wait; each failure doubles
  the wait (1 s ... 300 s); a success deletes it. The client is the admin's device (a signed
  cookie set by a password login, so strangers behind the admin's address cannot lock the admin
  out), else the address the trusted proxies vouch for, IPv6 by /64 (one host's usual share).
"""

import hashlib
import ipaddress
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Protocol

from .auth import Authenticator, AuthError, Principal

SESSION_SECONDS = 12 * 3600
DEVICE_SECONDS = 90 * 86400
BACKOFF_CAP = 300.0
# How long a claimed attempt holds off the next one while it is checked: longer than a request
# can run (the function's timeout), so a crash mid-check costs its client this much, no more.
CLAIM_SECONDS = 15.0
FORGET_SECONDS = 86400.0  # an attempts item expires (table TTL) a day after its last wait


@dataclass(frozen=True)
class Session:
    digest: str  # SHA-256 of the session id
    scope: str  # "admin" or "site:<id>"
    credential: str  # what opened it: "password", or "token:<nonce>" for a viewer token
    expires_at: float


@dataclass(frozen=True)
class Attempts:
    failures: int  # failed attempts in a row
    not_before: float  # no attempt is checked before this


class AuthStore(Protocol):
    def put_session(self, session: Session) -> None: ...

    def get_session(self, digest: str) -> Session | None: ...

    def delete_session(self, digest: str) -> None: ...

    def claim_attempt(self, client: str, now: float, hold_until: float) -> tuple[bool, Attempts]:
        """Atomically: when ``client`` may try at ``now``, hold it until ``hold_until`` and
        return (True, its attempts so far); else (False, its attempts as they stand)."""
        ...

    def put_attempts(self, client: str, attempts: Attempts, expires_at: float) -> None: ...

    def delete_attempts(self, client: str) -> None: ...


class Sessions:
    def __init__(self, store: AuthStore, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.clock = clock

    def open(self, auth: Authenticator, scope: str, credential: str, credential_expires: float | None) -> str:
        """A new session; returns the cookie value."""
        session_id = secrets.token_urlsafe(32)
        expires = self.clock() + SESSION_SECONDS
        if credential_expires is not None:
            expires = min(expires, credential_expires)
        self.store.put_session(Session(_digest(session_id), scope, credential, expires))
        return auth.seal("s", session_id)

    def resolve(self, auth: Authenticator, cookie: str) -> Principal:
        session = self._stored(auth, cookie)
        if session is None:
            raise AuthError("the session has ended; sign in again")
        return Principal(session.scope, session.digest)

    def close(self, auth: Authenticator, cookie: str) -> None:
        session_id = auth.unseal("s", cookie)
        if session_id is not None:
            self.store.delete_session(_digest(session_id))

    def _stored(self, auth: Authenticator, cookie: str) -> Session | None:
        session_id = auth.unseal("s", cookie)
        if session_id is None:
            return None
        session = self.store.get_session(_digest(session_id))
        if session is None or session.expires_at <= self.clock():
            return None
        return session


@dataclass(frozen=True)
class Claim:
    client: str
    failures: int


class LoginBackoff:
    def __init__(self, store: AuthStore, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.clock = clock

    def begin(self, client: str) -> Claim | float:
        """A claim to check one attempt, or the seconds to wait first."""
        now = self.clock()
        granted, attempts = self.store.claim_attempt(client, now, now + CLAIM_SECONDS)
        if not granted:
            return max(attempts.not_before - now, 0.001)
        return Claim(client, attempts.failures)

    def failed(self, claim: Claim) -> None:
        wait = min(BACKOFF_CAP, 2.0**claim.failures)
        not_before = self.clock() + wait
        self.store.put_attempts(claim.client, Attempts(claim.failures + 1, not_before), not_before + FORGET_SECONDS)

    def succeeded(self, claim: Claim) -> None:
        self.store.delete_attempts(claim.client)


def client_key(auth: Authenticator, device_cookie: str | None, address: str | None) -> str:
    """Whose attempts these are: the admin's device when its cookie is genuine, else the address."""
    device = auth.unseal("d", device_cookie) if device_cookie else None
    if device is not None:
        return f"device:{device}"
    if address is None:
        return "address:unknown"
    parsed = ipaddress.ip_address(address)
    if parsed.version == 6:
        return f"address:{ipaddress.ip_network(f'{parsed}/64', strict=False)}"
    return f"address:{parsed}"


def new_device(auth: Authenticator, device_cookie: str | None) -> str:
    """The device cookie a password login sets: the same device again when it had one."""
    device = auth.unseal("d", device_cookie) if device_cookie else None
    return auth.seal("d", device or secrets.token_urlsafe(16))


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("ascii")).hexdigest()


class MemoryAuthStore:
    """The store in a dict, with the same atomicity (one lock): unit tests and local checks."""

    def __init__(self) -> None:
        self.sessions: dict[str, Session] = {}
        self.attempts: dict[str, Attempts] = {}
        self._lock = threading.Lock()

    def put_session(self, session: Session) -> None:
        with self._lock:
            self.sessions[session.digest] = session

    def get_session(self, digest: str) -> Session | None:
        with self._lock:
            return self.sessions.get(digest)

    def delete_session(self, digest: str) -> None:
        with self._lock:
            self.sessions.pop(digest, None)

    def claim_attempt(self, client: str, now: float, hold_until: float) -> tuple[bool, Attempts]:
        with self._lock:
            attempts = self.attempts.get(client, Attempts(0, 0.0))
            if attempts.not_before > now:
                return False, attempts
            self.attempts[client] = replace(attempts, not_before=hold_until)
            return True, attempts

    def put_attempts(self, client: str, attempts: Attempts, expires_at: float) -> None:
        with self._lock:
            self.attempts[client] = attempts

    def delete_attempts(self, client: str) -> None:
        with self._lock:
            self.attempts.pop(client, None)
