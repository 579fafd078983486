"""Named users, API tokens, invitations and the audit log, kept as records of the auth store.

- A **user** has a name, a role (``admin``, or ``viewer`` of chosen sites) and, once they accept
  their invitation, their own password, stored as the admin's is (scrypt, a random salt). An
  ``epoch`` changes with the password: a session names the epoch it was opened under, so a
  new password ends the old sessions. Every request of a user's session reads the user's
  record, so removing a user or changing their role or sites holds on the next request.
- An **invitation** is a random code, shown once (``tally users invite``); the store keeps only
  its SHA-256. It is taken (deleted) by the one request that accepts it, and holds for 7 days.
- An **API token** is ``tly.<id>.<secret>``, shown once; the store keeps its SHA-256 under its
  id. Its scope is ``read`` (of chosen sites) or ``admin``. Every bearer request reads its
  record, so a revoked token fails on the next request.
- The **audit log** keeps who did what (sign-ins, invitations, tokens, sites) for 400 days.

Unknown names cost the same scrypt as wrong passwords, so a sign-in does not tell which it was.
"""

import hashlib
import re
import secrets
from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING, Any

from tally_contract.errors import FieldNamedError

from .auth import MAX_CREDENTIAL, MAX_PASSWORD, Principal, _b64, _unb64, hash_password, same, viewer_scope

if TYPE_CHECKING:
    from .sessions import AuthStore

USER, TOKEN, INVITE, AUDIT = "user", "token", "invite", "audit"
ROLES = ("admin", "viewer")
SCOPES = ("read", "admin")
INVITE_SECONDS = 7 * 86400
AUDIT_SECONDS = 400 * 86400
MAX_USERS = 500
MAX_TOKENS = 500
MAX_SITES = 200
MIN_PASSWORD = 10
NAME = re.compile(r"^[a-z0-9][a-z0-9._@+-]{0,63}$")
SITE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
TOKEN_ID = re.compile(r"^[0-9a-f]{16}$")
_DUMMY_SALT = bytes(16)  # an unknown name is checked against this: the same work as a real one
_DUMMY_HASH = hash_password("", _DUMMY_SALT)


class AccountError(FieldNamedError):
    """A request about users or tokens is invalid; ``field`` names what is wrong."""


class NotFound(AccountError):
    """No such user, token or invitation."""


@dataclass(frozen=True)
class User:
    name: str
    role: str
    sites: tuple[str, ...] = ()
    salt: str = ""  # empty until the invitation is accepted: no password at all before
    hash: str = ""
    epoch: str = ""
    created_at: float = 0.0
    created_by: str = ""

    @property
    def scope(self) -> str:
        return "admin" if self.role == "admin" else viewer_scope(self.sites)

    def shown(self) -> dict[str, Any]:
        return {"name": self.name, "role": self.role, "sites": list(self.sites), "active": bool(self.hash),
                "created_at": self.created_at, "created_by": self.created_by}  # fmt: skip


@dataclass(frozen=True)
class Token:
    id: str
    name: str
    scope: str  # "read" or "admin"
    sites: tuple[str, ...]
    digest: str  # SHA-256 of the secret
    created_at: float
    created_by: str
    expires_at: float | None = None

    def principal(self) -> Principal:
        scope = "admin" if self.scope == "admin" else viewer_scope(self.sites)
        return Principal(scope, self.id, f"token:{self.id}")

    def shown(self) -> dict[str, Any]:
        shown = {"id": self.id, "name": self.name, "scope": self.scope, "sites": list(self.sites)}
        return {**shown, "created_at": self.created_at, "created_by": self.created_by, "expires_at": self.expires_at}


def check_name(name: object) -> str:
    if not isinstance(name, str) or not NAME.match(name.lower()):
        raise AccountError("name", "1-64 of lowercase letters, digits and . _ @ + - (starting with a letter or digit)")
    return name.lower()


def check_sites(sites: object, required: bool) -> tuple[str, ...]:
    if not isinstance(sites, list | tuple) or len(sites) > MAX_SITES:
        raise AccountError("sites", f"must be a list of at most {MAX_SITES} site ids")
    if not all(isinstance(site, str) and SITE.match(site) for site in sites):
        raise AccountError("sites", "each site id is 1-64 of letters, digits, '-', '_', '.'")
    if required and not sites:
        raise AccountError("sites", "a viewer reads at least one site")
    return tuple(sorted(set(sites)))


