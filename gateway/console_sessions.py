"""Console sign-in sessions: a random id in a cookie, its hash and expiry in the database.

The cookie holds a 256-bit random session id; the table ``console_sessions``
keeps only its SHA-256, so a copy of the database cannot be replayed as a
cookie. Each session carries its own CSRF token, which every console form
posts back, and the hash of the API token it was opened with: revoking that
token (or deactivating the user) ends the session at once, as it ends API
access. Sessions expire after ``session_hours`` (``[plugins.console]``);
signing out deletes the row, so the cookie is dead even if a copy survives.

Cookie flags: ``HttpOnly`` and ``SameSite=Strict`` always; ``Secure`` when the
request arrived over https, or always when ``[plugins.console] secure_cookie =
true`` (set this behind a TLS-terminating proxy, where the gateway itself
sees plain http). Tests on http://127.0.0.1 leave it unset, so the browser
still sends the cookie there.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from gateway.auth import User, hash_token
from gateway.services import Gateway
from gateway.store import Store, utcnow

COOKIE = "dg_console"
# Before sign-in there is no session to hold a CSRF token, so the sign-in form
# uses a double-submit cookie: a random value both in this cookie and the form.
PRE_COOKIE = "dg_console_pre"
COOKIE_PATH = "/console"
DEFAULT_SESSION_HOURS = 12.0


@dataclass(frozen=True)
class Session:
    user: User
    csrf: str
    expires_at: float


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8")).hexdigest()


def settings(gateway: Gateway) -> dict[str, Any]:
    return gateway.plugin_settings("console")


def session_seconds(gateway: Gateway) -> float:
    return float(settings(gateway).get("session_hours", DEFAULT_SESSION_HOURS)) * 3600


# -- storage (run on the database thread via store.call) --------------------


def create(store: Store, user_id: str, token: str, lifetime: float) -> tuple[str, str]:
    """A new session for ``user_id`` signed in with ``token``; returns (session id for the cookie, csrf token)."""
    session_id = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    now = time.time()
    with store.transaction() as conn:
        # Expired rows are swept on sign-in: cheap, and the table never grows unbounded.
        conn.execute("DELETE FROM console_sessions WHERE expires_at < ?", (now,))
        conn.execute(
            "INSERT INTO console_sessions (id_hash, user_id, token_hash, csrf, created_at, expires_at) VALUES (?,?,?,?,?,?)",
            (_hash(session_id), user_id, hash_token(token), csrf, utcnow(), now + lifetime),
        )
    return session_id, csrf


def lookup(store: Store, session_id: str) -> Session | None:
    """The live session for a cookie value: None when unknown, expired, its token revoked, or its user inactive."""
    row = store.query_one(
        "SELECT s.csrf, s.expires_at, u.* FROM console_sessions s JOIN users u ON u.id = s.user_id "
        "JOIN tokens t ON t.hash = s.token_hash AND t.user_id = s.user_id "
        "WHERE s.id_hash = ? AND u.active = 1 AND t.revoked_at IS NULL",
        (_hash(session_id),),
    )
    if row is None or row["expires_at"] < time.time():
        return None
    return Session(User.from_row(row), row["csrf"], row["expires_at"])


def delete(store: Store, session_id: str) -> None:
    with store.transaction() as conn:
        conn.execute("DELETE FROM console_sessions WHERE id_hash = ?", (_hash(session_id),))


# -- cookies -----------------------------------------------------------------


def secure_cookie(request: web.Request, gateway: Gateway) -> bool:
    return request.secure or bool(settings(gateway).get("secure_cookie", False))


def set_cookie(response: web.StreamResponse, request: web.Request, gateway: Gateway, name: str, value: str,
               max_age: int | None) -> None:
    response.set_cookie(
        name, value, max_age=max_age, path=COOKIE_PATH, httponly=True, samesite="Strict",
        secure=secure_cookie(request, gateway),
    )


def clear_cookie(response: web.StreamResponse, name: str) -> None:
    response.del_cookie(name, path=COOKIE_PATH)


def same_token(expected: str | None, given: str | None) -> bool:
    """Constant-time comparison that treats a missing value as a mismatch."""
    if not expected or not given:
        return False
    return hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8"))


def new_pre_token() -> str:
    return secrets.token_urlsafe(24)
