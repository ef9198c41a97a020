"""Platform credentials and publish secrets are sealed at rest, set by admins, never shown."""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import stat
from pathlib import Path
from typing import Any

import pytest

import draftgate_plugins.webhook as webhook_plugin
import draftgate_plugins.wechat as wechat_plugin
from conftest import RecordingWebhook, World, build_world
from gateway import secrets
from gateway.store import Store

APP_SECRET = "wx-secret-9f8e7d6c5b4a"
HOOK_SECRET = "hook-secret-0a1b2c3d4e"


@pytest.fixture
async def world(aiohttp_client: Any, tmp_path: Path) -> World:
    """The shared world without the shipped checkers (their start-up time is not what these tests measure)."""
    return await build_world(aiohttp_client, tmp_path, extra_plugins=(wechat_plugin,), load_entry_points=False)


def db_bytes(tmp_path: Path) -> bytes:
    """Everything SQLite wrote for the database: the main file and the WAL."""
    return b"".join(p.read_bytes() for p in tmp_path.glob("gateway.db*") if not p.name.endswith(".secret-key"))


def test_key_file_is_created_0600_next_to_the_db_and_reused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(secrets.ENV_KEY, raising=False)
    store = Store(tmp_path / "gateway.db")
    sealed = secrets.box_for_store(store).seal(b"hello", "ctx")
    key_file = tmp_path / "gateway.db.secret-key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    secrets._boxes.clear()  # a new process: the key comes back from the file
    assert secrets.box_for_store(store).open(sealed, "ctx") == b"hello"
    store.close()


def test_a_key_file_readable_by_others_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(secrets.ENV_KEY, raising=False)
    key_file = tmp_path / "gateway.db.secret-key"
    key_file.write_text(secrets.new_key())
    os.chmod(key_file, 0o644)
    store = Store(tmp_path / "gateway.db")
    with pytest.raises(secrets.SecretError, match="chmod 600"):
        secrets.box_for_store(store)
    store.close()


def test_env_key_wins_and_a_wrong_key_or_moved_blob_does_not_open(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(secrets.ENV_KEY, secrets.new_key())
    store = Store(tmp_path / "gateway.db")
    box = secrets.box_for_store(store)
    assert not (tmp_path / "gateway.db.secret-key").exists()
    blob = box.seal(b"s3cret", "platform_credentials:a")
    assert b"s3cret" not in blob
    with pytest.raises(secrets.SecretError, match="does not open"):
        box.open(blob, "platform_credentials:b")
    monkeypatch.setenv(secrets.ENV_KEY, secrets.new_key())
    with pytest.raises(secrets.SecretError):
        secrets.box_for_store(store).open(blob, "platform_credentials:a")
    monkeypatch.setenv(secrets.ENV_KEY, "too-short")
    with pytest.raises(secrets.SecretError, match=secrets.ENV_KEY):
        secrets.box_for_store(store)
    store.close()


async def test_admin_sets_credentials_they_are_sealed_and_never_shown(
    world: World, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    status, body = await world.call("PATCH", "/v1/accounts/acc", "admin", json={"publish": {"target": "wechat"}})
    assert status == 200, body
    status, body = await world.call("PUT", "/v1/accounts/acc/credentials", "admin",
                                    json={"app_id": "wx0123456789abcdef", "app_secret": APP_SECRET})
    assert status == 200, body
    assert body["credentials"]["fields"] == ["app_id", "app_secret"] and body["credentials"]["platform"] == "wechat"
    assert APP_SECRET not in str(body)
    for path in ("/v1/accounts/acc/credentials", "/v1/accounts/acc", "/v1/audit?draft=account:acc"):
        _, shown = await world.call("GET", path, "admin")
        assert APP_SECRET not in str(shown) and "wx0123456789abcdef" not in str(shown)
    assert APP_SECRET.encode() not in db_bytes(tmp_path)
    assert APP_SECRET not in caplog.text
    store = world.gateway.store
    opened = await store.call(secrets.load_credentials, store, "acc")
    assert opened == {"app_id": "wx0123456789abcdef", "app_secret": APP_SECRET}


@pytest.mark.parametrize(
    ("who", "body", "status", "field"),
    [
        ("op", {"app_id": "x", "app_secret": "y"}, 403, None),
        ("resp", {"app_id": "x", "app_secret": "y"}, 403, None),
        ("admin", {"app_id": "x"}, 422, "app_secret"),
        ("admin", {"app_id": "x", "app_secret": "y", "refresh_token": "z"}, 422, "refresh_token"),
        ("admin", {"app_id": 5, "app_secret": "y"}, 422, "app_id"),
    ],
)
async def test_credentials_refused(world: World, who: str, body: dict[str, Any], status: int, field: str | None) -> None:
    await world.call("PATCH", "/v1/accounts/acc", "admin", json={"publish": {"target": "wechat"}})
    got, out = await world.call("PUT", "/v1/accounts/acc/credentials", who, json=body)
    assert got == status, out
    if field:
        assert out["error"]["field"] == field
    _, shown = await world.call("GET", "/v1/accounts/acc/credentials", "admin")
    assert shown["credentials"]["set"] is False


async def test_unknown_account_is_404_and_delete_removes(world: World) -> None:
    status, _ = await world.call("PUT", "/v1/accounts/nope/credentials", "admin", json={"access_token": "t"})
    assert status == 404
    status, out = await world.call("PUT", "/v1/accounts/acc2/credentials", "admin", json={"access_token": "weibo-token"})
    assert status == 200 and out["credentials"]["platform"] == "weibo"
    status, out = await world.call("DELETE", "/v1/accounts/acc2/credentials", "admin")
    assert status == 200 and out["credentials"]["set"] is False
    status, _ = await world.call("DELETE", "/v1/accounts/acc2/credentials", "admin")
    assert status == 404


async def test_webhook_secret_is_sealed_in_the_db_and_still_signs(aiohttp_client: Any, tmp_path: Path) -> None:
    hook = RecordingWebhook()
    receiver = await aiohttp_client(hook.app())
    world = await build_world(aiohttp_client, tmp_path, accounts=False, extra_plugins=(webhook_plugin,),
                              load_entry_points=False)
    status, out = await world.call("POST", "/v1/accounts", "admin", json={
        "id": "hooked", "name": "化学学院", "platform": "other", "unit": "化学学院", "responsible": "resp",
        "operators": ["op"], "publish": {"target": "webhook", "url": str(receiver.make_url("/hook")), "secret": HOOK_SECRET},
    })
    assert status == 201, out
    assert out["account"]["publish"]["secret_set"] is True and HOOK_SECRET not in str(out)
    assert HOOK_SECRET.encode() not in db_bytes(tmp_path)
    _, body = await world.submit(account="hooked", title="通知", body="正文")
    pub = await world.wait_publication(body["draft"]["id"])
    assert pub["state"] == "published", pub
    headers, payload = hook.requests[0]
    signature = headers.get("X-Draftgate-Signature", "")
    assert signature == "sha256=" + hmac.new(HOOK_SECRET.encode(), payload, hashlib.sha256).hexdigest()
