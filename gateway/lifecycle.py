"""Account life cycle by articles 16 and 17: suspend, close within 10 working days, overdue closings.

Suspending (article 17) and closing (article 16) change the account's status
through ``accounts.update_account``, so both are audited like any account
change and the workflow refuses new drafts the moment the status is written.
A closing also records the request and its deadline: the operating unit has
10 working days to have the platform close the account and report the result.
An account closed through ``PATCH /v1/accounts/{id}`` (no closing record) is
still listed, its request time taken from the audit entry.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from gateway import audit
from gateway.accounts import get_row, update_account
from gateway.auth import User
from gateway.people import StateError
from gateway.store import Store
from gateway.workdays import CalendarNotCovered, add_workdays, china_today, due_after, workdays_between

CLOSING_WORKDAYS = 10


def _require_account(store: Store, account_id: str) -> dict[str, Any]:
    row = get_row(store, account_id)
    if row is None:
        raise KeyError(account_id)
    return row


def closing_deadline(requested: date) -> date:
    """Article 16: the 10th working day after the request (``CalendarNotCovered`` past the calendar)."""
    return add_workdays(requested, CLOSING_WORKDAYS)


def suspend(store: Store, account_id: str, reason: str, actor: User) -> dict[str, Any]:
    """Article 17: the account accepts no drafts from now on."""
    with store.transaction():
        row = _require_account(store, account_id)
        if row["status"] != "active":
            raise StateError("not_active", f"account {account_id!r} is {row['status']}; only an active account is suspended")
        return update_account(store, account_id, {"status": "suspended"}, actor, reason)


def request_close(store: Store, account_id: str, reason: str, actor: User) -> dict[str, Any]:
    """Article 16: close the account now and record the request with its deadline."""
    with store.transaction() as conn:
        row = _require_account(store, account_id)
        if row["status"] == "closed":
            raise StateError("already_closed", f"account {account_id!r} is already closed")
        shown = update_account(store, account_id, {"status": "closed"}, actor, reason)
        entry = _latest_close_entry(store, account_id)
        assert entry is not None
        # Past the calendar the deadline is None: the status change must not wait for
        # a calendar upgrade; the listing fills it in once the calendar covers the year.
        deadline, _ = _deadline(entry["at"])
        conn.execute(
            "INSERT INTO gov_closings (account, requested_at, requested_by, reason, deadline, audit_seq) VALUES (?,?,?,?,?,?)",
            (account_id, entry["at"], actor.id, reason, deadline, entry["seq"]),
        )
    closing = _current_closing(store, account_id)
    assert closing is not None
    return {"account": shown, "closing": closing}


def report_closed(store: Store, account_id: str, result: str, actor: User, closed_on: date | None = None) -> dict[str, Any]:
    """The unit reports the platform's closing result (article 16's 报备)."""
    with store.transaction() as conn:
        row = _require_account(store, account_id)
        if row["status"] != "closed":
            raise StateError("not_closed", f"account {account_id!r} is {row['status']}; only a closed account has a closing")
        current = _current_closing(store, account_id)
        entry = _latest_close_entry(store, account_id)
        assert entry is not None
        if current is None or current.get("source") == "audit":
            # Closed through PATCH: materialise the request so the result has a record to sit on.
            deadline, _ = _deadline(entry["at"])
            conn.execute(
                "INSERT INTO gov_closings (account, requested_at, requested_by, reason, deadline, audit_seq) VALUES (?,?,?,?,?,?)",
                (account_id, entry["at"], entry["actor"], json.loads(entry["data"]).get("reason", ""), deadline, entry["seq"]),
            )
        elif current["closed_at"]:
            raise StateError("already_reported", f"account {account_id!r}: the closing result was already reported")
        when = (closed_on or china_today()).isoformat()
        conn.execute(
            "UPDATE gov_closings SET closed_at = ?, closed_by = ?, result = ? WHERE account = ? AND audit_seq = ?",
            (when, actor.id, result, account_id, entry["seq"]),
        )
        audit.append(store, actor.id, "account.closing_reported", f"account:{account_id}", {"closed_on": when, "result": result})
    closing = _current_closing(store, account_id)
    assert closing is not None
    return closing


def _latest_close_entry(store: Store, account_id: str) -> dict[str, Any] | None:
    return store.query_one(
        "SELECT * FROM audit_log WHERE subject = ? AND action = 'account.closed' ORDER BY seq DESC LIMIT 1",
        (f"account:{account_id}",),
    )


def _deadline(at: str) -> tuple[str | None, str | None]:
    """The closing deadline of a request made at ``at``, or None and the calendar's reason."""
    return due_after(at, CLOSING_WORKDAYS)


def _current_closing(store: Store, account_id: str, today: date | None = None) -> dict[str, Any] | None:
    found = closings(store, today=today, account_id=account_id)
    return found[0] if found else None


def closings(store: Store, *, overdue_only: bool = False, today: date | None = None,
             account_id: str | None = None) -> list[dict[str, Any]]:
    """The closing of every closed account (or only ``account_id``'s): request, deadline, result, overdue or not."""
    today = today or china_today()
    out = []
    sql = "SELECT id, name, unit, platform FROM accounts WHERE status = 'closed'"
    params: tuple[str, ...] = ()
    if account_id is not None:
        sql += " AND id = ?"
        params = (account_id,)
    for acc in store.query(sql + " ORDER BY id", params):
        entry = _latest_close_entry(store, acc["id"])
        if entry is None:  # closed without an audit entry: only possible by editing the database
            continue
        row = store.query_one("SELECT * FROM gov_closings WHERE account = ? AND audit_seq = ?", (acc["id"], entry["seq"]))
        item: dict[str, Any] = {"account": acc["id"], "name": acc["name"], "unit": acc["unit"], "platform": acc["platform"]}
        if row:
            item.update(requested_at=row["requested_at"], requested_by=row["requested_by"], reason=row["reason"],
                        deadline=row["deadline"], closed_at=row["closed_at"], closed_by=row["closed_by"],
                        result=row["result"], source="closing")
        else:
            item.update(requested_at=entry["at"], requested_by=entry["actor"], reason=json.loads(entry["data"]).get("reason", ""),
                        deadline=None, closed_at=None, closed_by=None, result=None, source="audit")
        item["working_days_left"] = None
        item["overdue"] = False
        if item["deadline"] is None:
            item["deadline"], why = _deadline(item["requested_at"])
            if why:
                item["deadline_error"] = why
        if item["deadline"] is not None and not item["closed_at"]:
            deadline = date.fromisoformat(item["deadline"])
            item["overdue"] = today > deadline
            try:
                item["working_days_left"] = workdays_between(today, deadline)
            except CalendarNotCovered:
                pass
        if overdue_only and not item["overdue"]:
            continue
        out.append(item)
    return out
