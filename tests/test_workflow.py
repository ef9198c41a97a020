"""The draft life cycle end to end through the HTTP API, on a real app and SQLite file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from conftest import FlakyTarget, MarkerPlugin, World, build_world
from image_helpers import b64, solid_image

from gateway.publish import Publisher


async def test_clean_draft_passes_and_is_published(world: World) -> None:
    status, body = await world.submit(title="迎新晚会", body="欢迎新同学")
    assert status == 201
    draft = body["draft"]
    assert draft["status"] == "passed" and draft["findings"] == []
    pub = await world.wait_publication(draft["id"])
    assert pub["state"] == "published" and pub["attempts"] == 1
    item = world.plugin.target.delivered[f"draftgate-{draft['id']}-r1"]
    assert (item.content.title, item.content.body) == ("迎新晚会", "欢迎新同学")


async def test_flagged_draft_waits_then_approved_is_published_byte_for_byte(world: World) -> None:
    tiny_png = solid_image((8, 8), (200, 30, 30))
    png = b64(tiny_png)
    status, body = await world.submit(title="讲座", body="请 REVIEWME 一下\r\n  空格保留 ", images=[{"name": "a.png", "data": png}])
    draft = body["draft"]
    assert draft["status"] == "flagged"
    assert draft["findings"][0]["severity"] == "review"
    assert draft["publication"]["state"] == "none"
    _, queue = await world.call("GET", "/v1/reviews", "resp")
    assert [d["id"] for d in queue["drafts"]] == [draft["id"]]
    status, body = await world.call("POST", f"/v1/drafts/{draft['id']}/decision", "resp", json={"decision": "approve", "comment": "可以发"})
    assert status == 200 and body["draft"]["status"] == "approved"
    decision = body["draft"]["decisions"][0]
    assert decision["decided_by"] == "resp" and decision["comment"] == "可以发"
    assert decision["content_hash"] == draft["content_hash"]
    await world.wait_publication(draft["id"])
    item = world.plugin.target.delivered[f"draftgate-{draft['id']}-r1"]
    assert item.content.body == "请 REVIEWME 一下\r\n  空格保留 "
    assert item.content.images[0].data == tiny_png
    assert item.approved_by == "resp" and item.content_hash == decision["content_hash"]
    _, queue = await world.call("GET", "/v1/reviews", "resp")
    assert queue["drafts"] == []


async def test_flagged_draft_rejected_is_not_published(world: World) -> None:
    _, body = await world.submit(body="REVIEWME")
    draft_id = body["draft"]["id"]
    status, body = await world.call("POST", f"/v1/drafts/{draft_id}/decision", "resp", json={"decision": "reject", "comment": "不合适"})
    assert status == 200 and body["draft"]["status"] == "rejected"
    assert body["draft"]["publication"]["state"] == "none"
    assert world.plugin.target.calls == []


async def test_blocked_draft_revised_and_screened_afresh(world: World) -> None:
    _, body = await world.submit(body="含有 BLOCKME 的内容")
    draft = body["draft"]
    assert draft["status"] == "blocked"
    status, body = await world.call("POST", f"/v1/drafts/{draft['id']}/decision", "resp", json={"decision": "approve"})
    assert status == 409
    status, body = await world.call("POST", f"/v1/drafts/{draft['id']}/revisions", "op", json={"title": "标题", "body": "改好了"})
    assert status == 201
    revised = body["draft"]
    assert revised["revision"] == 2 and revised["status"] == "passed" and revised["findings"] == []
    assert [r["status"] for r in revised["revisions"]] == ["blocked", "passed"]
    await world.wait_publication(draft["id"])
    assert list(world.plugin.target.delivered) == [f"draftgate-{draft['id']}-r2"]


async def test_rejected_then_revised_needs_a_new_decision_for_the_new_content(world: World) -> None:
    _, body = await world.submit(body="REVIEWME v1")
    draft_id = body["draft"]["id"]
    await world.call("POST", f"/v1/drafts/{draft_id}/decision", "resp", json={"decision": "reject", "comment": "改"})
    _, body = await world.call("POST", f"/v1/drafts/{draft_id}/revisions", "op", json={"title": "标题", "body": "REVIEWME v2"})
    assert body["draft"]["status"] == "flagged" and body["draft"]["revision"] == 2
    _, body = await world.call("POST", f"/v1/drafts/{draft_id}/decision", "resp", json={"decision": "approve"})
    assert [d["revision"] for d in body["draft"]["decisions"]] == [1, 2]
    assert body["draft"]["decisions"][1]["content_hash"] == body["draft"]["content_hash"]
    await world.wait_publication(draft_id)
    assert world.plugin.target.delivered[f"draftgate-{draft_id}-r2"].content.body == "REVIEWME v2"


async def test_passed_or_approved_drafts_take_no_revision(world: World) -> None:
    _, body = await world.submit(body="干净")
    status, err = await world.call("POST", f"/v1/drafts/{body['draft']['id']}/revisions", "op", json={"title": "t", "body": "x"})
    assert status == 409 and err["error"]["code"] == "not_revisable"


async def test_review_policy_all_holds_clean_drafts(world: World) -> None:
    status, _ = await world.call("PATCH", "/v1/accounts/acc", "admin", json={"review_policy": "all"})
    assert status == 200
    _, body = await world.submit(body="完全干净")
    assert body["draft"]["status"] == "flagged" and body["draft"]["findings"] == []


async def test_info_findings_do_not_hold_a_draft(world: World) -> None:
    _, body = await world.submit(body="NOTEME")
    assert body["draft"]["status"] == "passed"
    assert body["draft"]["findings"][0]["severity"] == "info"


async def test_suspended_and_closed_accounts_accept_no_drafts(world: World) -> None:
    for status_name in ("suspended", "closed"):
        status, _ = await world.call("PATCH", "/v1/accounts/acc", "admin", json={"status": status_name, "reason": "test"})
        assert status == 200
        status, err = await world.submit()
        assert status == 409 and err["error"]["code"] == "account_inactive"
    await world.call("PATCH", "/v1/accounts/acc", "admin", json={"status": "active"})
    status, _ = await world.submit()
    assert status == 201


async def test_idempotency_key_returns_the_same_draft(world: World) -> None:
    headers = {"Idempotency-Key": "retry-123"}
    payload = {"account": "acc", "title": "t", "body": "b"}
    s1, b1 = await world.call("POST", "/v1/drafts", "op", json=payload, headers=headers)
    s2, b2 = await world.call("POST", "/v1/drafts", "op", json=payload, headers=headers)
    assert s1 == s2 == 201 and b1["draft"]["id"] == b2["draft"]["id"]
    s3, b3 = await world.call("POST", "/v1/drafts", "op", json={**payload, "body": "other"}, headers=headers)
    assert s3 == 409 and b3["error"]["code"] == "idempotency_key_reused"
    count = world.gateway.store.query_one("SELECT count(*) AS n FROM drafts")
    assert count == {"n": 1}


async def test_concurrent_retries_with_one_key_make_one_draft(world: World) -> None:
    import asyncio

    payload = {"account": "acc", "title": "t", "body": "b"}
    results = await asyncio.gather(
        *(world.call("POST", "/v1/drafts", "op", json=payload, headers={"Idempotency-Key": "same"}) for _ in range(5))
    )
    assert {r[0] for r in results} == {201}
    assert len({r[1]["draft"]["id"] for r in results}) == 1
    assert world.gateway.store.query_one("SELECT count(*) AS n FROM drafts") == {"n": 1}





async def test_suspension_holds_flagged_and_queued_drafts_at_once(aiohttp_client: Any, tmp_path: Path) -> None:
    target = FlakyTarget()
    world = await build_world(aiohttp_client, tmp_path, plugin=MarkerPlugin(target=target), publish_enabled=False)
    _, flagged = await world.submit(body="REVIEWME")
    _, passed = await world.submit(body="clean")
    await world.call("PATCH", "/v1/accounts/acc", "admin", json={"status": "suspended", "reason": "违规"})
    status, err = await world.call("POST", f"/v1/drafts/{flagged['draft']['id']}/decision", "resp", json={"decision": "approve"})
    assert status == 409 and err["error"]["code"] == "account_inactive"
    publisher = Publisher(world.gateway)
    assert await publisher.drain() == 0
    _, body = await world.call("GET", f"/v1/drafts/{passed['draft']['id']}", "op")
    assert body["draft"]["publication"]["state"] == "queued" and "suspended" in body["draft"]["publication"]["held"]
    await world.call("PATCH", "/v1/accounts/acc", "admin", json={"status": "active"})
    assert await publisher.drain() == 1
    assert list(target.delivered) == [f"draftgate-{passed['draft']['id']}-r1"]
