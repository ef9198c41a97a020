"""People by articles 9 and 10: units, deactivation, orphaned accounts, the people-change log.

A unit has a first responsible person (第一责任人); each account a responsible
person (in-service staff) and operators (staff or enrolled students). When a
person leaves, ``deactivate_user`` revokes every token at once and names the
accounts and units left without someone in a required role.

The people-change log is read from the audit log rather than kept twice: every
change of people already writes an audited entry (with time and actor) in the
transaction that makes it, so a second table could only drift from it.
"""

from __future__ import annotations

import json
from typing import Any

from gateway import audit
from gateway.accounts import PeopleError
from gateway.auth import User, get_user
from gateway.store import Store, utcnow
from gateway.workdays import due_after

# Article 10: changes of people are reported within 5 working days.
REPORT_WORKDAYS = 5
PEOPLE_FIELDS = ("responsible", "operators")


class StateError(ValueError):
    """The change is not allowed in the person's or record's current state (HTTP 409)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


# -- units -------------------------------------------------------------------


def _check_first_responsible(store: Store, user_id: str) -> None:
    person = get_user(store, user_id)
    if person is None or not person.active:
        raise PeopleError("first_responsible", f"user {user_id!r} does not exist or is inactive")
    if not person.is_staff:
        raise PeopleError("first_responsible", f"user {user_id!r} is a {person.kind}; a unit's first responsible person is staff")


def unit_json(row: dict[str, Any]) -> dict[str, Any]:
    return {k: row[k] for k in ("id", "name", "first_responsible", "created_at", "updated_at")}


def get_unit(store: Store, unit_id: str) -> dict[str, Any] | None:
    row = store.query_one("SELECT * FROM gov_units WHERE id = ?", (unit_id,))
    return unit_json(row) if row else None


def create_unit(store: Store, unit_id: str, name: str, first_responsible: str, actor: User) -> dict[str, Any]:
    """Register a unit; raises ``PeopleError`` for a first responsible person who is not active staff."""
    _check_first_responsible(store, first_responsible)
    now = utcnow()
    with store.transaction() as conn:
        conn.execute(
            "INSERT INTO gov_units (id, name, first_responsible, created_at, updated_at) VALUES (?,?,?,?,?)",
            (unit_id, name, first_responsible, now, now),
        )
        audit.append(store, actor.id, "unit.created", f"unit:{unit_id}", {"name": name, "first_responsible": first_responsible})
    shown = get_unit(store, unit_id)
    assert shown is not None
    return shown


def update_unit(store: Store, unit_id: str, changes: dict[str, Any], actor: User) -> dict[str, Any]:
    if "first_responsible" in changes:
        _check_first_responsible(store, changes["first_responsible"])
    with store.transaction() as conn:
        before = get_unit(store, unit_id)
        if before is None:
            raise KeyError(unit_id)
        sets = ", ".join(f"{k} = ?" for k in changes)
        conn.execute(f"UPDATE gov_units SET {sets}, updated_at = ? WHERE id = ?", (*changes.values(), utcnow(), unit_id))
        diff = {k: {"from": before[k], "to": v} for k, v in changes.items() if before[k] != v}
        audit.append(store, actor.id, "unit.updated", f"unit:{unit_id}", {"changes": diff})
    shown = get_unit(store, unit_id)
    assert shown is not None
    return shown


def list_units(store: Store) -> list[dict[str, Any]]:
    rows = store.query(
        "SELECT u.*, (SELECT COUNT(*) FROM accounts a WHERE a.unit = u.id OR a.unit = u.name) AS accounts "
        "FROM gov_units u ORDER BY u.id"
    )
    return [{**unit_json(r), "accounts": r["accounts"]} for r in rows]


# -- deactivation and orphans ------------------------------------------------


def orphaned(store: Store) -> dict[str, list[dict[str, Any]]]:
    """Accounts (not closed) without an active responsible person or active operator; units likewise."""
    active = {r["id"]: r for r in store.query("SELECT id, kind FROM users WHERE active = 1")}
    accounts = []
    for row in store.query("SELECT id, name, unit, status, responsible, operators FROM accounts WHERE status != 'closed' ORDER BY id"):
        missing = []
        responsible = active.get(row["responsible"])
        if responsible is None or responsible["kind"] != "staff":
            missing.append("responsible")
        operators = json.loads(row["operators"])
        if not any(op in active for op in operators):
            missing.append("operator")
        if missing:
            accounts.append({
                "account": row["id"], "name": row["name"], "unit": row["unit"], "status": row["status"],
                "missing": missing,
                "inactive_people": sorted({p for p in (row["responsible"], *operators) if p not in active}),
            })
    units = [
        {"unit": r["id"], "name": r["name"], "missing": ["first_responsible"], "inactive_people": [r["first_responsible"]]}
        for r in store.query("SELECT id, name, first_responsible FROM gov_units ORDER BY id")
        if r["first_responsible"] not in active
    ]
    return {"accounts": accounts, "units": units}


def deactivate_user(store: Store, user_id: str, reason: str, actor: User) -> dict[str, Any]:
    """A person left (graduated, departed): inactive at once, every token revoked, orphans flagged.

    One transaction, so no request authenticated after this returns can use
    the person's tokens (``user_for_token`` also checks ``users.active``).
    """
    now = utcnow()
    with store.transaction() as conn:
        person = get_user(store, user_id)
        if person is None:
            raise KeyError(user_id)
        if not person.active:
            raise StateError("already_inactive", f"user {user_id!r} is already inactive")
        conn.execute("UPDATE users SET active = 0 WHERE id = ?", (user_id,))
        revoked = conn.execute(
            "UPDATE tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL", (now, user_id)
        ).rowcount
        flags = orphaned(store)
        touched_accounts = [a for a in flags["accounts"] if user_id in a["inactive_people"]]
        touched_units = [u for u in flags["units"] if user_id in u["inactive_people"]]
        audit.append(store, actor.id, "user.deactivated", f"user:{user_id}", {
            "reason": reason, "tokens_revoked": revoked,
            "flagged_accounts": [{"account": a["account"], "missing": a["missing"]} for a in touched_accounts],
            "flagged_units": [u["unit"] for u in touched_units],
        })
    after = get_user(store, user_id)
    assert after is not None
    return {"user": after.to_json(), "tokens_revoked": revoked, "flagged_accounts": touched_accounts, "flagged_units": touched_units}


# -- the people-change log ---------------------------------------------------


def _people_diff(data: dict[str, Any]) -> dict[str, Any]:
    changes = data.get("changes", {})
    out: dict[str, Any] = {}
    if "responsible" in changes:
        out["responsible"] = changes["responsible"]
    if "operators" in changes:
        before, after = changes["operators"]["from"] or [], changes["operators"]["to"] or []
        out["operators"] = {"from": before, "to": after,
                            "added": [p for p in after if p not in before], "removed": [p for p in before if p not in after]}
    return out


def _change_of(entry: dict[str, Any]) -> dict[str, Any] | None:
    """The people change an audit entry records, or None when it records none."""
    action, data = entry["action"], entry["data"]
    if action == "user.created":
        details = {"user": entry["subject"].split(":", 1)[1], "name": data.get("name"), "kind": data.get("kind")}
    elif action == "user.deactivated":
        details = {"user": entry["subject"].split(":", 1)[1], "reason": data.get("reason"),
                   "flagged_accounts": data.get("flagged_accounts", [])}
    elif action == "unit.created":
        details = {"unit": entry["subject"].split(":", 1)[1], "first_responsible": data.get("first_responsible")}
    elif action == "unit.updated":
        if "first_responsible" not in data.get("changes", {}):
            return None
        details = {"unit": entry["subject"].split(":", 1)[1], "first_responsible": data["changes"]["first_responsible"]}
    elif action == "account.created":
        details = {"account": data.get("id"), "responsible": data.get("responsible"), "operators": data.get("operators", [])}
    elif action.startswith("account."):
        diff = _people_diff(data)
        if not diff:
            return None
        details = {"account": entry["subject"].split(":", 1)[1], **diff}
    else:
        return None
    return {"seq": entry["seq"], "at": entry["at"], "actor": entry["actor"], "change": action, **details}


def report_due(at: str) -> tuple[str | None, str | None]:
    """The date (China) by which a change made at ``at`` is reported; or None and why."""
    return due_after(at, REPORT_WORKDAYS)


def people_changes(store: Store, since: str | None = None, until: str | None = None) -> list[dict[str, Any]]:
    """Every change of people, oldest first, with when it is to be reported (article 10)."""
    sql = ("SELECT * FROM audit_log WHERE (action IN ('user.created', 'user.deactivated', 'unit.created', 'unit.updated')"
           " OR action LIKE 'account.%')")
    params: list[Any] = []
    if since:
        sql += " AND at >= ?"
        params.append(since)
    if until:
        sql += " AND at < ?"
        params.append(until)
    out = []
    for row in store.query(sql + " ORDER BY seq", tuple(params)):
        change = _change_of(audit.entry_json(row))
        if change is None:
            continue
        due, why = report_due(change["at"])
        change["report_due"] = due
        if why:
            change["report_due_error"] = why
        out.append(change)
    return out
