"""The durable publish queue: retries with backoff, exactly once, survives restarts."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

from conftest import FlakyTarget, MarkerPlugin, RecordingWebhook, World, build_world, make_config

from gateway.app import create_app
from gateway.appkeys import GATEWAY
from gateway.publish import backoff_delay


def test_backoff_doubles_from_the_base_and_is_capped() -> None:
    delays = [backoff_delay(n, 1.0, 300.0) for n in range(1, 12)]
    assert delays[0] <= 1.0, "the first retry comes within 2 seconds"
    assert all(0.8 * min(300, 2 ** (n - 1)) <= d <= min(300, 2 ** (n - 1)) for n, d in enumerate(delays, 1))
    assert max(delays) <= 300.0


async def test_target_failing_twice_then_succeeding_delivers_exactly_once(aiohttp_client: Any, tmp_path: Path) -> None:
    target = FlakyTarget(failures=2)
    world = await build_world(aiohttp_client, tmp_path, plugin=MarkerPlugin(target=target))
    _, body = await world.submit(body="clean")
    draft_id = body["draft"]["id"]
    pub = await world.wait_publication(draft_id)
    assert pub["state"] == "published" and pub["attempts"] == 3
    assert len(target.delivered) == 1 and len(target.calls) == 3
    assert len(set(target.calls)) == 1, "every attempt carries the same idempotency key"
    await asyncio.sleep(0.3)
    assert len(target.calls) == 3, "nothing is sent again after success"
    actions = [e["action"] for e in (await world.call("GET", f"/v1/audit?draft={draft_id}", "admin"))[1]["entries"]]
    assert actions.count("publication.attempt_failed") == 2 and actions[-1] == "publication.published"


async def test_webhook_target_signs_the_body_and_retries(aiohttp_client: Any, tmp_path: Path) -> None:
    hook = RecordingWebhook(fail_first=2)
    receiver_client = await aiohttp_client(hook.app())
    url = str(receiver_client.make_url("/hook"))
    world = await build_world(aiohttp_client, tmp_path)
    status, out = await world.call("PATCH", "/v1/accounts/acc", "admin", json={"publish": {"target": "webhook", "url": url, "secret": "k3y"}})
    assert status == 200, out
    _, body = await world.submit(title="通知", body="正文 REVIEWME")
    draft_id = body["draft"]["id"]
    await world.call("POST", f"/v1/drafts/{draft_id}/decision", "resp", json={"decision": "approve", "comment": "ok"})
    pub = await world.wait_publication(draft_id)
    assert pub["state"] == "published" and pub["attempts"] == 3
    assert len(hook.accepted) == 1
    headers, raw = hook.requests[-1]
    assert headers["Idempotency-Key"] == f"draftgate-{draft_id}-r1"
    assert headers["X-Draftgate-Signature"] == "sha256=" + hmac.new(b"k3y", raw, hashlib.sha256).hexdigest()
    payload = json.loads(raw)
    assert payload == {"draft_id": draft_id, "revision": 1, "account": "acc", "title": "通知", "body": "正文 REVIEWME",
                       "body_format": "text", "images": [], "approved_by": "resp"}
    assert {h["Idempotency-Key"] for h, _ in hook.requests} == {f"draftgate-{draft_id}-r1"}


async def test_permanent_failure_is_visible(aiohttp_client: Any, tmp_path: Path) -> None:
    world = await build_world(aiohttp_client, tmp_path)
    await world.call("PATCH", "/v1/accounts/acc", "admin", json={"publish": {"target": "outbox"}})
    # A target that is no longer loaded is a permanent failure, with the reason shown.
    world.gateway.publish_targets.pop("outbox")
    _, body = await world.submit(body="clean")
    pub = await world.wait_publication(body["draft"]["id"], state="failed")
    assert pub["state"] == "failed" and "outbox" in pub["last_error"]


async def test_queued_items_survive_a_restart(aiohttp_client: Any, tmp_path: Path) -> None:
    down = FlakyTarget(failures=10_000)
    first = await build_world(aiohttp_client, tmp_path, plugin=MarkerPlugin(target=down), publish_retry_base=30.0)
    _, body = await first.submit(body="clean")
    draft_id = body["draft"]["id"]
    pub = await first.wait_publication(draft_id, state="queued")
    assert pub["state"] == "queued"
    await first.client.close()  # stops the app: cleanup_ctx closes the store

    target = FlakyTarget()
    app = await create_app(make_config(tmp_path), extra_plugins=[MarkerPlugin(target=target)])
    store = app[GATEWAY].store
    # The restarted gateway is told to try now rather than wait out the first one's backoff.
    store.execute("UPDATE publications SET next_attempt_at = 0")
    client = await aiohttp_client(app)
    second = World(client, app, MarkerPlugin(target=target), first.tokens)
    pub = await second.wait_publication(draft_id)
    assert pub["state"] == "published"
    assert list(target.delivered) == [f"draftgate-{draft_id}-r1"]


async def test_outbox_keeps_one_row_per_revision(aiohttp_client: Any, tmp_path: Path) -> None:
    world = await build_world(aiohttp_client, tmp_path)
    await world.call("PATCH", "/v1/accounts/acc", "admin", json={"publish": {"target": "outbox"}})
    _, body = await world.submit(title="发布", body="内容")
    draft_id = body["draft"]["id"]
    await world.wait_publication(draft_id)
    outbox = world.gateway.publish_targets["outbox"]
    from gateway.drafts import load_draft
    from gateway.model import PublishItem

    draft = load_draft(world.gateway.store, draft_id)
    assert draft is not None
    item = PublishItem(draft_id, 1, draft.account, draft.content, draft.content.content_hash(), None,
                       f"draftgate-{draft_id}-r1", 2, {})
    await outbox.publish(item)  # a redelivery after a crash between send and commit
    rows = world.gateway.store.query("SELECT payload FROM outbox")
    assert len(rows) == 1 and json.loads(rows[0]["payload"])["title"] == "发布"
