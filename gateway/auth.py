"""Users, API tokens and roles.

Tokens are random, shown once and stored only as SHA-256 hashes: a 256-bit
random token needs no slow hash, and an exact-match lookup by hash keeps
authentication one indexed read.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from gateway import audit
from gateway.model import Account
from gateway.store import Store, utcnow

TOKEN_PREFIX = "dg_"


@dataclass(frozen=True)
class User:
    id: str
    name: str
    kind: str
    admin: bool
    active: bool = True

    @property
    def is_staff(self) -> bool:
        return self.kind == "staff"

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "kind": self.kind, "admin": self.admin, "active": self.active}

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> "User":
        return cls(row["id"], row["name"], row["kind"], bool(row["admin"]), bool(row["active"]))


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def get_user(store: Store, user_id: str) -> User | None:
    row = store.query_one("SELECT * FROM users WHERE id = ?", (user_id,))
    return User.from_row(row) if row else None


def user_for_token(store: Store, token: str) -> User | None:
    """The active user a token belongs to, or None (unknown, revoked, or deactivated)."""
    row = store.query_one(
        "SELECT u.* FROM tokens t JOIN users u ON u.id = t.user_id "
        "WHERE t.hash = ? AND t.revoked_at IS NULL AND u.active = 1",
        (hash_token(token),),
    )
    return User.from_row(row) if row else None


def create_user(store: Store, *, id: str, name: str, kind: str, admin: bool = False, actor: str | None = None) -> tuple[User, str]:
    """Create a user and a first token; returns the token in clear, the only time it exists."""
    token = new_token()
    now = utcnow()
    with store.transaction() as conn:
        conn.execute(
            "INSERT INTO users (id, name, kind, admin, active, created_at) VALUES (?,?,?,?,1,?)",
            (id, name, kind, int(admin), now),
        )
        conn.execute("INSERT INTO tokens (hash, user_id, created_at) VALUES (?,?,?)", (hash_token(token), id, now))
        audit.append(store, actor, "user.created", f"user:{id}", {"name": name, "kind": kind, "admin": admin})
    return User(id, name, kind, admin), token


def issue_token(store: Store, user_id: str, actor: str | None = None) -> str:
    token = new_token()
    with store.transaction() as conn:
        conn.execute("INSERT INTO tokens (hash, user_id, created_at) VALUES (?,?,?)", (hash_token(token), user_id, utcnow()))
        audit.append(store, actor, "token.issued", f"user:{user_id}", {})
    return token


# -- roles -----------------------------------------------------------------


def is_operator(user: User, account: Account) -> bool:
    return user.id in account.operators


def is_responsible(user: User, account: Account) -> bool:
    return user.id == account.responsible


def can_read_account(user: User, account: Account) -> bool:
    return user.admin or is_operator(user, account) or is_responsible(user, account)
