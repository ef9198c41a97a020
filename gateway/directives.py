"""The publicity department's unified arrangements (article 14) and each account's compliance.

An admin records a directive: "accounts publish on topic X between two dates",
with the terms that identify a matching post, for every account or a named
few. An account complied when it published (through the gateway) a post whose
title or text contains one of the terms within the window; article 15 asks for
this in the annual report.
"""

from __future__ import annotations

import json
import secrets
from datetime import date
from typing import Any

from gateway import audit
from gateway.auth import User
from gateway.model import Content
from gateway.store import Store, dumps, utcnow
from gateway.text import normalize, normalize_term
from gateway.workdays import day_bounds_utc


def directive_json(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"], "topic": row["topic"], "terms": json.loads(row["terms"]),
        "starts_on": row["starts_on"], "ends_on": row["ends_on"],
        "accounts": json.loads(row["accounts"]) if row["accounts"] else None,
        "created_by": row["created_by"], "created_at": row["created_at"],
    }


def create(store: Store, topic: str, terms: list[str], starts_on: date, ends_on: date,
           accounts: list[str] | None, actor: User) -> dict[str, Any]:
    directive_id = f"dir-{secrets.token_hex(4)}"
    with store.transaction() as conn:
        conn.execute(
            "INSERT INTO gov_directives (id, topic, terms, starts_on, ends_on, accounts, created_by, created_at) VALUES (?,?,?,?,?,?,?,?)",
            (directive_id, topic, dumps(terms), starts_on.isoformat(), ends_on.isoformat(),
             dumps(accounts) if accounts is not None else None, actor.id, utcnow()),
        )
        audit.append(store, actor.id, "directive.created", f"directive:{directive_id}",
                     {"topic": topic, "terms": terms, "starts_on": starts_on.isoformat(), "ends_on": ends_on.isoformat(),
                      "accounts": accounts})
    row = store.query_one("SELECT * FROM gov_directives WHERE id = ?", (directive_id,))
    assert row is not None
    return directive_json(row)


def list_directives(store: Store) -> list[dict[str, Any]]:
    return [directive_json(r) for r in store.query("SELECT * FROM gov_directives ORDER BY starts_on, id")]


def _matches(title: str, body: str, body_format: str, terms: list[str]) -> bool:
    # The text a checker would screen (newlines are kept in the compact view: no term spans one).
    compact = normalize(Content(title, body, body_format).screened_text).compact
    return any(normalize_term(t) and normalize_term(t) in compact for t in terms)


def compliance(store: Store, account: dict[str, Any], year: int, today: date) -> list[dict[str, Any]]:
    """Each directive for ``account`` whose window touches ``year``: complied, missed or pending."""
    out = []
    rows = store.query(
        "SELECT * FROM gov_directives WHERE starts_on <= ? AND ends_on >= ? ORDER BY starts_on, id",
        (f"{year}-12-31", f"{year}-01-01"),
    )
    opened = account["created_at"]
    for row in rows:
        directive = directive_json(row)
        if directive["accounts"] is not None and account["id"] not in directive["accounts"]:
            continue
        starts, ends = date.fromisoformat(directive["starts_on"]), date.fromisoformat(directive["ends_on"])
        lo, hi = day_bounds_utc(starts, ends)
        if opened >= hi:  # the account did not exist during the window
            continue
        posts = store.query(
            "SELECT p.draft_id, p.published_at, r.title, r.body, r.body_format FROM publications p "
            "JOIN revisions r ON r.draft_id = p.draft_id AND r.revision = p.revision "
            "WHERE p.account = ? AND p.state = 'published' AND p.published_at >= ? AND p.published_at < ? ORDER BY p.published_at",
            (account["id"], lo, hi),
        )
        matching = [{"draft": p["draft_id"], "title": p["title"], "published_at": p["published_at"]}
                    for p in posts if _matches(p["title"], p["body"], p["body_format"], directive["terms"])]
        if matching:
            status = "complied"
        elif today <= ends:
            status = "pending"
        else:
            status = "missed"
        out.append({"directive": directive["id"], "topic": directive["topic"], "starts_on": directive["starts_on"],
                    "ends_on": directive["ends_on"], "status": status, "posts": matching})
    return out
