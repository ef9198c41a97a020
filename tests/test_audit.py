"""The hash-chained audit log: every step recorded, tampering named."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

from conftest import World


async def _some_history(world: World) -> str:
    _, body = await world.submit(body="REVIEWME")
    draft_id = body["draft"]["id"]
    await world.call("POST", f"/v1/drafts/{draft_id}/decision", "resp", json={"decision": "approve", "comment": "ok"})
    await world.wait_publication(draft_id)
    return draft_id


async def test_every_step_of_a_draft_is_in_its_trail(world: World) -> None:
    draft_id = await _some_history(world)
    status, body = await world.call("GET", f"/v1/audit?draft={draft_id}", "resp")
    assert status == 200
    actions = [e["action"] for e in body["entries"]]
    assert actions == ["draft.submitted", "draft.screened", "draft.approved", "publication.queued", "publication.published"]
    assert body["entries"][2]["actor"] == "resp" and body["entries"][2]["data"]["comment"] == "ok"
    status, _ = await world.call("GET", f"/v1/audit?draft={draft_id}", "op")
    assert status == 403
    _, everything = await world.call("GET", "/v1/audit", "admin")
    assert {"user.created", "account.created"} <= {e["action"] for e in everything["entries"]}


async def test_verify_passes_on_an_untouched_log(world: World) -> None:
    await _some_history(world)
    status, body = await world.call("GET", "/v1/audit/verify", "admin")
    assert status == 200 and body["ok"] is True and body["entries"] >= 10


async def test_an_edited_entry_is_named(world: World) -> None:
    await _some_history(world)
    db = world.gateway.config.db_path
    with sqlite3.connect(db) as conn:
        conn.execute("""UPDATE audit_log SET data = '{"comment":"forged"}' WHERE seq = 4""")
    _, body = await world.call("GET", "/v1/audit/verify", "admin")
    assert body["ok"] is False and body["first_bad"]["seq"] == 4
    assert "altered" in body["first_bad"]["problem"]


async def test_a_removed_entry_is_named(world: World) -> None:
    await _some_history(world)
    with sqlite3.connect(world.gateway.config.db_path) as conn:
        conn.execute("DELETE FROM audit_log WHERE seq = 6")
    _, body = await world.call("GET", "/v1/audit/verify", "admin")
    assert body["ok"] is False and body["first_bad"]["seq"] == 6 and "missing" in body["first_bad"]["problem"]


async def test_rewriting_an_entry_and_its_hash_breaks_the_next_link(world: World) -> None:
    from gateway.audit import entry_hash

    await _some_history(world)
    with sqlite3.connect(world.gateway.config.db_path) as conn:
        seq, at, actor, action, subject, data, prev = conn.execute(
            "SELECT seq, at, actor, action, subject, data, prev_hash FROM audit_log WHERE seq = 3").fetchone()
        forged = data.replace("}", ',"x":1}')
        conn.execute("UPDATE audit_log SET data = ?, hash = ? WHERE seq = 3",
                     (forged, entry_hash(seq, at, actor, action, subject, forged, prev)))
    _, body = await world.call("GET", "/v1/audit/verify", "admin")
    assert body["ok"] is False and body["first_bad"]["seq"] == 4


def test_cli_audit_verify(tmp_path: Path) -> None:
    db = str(tmp_path / "cli.db")
    run = lambda *a: subprocess.run([sys.executable, "-m", "gateway.cli", "--db", db, *a], capture_output=True, text=True)  # noqa: E731
    assert run("users", "add", "a", "--name", "A", "--kind", "staff").returncode == 0
    assert run("users", "add", "b", "--name", "B", "--kind", "student").returncode == 0
    ok = run("audit", "verify")
    assert ok.returncode == 0 and '"ok": true' in ok.stdout
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE audit_log SET actor = 'mallory' WHERE seq = 1")
    bad = run("audit", "verify")
    assert bad.returncode == 1 and '"seq": 1' in bad.stdout
