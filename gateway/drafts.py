"""Reading drafts back: rows to ``Draft`` values and to the API's JSON shape."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from gateway.accounts import account_from_row, get_row
from gateway.model import Content, Draft, ImageInput
from gateway.store import Store


def get_draft_row(store: Store, draft_id: str) -> dict[str, Any] | None:
    return store.query_one("SELECT * FROM drafts WHERE id = ?", (draft_id,))


def load_content(store: Store, draft_id: str, revision: int) -> Content:
    rev = store.query_one("SELECT * FROM revisions WHERE draft_id = ? AND revision = ?", (draft_id, revision))
    assert rev is not None, (draft_id, revision)
    images = store.query(
        "SELECT idx, name, data FROM revision_images WHERE draft_id = ? AND revision = ? ORDER BY idx",
        (draft_id, revision),
    )
    return Content(
        rev["title"], rev["body"], rev["body_format"], tuple(ImageInput(i["idx"], i["name"], i["data"]) for i in images)
    )


def load_draft(store: Store, draft_id: str, revision: int | None = None) -> Draft | None:
    row = get_draft_row(store, draft_id)
    if row is None:
        return None
    revision = revision or row["revision"]
    rev = store.query_one("SELECT * FROM revisions WHERE draft_id = ? AND revision = ?", (draft_id, revision))
    account_row = get_row(store, row["account"])
    if rev is None or account_row is None:
        return None
    return Draft(
        id=draft_id,
        revision=revision,
        account=account_from_row(account_row),
        content=load_content(store, draft_id, revision),
        submitted_by=rev["submitted_by"],
        submitted_at=rev["submitted_at"],
    )


def publication_json(store: Store, draft_id: str, revision: int) -> dict[str, Any]:
    pub = store.query_one("SELECT * FROM publications WHERE draft_id = ? AND revision = ?", (draft_id, revision))
    if pub is None:
        return {"state": "none", "attempts": 0}
    out = {
        "state": pub["state"],
        "attempts": pub["attempts"],
        "target": pub["target"],
        "last_error": pub["last_error"],
        "queued_at": pub["created_at"],
        "published_at": pub["published_at"],
        "remote": json.loads(pub["remote"]),
    }
    if pub["state"] == "queued":
        out["next_attempt_at"] = datetime.fromtimestamp(pub["next_attempt_at"], timezone.utc).isoformat(timespec="seconds")
        account = store.query_one("SELECT status FROM accounts WHERE id = ?", (pub["account"],))
        if account and account["status"] != "active":
            out["held"] = f"account is {account['status']}: publication waits until it is active again"
    return out


def finding_rows(store: Store, draft_id: str, revision: int) -> list[dict[str, Any]]:
    rows = store.query(
        "SELECT checker, rule, severity, message, evidence FROM findings WHERE draft_id = ? AND revision = ? ORDER BY id",
        (draft_id, revision),
    )
    return [{**r, "evidence": json.loads(r["evidence"])} for r in rows]


def draft_json(store: Store, draft_id: str, *, include_body: bool = True) -> dict[str, Any] | None:
    row = get_draft_row(store, draft_id)
    return None if row is None else _draft_json(store, row, include_body)


def _draft_json(store: Store, row: dict[str, Any], include_body: bool) -> dict[str, Any]:
    draft_id, revision = row["id"], row["revision"]
    # The body (up to megabytes) is read only when it is answered.
    columns = "title, body_format, content_hash, submitted_by, submitted_at" + (", body" if include_body else "")
    rev = store.query_one(f"SELECT {columns} FROM revisions WHERE draft_id = ? AND revision = ?", (draft_id, revision))
    assert rev is not None
    images = store.query(
        "SELECT idx, name, sha256, length(data) AS size FROM revision_images WHERE draft_id = ? AND revision = ? ORDER BY idx",
        (draft_id, revision),
    )
    decisions = store.query(
        "SELECT revision, decision, decided_by, comment, content_hash, decided_at FROM decisions WHERE draft_id = ? ORDER BY id",
        (draft_id,),
    )
    history = store.query(
        "SELECT revision, title, status, submitted_by, submitted_at, content_hash FROM revisions WHERE draft_id = ? ORDER BY revision",
        (draft_id,),
    )
    out: dict[str, Any] = {
        "id": draft_id,
        "account": row["account"],
        "revision": revision,
        "title": rev["title"],
        "status": row["status"],
        "findings": finding_rows(store, draft_id, revision),
        "decisions": decisions,
        "publication": publication_json(store, draft_id, revision),
        "body_format": rev["body_format"],
        "images": [{"index": i["idx"], "name": i["name"], "sha256": i["sha256"], "size": i["size"]} for i in images],
        "content_hash": rev["content_hash"],
        "submitted_by": rev["submitted_by"],
        "submitted_at": rev["submitted_at"],
        "created_by": row["created_by"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
        "revisions": history,
    }
    if include_body:
        out["body"] = rev["body"]
    return out


def list_drafts(
    store: Store, *, accounts: list[str], status: str | None, limit: int = 200, oldest_first: bool = False
) -> list[dict[str, Any]]:
    """The drafts of ``accounts`` (most recently updated first), without their bodies."""
    if not accounts:
        return []
    clauses = [f"account IN ({', '.join('?' * len(accounts))})"]
    params: list[Any] = list(accounts)
    if status:
        clauses.append("status = ?")
        params.append(status)
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    order = "ASC" if oldest_first else "DESC"
    rows = store.query(f"SELECT * FROM drafts {where} ORDER BY updated_at {order} LIMIT ?", (*params, limit))
    return [_draft_json(store, row, include_body=False) for row in rows]
