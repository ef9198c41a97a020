"""The append-only, hash-chained audit log (table ``audit_log``).

Each entry's hash covers its own fields and the previous entry's hash, so an
edited entry breaks its own hash and a removed one breaks the chain at the
next entry. ``verify`` walks the whole chain and names the first bad entry.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from gateway.store import Store, dumps, utcnow

GENESIS = "0" * 64


def entry_hash(seq: int, at: str, actor: str | None, action: str, subject: str | None, data: str, prev_hash: str) -> str:
    canonical = json.dumps(
        [seq, at, actor, action, subject, data, prev_hash], ensure_ascii=False, separators=(",", ":")
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def append(store: Store, actor: str | None, action: str, subject: str | None, data: dict[str, Any] | None = None) -> dict[str, Any]:
    """Append one entry; call inside the transaction of the change it records."""
    with store.transaction() as conn:
        last = conn.execute("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
        seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
        at = utcnow()
        payload = dumps(data or {})
        digest = entry_hash(seq, at, actor, action, subject, payload, prev)
        conn.execute(
            "INSERT INTO audit_log (seq, at, actor, action, subject, data, prev_hash, hash) VALUES (?,?,?,?,?,?,?,?)",
            (seq, at, actor, action, subject, payload, prev, digest),
        )
    return {"seq": seq, "at": at, "actor": actor, "action": action, "subject": subject, "data": data or {}, "hash": digest}


def entry_json(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "seq": row["seq"],
        "at": row["at"],
        "actor": row["actor"],
        "action": row["action"],
        "subject": row["subject"],
        "data": json.loads(row["data"]),
        "prev_hash": row["prev_hash"],
        "hash": row["hash"],
    }


def entries(store: Store, subject: str | None = None, limit: int = 1000) -> list[dict[str, Any]]:
    if subject is None:
        rows = store.query("SELECT * FROM audit_log ORDER BY seq LIMIT ?", (limit,))
    else:
        rows = store.query("SELECT * FROM audit_log WHERE subject = ? ORDER BY seq LIMIT ?", (subject, limit))
    return [entry_json(r) for r in rows]


def verify(store: Store) -> dict[str, Any]:
    """Re-check the whole chain: ``{ok, entries}`` plus ``first_bad`` when it fails."""
    prev = GENESIS
    expected_seq = 1
    count = 0
    cur = store.execute("SELECT seq, at, actor, action, subject, data, prev_hash, hash FROM audit_log ORDER BY seq")
    for seq, at, actor, action, subject, data, prev_hash, digest in cur:
        count += 1
        problem = None
        if seq != expected_seq:
            problem = f"entry {expected_seq} is missing (next entry is {seq})"
        elif prev_hash != prev:
            problem = f"entry {seq} does not chain to the entry before it"
        elif entry_hash(seq, at, actor, action, subject, data, prev_hash) != digest:
            problem = f"entry {seq} was altered (its hash does not match its content)"
        if problem:
            return {
                "ok": False,
                "entries": count,
                "first_bad": {"seq": seq if seq == expected_seq else expected_seq, "problem": problem},
            }
        prev = digest
        expected_seq += 1
    return {"ok": True, "entries": count}