def check_password(password: object) -> str:
    if not isinstance(password, str) or not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise AccountError("password", f"must be {MIN_PASSWORD} to {MAX_PASSWORD} characters")
    return password


class Accounts:
    def __init__(self, store: "AuthStore") -> None:
        self.store = store

    # Users.
    def invite(self, name: str, role: str, sites: Iterable[str], by: str, now: float) -> str:
        """A new user with no password, or a pending one invited again; returns the invitation
        code (the only copy). A user who has a password already is refused."""
        name = check_name(name)
        if role not in ROLES:
            raise AccountError("role", f"must be one of {', '.join(ROLES)}")
        chosen = check_sites(list(sites), required=role == "viewer") if role == "viewer" else ()
        held = self.user(name)
        if held is not None and held.hash:
            raise AccountError("name", f"user {name!r} exists; remove them first to invite again")
        if held is None and len(self.users()) >= MAX_USERS:
            raise AccountError("name", f"at most {MAX_USERS} users")
        user = User(name, role, chosen, epoch=secrets.token_hex(8), created_at=now, created_by=by)
        self._put_user(user)
        code = secrets.token_urlsafe(32)
        invitation = {"name": name, "epoch": user.epoch, "expires_at": now + INVITE_SECONDS}
        self.store.put_record(INVITE, _digest(code), invitation, now + INVITE_SECONDS)
        return code

    def invited(self, code: str, now: float) -> str | None:
        """The name an invitation code is for, while it holds (the form shows it)."""
        record = self.store.get_record(INVITE, _digest(code)) if len(code) <= MAX_CREDENTIAL else None
        if record is None or float(record["expires_at"]) <= now:
            return None
        user = self.user(str(record["name"]))
        return user.name if user is not None and not user.hash and user.epoch == record["epoch"] else None

    def accept(self, code: str, password: str, now: float) -> User:
        """Take the invitation (once) and give its user the password."""
        password = check_password(password)
        if len(code) > MAX_CREDENTIAL or self.invited(code, now) is None:
            raise NotFound("code", "this invitation is unknown, used or expired")
        record = self.store.take_record(INVITE, _digest(code))
        user = self.user(str(record["name"])) if record is not None else None
        if record is None or user is None or user.hash or user.epoch != record["epoch"]:
            raise NotFound("code", "this invitation is unknown, used or expired")  # raced, or invited again
        return self.set_password(user.name, password)

    def set_password(self, name: str, password: str) -> User:
        """A new password (and epoch: the user's older sessions end)."""
        user = self.user(check_name(name))
        if user is None:
            raise NotFound("name", f"no user {name!r}")
        salt = secrets.token_bytes(16)
        hashed = hash_password(check_password(password), salt)
        user = replace(user, salt=_b64(salt), hash=_b64(hashed), epoch=secrets.token_hex(8))
        self._put_user(user)
        return user

    def sign_in(self, name: str, password: str) -> User | None:
        """The user, if ``password`` is theirs; always one scrypt, known name or not."""
        user = self.user(name.lower()) if NAME.match(name.lower()) else None
        salt, hashed = (_unb64(user.salt), _unb64(user.hash)) if user and user.hash else (_DUMMY_SALT, _DUMMY_HASH)
        matches = same(_b64(hash_password(password, salt)), _b64(hashed))
        return user if matches and user is not None and user.hash else None

    def user(self, name: str) -> User | None:
        record = self.store.get_record(USER, name)
        return _user(record) if record is not None else None

    def users(self) -> list[User]:
        return sorted((_user(record) for _, record in self.store.records(USER, MAX_USERS)), key=lambda u: u.name)

    def change(self, name: str, role: str | None, sites: Iterable[str] | None) -> User:
        user = self.user(check_name(name))
        if user is None:
            raise NotFound("name", f"no user {name!r}")
        role = role or user.role
        if role not in ROLES:
            raise AccountError("role", f"must be one of {', '.join(ROLES)}")
        chosen = user.sites if sites is None else check_sites(list(sites), required=False)
        if role == "viewer" and not chosen:
            raise AccountError("sites", "a viewer reads at least one site")
        user = replace(user, role=role, sites=chosen if role == "viewer" else ())
        self._put_user(user)
        return user

    def remove(self, name: str) -> bool:
        return self.store.take_record(USER, check_name(name)) is not None

    def _put_user(self, user: User) -> None:
        self.store.put_record(USER, user.name, asdict(user))

    # API tokens.
    def mint(
        self, name: str, scope: str, sites: Iterable[str], by: str, now: float, days: int | None = None
    ) -> tuple[Token, str]:
        """A new token and its only copy in clear."""
        if not isinstance(name, str) or not 1 <= len(name) <= 100 or not name.isprintable():
            raise AccountError("name", "1-100 printable characters")
        if scope not in SCOPES:
            raise AccountError("scope", f"must be one of {', '.join(SCOPES)}")
        chosen = check_sites(list(sites), required=True) if scope == "read" else ()
        if days is not None and (isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 3650):
            raise AccountError("expires_days", "must be an integer from 1 to 3650")
        if len(self.tokens()) >= MAX_TOKENS:
            raise AccountError("name", f"at most {MAX_TOKENS} tokens; revoke some")
        token_id, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
        expires = now + days * 86400 if days else None
        token = Token(token_id, name, scope, chosen, _digest(secret), now, by, expires)
        self.store.put_record(TOKEN, token_id, asdict(token), expires, new=True)
        return token, f"tly.{token_id}.{secret}"

    def bearer(self, presented: str, now: float) -> Token | None:
        """The live token ``presented`` is, else None: one read of its record."""
        parts = presented.split(".") if len(presented) <= MAX_CREDENTIAL else []
        if len(parts) != 3 or parts[0] != "tly" or not TOKEN_ID.match(parts[1]):
            return None
        token = self.token(parts[1])
        if token is None or not same(token.digest, _digest(parts[2])) or _expired(token.expires_at, now):
            return None
        return token

    def token(self, token_id: str) -> Token | None:
        record = self.store.get_record(TOKEN, token_id) if TOKEN_ID.match(token_id) else None
        return _token(record) if record is not None else None

    def tokens(self) -> list[Token]:
        return sorted((_token(r) for _, r in self.store.records(TOKEN, MAX_TOKENS)), key=lambda t: t.created_at)

    def revoke(self, token_id: str) -> bool:
        return TOKEN_ID.match(token_id) is not None and self.store.take_record(TOKEN, token_id) is not None

    def forget_site(self, site: str) -> None:
        """A deleted site leaves every viewer's and token's list (a site made again later under
        the same id is not theirs)."""
        for user in self.users():
            if site in user.sites:
                self._put_user(replace(user, sites=tuple(s for s in user.sites if s != site)))
        for token in self.tokens():
            if site in token.sites:
                kept = replace(token, sites=tuple(s for s in token.sites if s != site))
                self.store.put_record(TOKEN, token.id, asdict(kept), token.expires_at)

    # Sessions: what a session's credential stands for now.
    def current(self, credential: str, nonce: str, now: float) -> Principal | None:
        kind, _, rest = credential.partition(":")
        if kind == "user":
            name, _, epoch = rest.rpartition(":")
            user = self.user(name)
            if user is None or not user.hash or user.epoch != epoch:
                return None
            return Principal(user.scope, nonce, f"user:{user.name}")
        if kind == "token":
            token = self.token(rest)
            if token is None or _expired(token.expires_at, now):
                return None
            return replace(token.principal(), nonce=nonce)
        return None

    # The audit log.
    def record(self, who: str, action: str, target: str, now: float) -> None:
        key = f"{now:014.3f}#{secrets.token_hex(4)}"
        entry = {"at": now, "who": who, "action": action, "target": target}
        self.store.put_record(AUDIT, key, entry, now + AUDIT_SECONDS)

    def log(self, limit: int) -> list[dict[str, Any]]:
        return [record for _, record in self.store.records(AUDIT, limit)]


def session_credential(user: User) -> str:
    return f"user:{user.name}:{user.epoch}"


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def _expired(expires_at: float | None, now: float) -> bool:
    return expires_at is not None and expires_at <= now


def _user(record: dict[str, Any]) -> User:
    return User(**{**record, "sites": tuple(record.get("sites", ()))})


def _token(record: dict[str, Any]) -> Token:
    return Token(**{**record, "sites": tuple(record.get("sites", ()))})
