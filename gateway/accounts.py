"""Accounts: rows to ``Account`` values, validation of people and names, changes audited."""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from gateway import audit
from gateway.auth import User, get_user
from gateway.model import Account, Permits
from gateway.secrets import SEALED_PUBLISH_KEYS, open_publish, seal_publish
from gateway.store import Store, dumps, utcnow

# Article 3: names using these marks need the school's approval (school_marks permit).
SCHOOL_MARKS = ("北京大学", "北大", "pekinguniversity", "pku", "燕园", "未名")
_TRAD = str.maketrans({
    "學": "学", "斈": "学", "園": "园", "薗": "园", "亰": "京",
    # Cyrillic and Greek letters that render like P, K, U: "РКU" must not slip past.
    "р": "p", "к": "k", "κ": "k", "ρ": "p", "υ": "u", "е": "e", "і": "i", "о": "o", "ѕ": "s", "у": "y",
})
_SKIP = re.compile(r"[\s\u200b-\u200f\u2060\ufeff·・._\-*]+")

SECRET_KEYS = SEALED_PUBLISH_KEYS  # what is sealed at rest is what no answer shows


def find_school_mark(name: str) -> str | None:
    """The school mark a name uses, in any width, case, spacing or traditional form."""
    folded = _SKIP.sub("", unicodedata.normalize("NFKC", name).casefold().translate(_TRAD))
    for mark in SCHOOL_MARKS:
        if mark in folded:
            return mark
    return None


def school_mark_problem(name: str, permits: dict[str, Any]) -> tuple[str, str] | None:
    """Article 3: ``(field, message)`` when a name uses a school mark without the recorded approval.

    The approval is the ``school_marks`` permit together with ``school_marks_ref``,
    the reference of the school's written approval, so the record can be traced.
    """
    mark = find_school_mark(name)
    if not mark:
        return None
    if not permits.get("school_marks"):
        return "name", f"uses the school mark {mark!r}; that needs the school_marks permit (article 3)"
    if not str(permits.get("school_marks_ref") or "").strip():
        return "permits.school_marks_ref", f"the name uses the school mark {mark!r}: record the approval's reference (article 3)"
    return None


def account_from_row(row: dict[str, Any]) -> Account:
    permits = json.loads(row["permits"])
    return Account(
        id=row["id"],
        name=row["name"],
        platform=row["platform"],
        unit=row["unit"],
        responsible=row["responsible"],
        operators=tuple(json.loads(row["operators"])),
        official=bool(row["official"]),
        permits=Permits(commercial=bool(permits.get("commercial")), school_marks=bool(permits.get("school_marks"))),
        review_policy=row["review_policy"],
        status=row["status"],
    )


def redact_publish(publish: dict[str, Any]) -> dict[str, Any]:
    """Publish config as the API shows it: secrets replaced by ``<key>_set: true``."""
    out = {}
    for key, value in publish.items():
        if key in SECRET_KEYS:
            out[f"{key}_set"] = bool(value)
        else:
            out[key] = value
    return out


