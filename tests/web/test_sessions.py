"""fenicia.accounts.sessions: login sessions, CSRF comparison, the in-memory login rate limit, the pulse."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fenicia.accounts.models import User
from fenicia.accounts.sessions import (
    SESSION_LIFETIME,
    LoginRateLimiter,
    create_login_session,
    csrf_matches,
    dashboard_pulse,
    end_login_session,
    find_login_session,
    purge_expired_sessions,
)
from fenicia.core.clock import utcnow
from fenicia.db.engine import Database


def _user(db: Database, tenant: Any) -> User:
    with db.read_session() as s:
        user = s.query(User).filter_by(email=tenant.email).one()
        s.expunge(user)
        return user


def test_a_session_is_found_by_its_token_until_it_expires(db: Database, tenant_a: Any) -> None:
    now = utcnow()
    with db.session() as s:
        created, raw = create_login_session(s, s.merge(_user(db, tenant_a)), now=now)
    with db.read_session() as s:
        found = find_login_session(s, raw, now=now + SESSION_LIFETIME - timedelta(seconds=1))
        assert found == created and found.workspace_id == tenant_a.id and found.email == tenant_a.email
        assert find_login_session(s, raw, now=now + SESSION_LIFETIME) is None
        assert find_login_session(s, raw + "x", now=now) is None and find_login_session(s, "", now=now) is None
    assert raw not in (created.csrf_token,) and len(created.csrf_token) >= 32


def test_logout_and_purge_delete_sessions(db: Database, tenant_a: Any) -> None:
    now = utcnow()
    with db.session() as s:
        user = s.merge(_user(db, tenant_a))
        _, old = create_login_session(s, user, now=now - SESSION_LIFETIME - timedelta(minutes=1))
        _, live = create_login_session(s, user, now=now)
    with db.session() as s:
        assert purge_expired_sessions(s, now=now) == 1
        assert end_login_session(s, live) is True and end_login_session(s, live) is False
    with db.read_session() as s:
        assert find_login_session(s, old, now=now - SESSION_LIFETIME) is None


def test_csrf_matches_only_the_same_non_empty_token() -> None:
    assert csrf_matches("abc", "abc")
    assert not csrf_matches("abc", "abd") and not csrf_matches("abc", "") and not csrf_matches("abc", None)


def test_the_limiter_counts_per_email_and_ip_within_the_window() -> None:
    limiter = LoginRateLimiter(max_failures=2, window=timedelta(minutes=15))
    t0 = utcnow()
    limiter.record_failure("A@shop.test ", "1.1.1.1", now=t0)
    limiter.record_failure("a@shop.test", "1.1.1.1", now=t0 + timedelta(minutes=1))
    assert limiter.blocked_until("a@shop.test", "1.1.1.1", now=t0 + timedelta(minutes=2)) == t0 + timedelta(minutes=15)
    assert limiter.blocked_until("a@shop.test", "2.2.2.2", now=t0) is None
    assert limiter.blocked_until("a@shop.test", "1.1.1.1", now=t0 + timedelta(minutes=15)) is None
    limiter.record_failure("a@shop.test", "1.1.1.1", now=t0 + timedelta(minutes=16))
    limiter.reset("a@shop.test", "1.1.1.1")
    assert limiter.blocked_until("a@shop.test", "1.1.1.1", now=t0 + timedelta(minutes=16)) is None


def test_the_pulse_is_scoped_to_the_workspace(db: Database, tenant_a: Any, tenant_b: Any, make_order: Any) -> None:
    with db.read_session() as s:
        before_a, before_b = dashboard_pulse(s, tenant_a.id), dashboard_pulse(s, tenant_b.id)
    order = make_order(tenant_a, "7001")
    with db.read_session() as s:
        after_a, after_b = dashboard_pulse(s, tenant_a.id), dashboard_pulse(s, tenant_b.id)
    assert before_a.newest_order_id is None and after_a.newest_order_id == order
    assert after_b == before_b
