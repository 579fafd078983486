"""Issue 18, sessions that end: the logic of dashboard/sessions.py over the in-memory store
(the same contract over DynamoDB: tests/functional/test_auth_store.py)."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from dashboard.auth import Authenticator, AuthError, new_admin
from dashboard.sessions import (
    BACKOFF_CAP,
    SESSION_SECONDS,
    Claim,
    LoginBackoff,
    MemoryAuthStore,
    Sessions,
    client_key,
    new_device,
)

T0 = 1_795_440_000.0


@pytest.fixture
def clock() -> list[float]:
    return [T0]


@pytest.fixture
def auth(clock: list[float]) -> Authenticator:
    return Authenticator(new_admin()[1], clock=lambda: clock[0])


def test_a_closed_session_is_dead_at_once(auth: Authenticator, clock: list[float]) -> None:
    store = MemoryAuthStore()
    sessions = Sessions(store, lambda: clock[0])
    cookie = sessions.open(auth, "admin", "password", None)
    assert sessions.resolve(auth, cookie).scope == "admin"
    sessions.close(auth, cookie)
    with pytest.raises(AuthError):
        sessions.resolve(auth, cookie)
    assert store.sessions == {}


def test_the_table_holds_no_usable_cookie(auth: Authenticator, clock: list[float]) -> None:
    store = MemoryAuthStore()
    cookie = Sessions(store, lambda: clock[0]).open(auth, "admin", "password", None)
    session_id = auth.unseal("s", cookie)
    assert session_id is not None
    (digest,) = store.sessions
    assert session_id not in digest and session_id not in repr(store.sessions[digest])


def test_a_session_never_outlives_its_credential(auth: Authenticator, clock: list[float]) -> None:
    sessions = Sessions(MemoryAuthStore(), lambda: clock[0])
    token = auth.issue("t", "site:shop", 1)  # a viewer token with one second left
    principal, expires = auth.verify_expiring(token, "t")
    cookie = sessions.open(auth, principal.scope, f"token:{principal.nonce}", expires)
    assert sessions.resolve(auth, cookie).scope == "site:shop"
    clock[0] += 1.5
    with pytest.raises(AuthError):
        sessions.resolve(auth, cookie)
    password_cookie = sessions.open(auth, "admin", "password", None)
    clock[0] += SESSION_SECONDS - 1
    assert sessions.resolve(auth, password_cookie).is_admin
    clock[0] += 2
    with pytest.raises(AuthError):
        sessions.resolve(auth, password_cookie)


def test_a_rotated_record_ends_its_sessions(auth: Authenticator, clock: list[float]) -> None:
    store = MemoryAuthStore()
    cookie = Sessions(store, lambda: clock[0]).open(auth, "admin", "password", None)
    rotated = Authenticator(new_admin()[1], clock=lambda: clock[0])
    with pytest.raises(AuthError):
        Sessions(store, lambda: clock[0]).resolve(rotated, cookie)  # the old key's signature fails


@pytest.mark.parametrize("cookie", ["", "s", "s..", "s.x.y", "d.abc.sig", "s.é.ü", "s.\ud800.x", "s." + "a" * 5000])
def test_forged_cookies_are_refused_without_a_read(auth: Authenticator, clock: list[float], cookie: str) -> None:
    class Unread(MemoryAuthStore):
        def get_session(self, digest: str) -> None:
            raise AssertionError("a forged cookie must not cost a read")

    with pytest.raises(AuthError):
        Sessions(Unread(), lambda: clock[0]).resolve(auth, cookie)


def test_each_failure_doubles_the_wait_and_a_success_clears_it(clock: list[float]) -> None:
    backoff = LoginBackoff(MemoryAuthStore(), lambda: clock[0])
    waits = []
    for _ in range(11):
        claim = backoff.begin("address:198.51.100.1")
        assert isinstance(claim, Claim)
        backoff.failed(claim)
        wait = backoff.begin("address:198.51.100.1")
        assert isinstance(wait, float)
        waits.append(round(wait))
        clock[0] += wait
    assert waits == [1, 2, 4, 8, 16, 32, 64, 128, 256, BACKOFF_CAP, BACKOFF_CAP]
    claim = backoff.begin("address:198.51.100.1")
    assert isinstance(claim, Claim) and claim.failures == 11
    backoff.succeeded(claim)
    fresh = backoff.begin("address:198.51.100.1")
    assert isinstance(fresh, Claim) and fresh.failures == 0


def test_of_forty_parallel_attempts_exactly_one_is_checked(clock: list[float]) -> None:
    backoff = LoginBackoff(MemoryAuthStore(), lambda: clock[0])
    start = threading.Barrier(40)

    def attempt(_: int) -> bool:
        start.wait()
        return isinstance(backoff.begin("address:198.51.100.1"), Claim)

    with ThreadPoolExecutor(40) as pool:
        granted = list(pool.map(attempt, range(40)))
    assert granted.count(True) == 1


def test_the_key_is_the_admins_device_else_the_address(auth: Authenticator) -> None:
    device = new_device(auth, None)
    assert client_key(auth, device, "198.51.100.1").startswith("device:")
    assert client_key(auth, device, "198.51.100.1") == client_key(auth, device, "203.0.113.9")
    assert new_device(auth, device) == device  # a returning device keeps its id
    forged = "d.attacker.bad-signature"
    assert client_key(auth, forged, "198.51.100.1") == "address:198.51.100.1"
    other_key = Authenticator(new_admin()[1])
    assert client_key(other_key, device, "198.51.100.1") == "address:198.51.100.1"
    # IPv6: one /64 is one client (a host picks any address in it).
    assert client_key(auth, None, "2001:db8:1:2::1") == client_key(auth, None, "2001:db8:1:2:ffff::9")
    assert client_key(auth, None, "2001:db8:1:3::1") != client_key(auth, None, "2001:db8:1:2::1")
    assert client_key(auth, None, None) == "address:unknown"