def account_json(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "name": row["name"],
        "platform": row["platform"],
        "unit": row["unit"],
        "responsible": row["responsible"],
        "operators": json.loads(row["operators"]),
        "official": bool(row["official"]),
        "permits": json.loads(row["permits"]),
        "review_policy": row["review_policy"],
        "publish": redact_publish(json.loads(row["publish"])),
        "status": row["status"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }


@dataclass(frozen=True)
class AccountRoles:
    """The accounts one person holds a role on, each list in account id order."""

    responsible: list[str]
    operator: list[str]

    @property
    def any(self) -> list[str]:
        """Accounts with either role, in account id order (an account with both appears once)."""
        return sorted({*self.responsible, *self.operator})


def roles_on_accounts(store: Store, user_id: str, *, active_only: bool = False) -> AccountRoles:
    """Which accounts ``user_id`` is responsible for and operates: the one place that reads it from the rows.

    ``active_only`` leaves out suspended and closed accounts (no drafts are
    submitted to them). Admin rights are not roles: callers that let admins
    read everything decide that themselves.
    """
    where = " WHERE status = 'active'" if active_only else ""
    responsible: list[str] = []
    operator: list[str] = []
    for r in store.query(f"SELECT id, responsible, operators FROM accounts{where} ORDER BY id"):
        if r["responsible"] == user_id:
            responsible.append(r["id"])
        if user_id in json.loads(r["operators"]):
            operator.append(r["id"])
    return AccountRoles(responsible, operator)


def get_row(store: Store, account_id: str) -> dict[str, Any] | None:
    return store.query_one("SELECT * FROM accounts WHERE id = ?", (account_id,))


def get_account(store: Store, account_id: str) -> Account | None:
    row = get_row(store, account_id)
    return account_from_row(row) if row else None


def publish_config(store: Store, account_id: str) -> dict[str, Any]:
    row = store.query_one("SELECT publish FROM accounts WHERE id = ?", (account_id,))
    return open_publish(store, account_id, json.loads(row["publish"])) if row else {}


class PeopleError(ValueError):
    """A person named on an account is unknown or not allowed in that role."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def check_people(store: Store, responsible: str, operators: list[str]) -> None:
    """Article 9: the responsible person is in-service staff; article 10: operators are staff or students."""
    person = get_user(store, responsible)
    if person is None or not person.active:
        raise PeopleError("responsible", f"user {responsible!r} does not exist or is inactive")
    if not person.is_staff:
        raise PeopleError("responsible", f"user {responsible!r} is a {person.kind}; the responsible person must be staff")
    for i, op in enumerate(operators):
        user = get_user(store, op)
        if user is None or not user.active:
            raise PeopleError(f"operators[{i}]", f"user {op!r} does not exist or is inactive")


def insert_account(store: Store, values: dict[str, Any], actor: User) -> dict[str, Any]:
    now = utcnow()
    row = {
        "id": values["id"],
        "name": values["name"],
        "platform": values["platform"],
        "unit": values["unit"],
        "responsible": values["responsible"],
        "operators": dumps(values.get("operators", [])),
        "official": int(values.get("official", False)),
        "permits": dumps(values.get("permits", {})),
        "review_policy": values.get("review_policy", "flagged"),
        # Secrets in the publish config (a webhook's secret) are sealed, never stored in clear.
        "publish": dumps(seal_publish(store, values["id"], values.get("publish") or {"target": "outbox"})),
        "status": "active",
        "created_at": now,
        "updated_at": now,
    }
    with store.transaction() as conn:
        cols = ", ".join(row)
        conn.execute(f"INSERT INTO accounts ({cols}) VALUES ({', '.join('?' * len(row))})", tuple(row.values()))
        shown = account_json(row)
        audit.append(store, actor.id, "account.created", f"account:{row['id']}", shown)
    return shown


def update_account(store: Store, account_id: str, changes: dict[str, Any], actor: User, reason: str | None = None) -> dict[str, Any]:
    encoded = {}
    for key, value in changes.items():
        if key == "publish":
            encoded[key] = dumps(seal_publish(store, account_id, value))
        elif key in ("operators", "permits"):
            encoded[key] = dumps(value)
        elif key == "official":
            encoded[key] = int(value)
        else:
            encoded[key] = value
    encoded["updated_at"] = utcnow()
    with store.transaction() as conn:
        before = get_row(store, account_id)
        assert before is not None
        sets = ", ".join(f"{k} = ?" for k in encoded)
        conn.execute(f"UPDATE accounts SET {sets} WHERE id = ?", (*encoded.values(), account_id))
        after = get_row(store, account_id)
        assert after is not None
        shown_before, shown_after = account_json(before), account_json(after)
        diff = {k: {"from": shown_before[k], "to": shown_after[k]} for k in changes if shown_before.get(k) != shown_after.get(k)}
        data: dict[str, Any] = {"changes": diff}
        if reason:
            data["reason"] = reason
        action = "account.updated"
        if "status" in diff:
            action = f"account.{shown_after['status']}" if shown_after["status"] != "active" else "account.reactivated"
        audit.append(store, actor.id, action, f"account:{account_id}", data)
    return shown_after
