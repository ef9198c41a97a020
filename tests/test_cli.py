"""The CLI bootstrap, and a real gateway process: a 201 survives SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from gateway.store import Store


def _cli(db: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gateway.cli", "--db", db, *args], capture_output=True, text=True, timeout=60)


def test_users_add_prints_the_token_last(tmp_path: Path) -> None:
    db = str(tmp_path / "x.db")
    out = _cli(db, "users", "add", "wang", "--name", "王老师", "--kind", "staff", "--admin")
    assert out.returncode == 0, out.stderr
    token = out.stdout.strip().splitlines()[-1]
    assert token.startswith("dg_")
    again = _cli(db, "users", "add", "wang", "--name", "王老师", "--kind", "staff")
    assert again.returncode == 1 and "already exists" in again.stderr


def test_db_path_from_environment(tmp_path: Path) -> None:
    db = tmp_path / "env.db"
    out = subprocess.run([sys.executable, "-m", "gateway.cli", "users", "add", "u", "--name", "U", "--kind", "student"],
                         capture_output=True, text=True, env={**os.environ, "DRAFTGATE_DB": str(db)}, timeout=60)
    assert out.returncode == 0 and db.exists()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _request(url: str, token: str, body: dict | None = None) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, headers={"Authorization": f"Bearer {token}"}, method="POST" if data else "GET")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def _start(db: str, port: int, stderr: Any = subprocess.DEVNULL) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([sys.executable, "-m", "gateway.cli", "--db", db, "serve", "--host", "127.0.0.1", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=stderr)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise AssertionError("gateway did not start")


def test_a_draft_acknowledged_with_201_survives_sigkill(tmp_path: Path) -> None:
    db = str(tmp_path / "kill.db")
    admin = _cli(db, "users", "add", "admin", "--name", "A", "--kind", "staff", "--admin").stdout.split()[-1]
    _cli(db, "users", "add", "resp", "--name", "R", "--kind", "staff")
    op = _cli(db, "users", "add", "op", "--name", "O", "--kind", "student").stdout.split()[-1]
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    proc = _start(db, port)
    try:
        status, _ = _request(f"{base}/v1/accounts", admin, {"id": "acc", "name": "学院", "platform": "wechat", "unit": "u",
                                                           "responsible": "resp", "operators": ["op"], "review_policy": "all"})
        assert status == 201
        status, body = _request(f"{base}/v1/drafts", op, {"account": "acc", "title": "标题", "body": "确认后立即被杀"})
        assert status == 201
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    store = Store(db)
    try:
        row = store.query_one("SELECT status FROM drafts WHERE id = ?", (body["draft"]["id"],))
        assert row == {"status": "flagged"}
    finally:
        store.close()
    proc = _start(db, port)
    try:
        status, again = _request(f"{base}/v1/drafts/{body['draft']['id']}", op)
        assert status == 200 and again["draft"]["title"] == "标题"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_served_access_log_never_writes_query_tokens(tmp_path: Path) -> None:
    db = str(tmp_path / "log.db")
    _cli(db, "users", "add", "admin", "--name", "A", "--kind", "staff", "--admin")
    port = _free_port()
    log_path = tmp_path / "stderr.log"
    with open(log_path, "wb") as log_file:
        proc = _start(db, port, stderr=log_file)
        try:
            for path in ("/cgi-bin/freepublish/get?access_token=SUPERSECRETTOKEN", "/healthz?secret=ANOTHERSECRET"):
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5).read()
                except urllib.error.HTTPError:
                    pass
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    log = log_path.read_text()
    assert "freepublish/get" in log, "the request is logged"
    assert "SUPERSECRETTOKEN" not in log and "ANOTHERSECRET" not in log
