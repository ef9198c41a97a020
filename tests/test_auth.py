"""Who may do what: tokens, roles per account, the sign-off rules."""

from __future__ import annotations

from conftest import World

from gateway import auth


async def test_missing_and_unknown_tokens_are_401(world: World) -> None:
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic abc"}):
        resp = await world.client.get("/v1/drafts", headers=headers)
        assert resp.status == 401
        assert (await resp.json())["error"]["code"] == "unauthorized"
    resp = await world.client.get("/healthz")
    assert resp.status == 200


async def test_tokens_are_stored_only_as_hashes(world: World) -> None:
    rows = world.gateway.store.query("SELECT hash FROM tokens")
    stored = {r["hash"] for r in rows}
    for token in world.tokens.values():
        assert token not in stored
        assert auth.hash_token(token) in stored
    dump = "\n".join(world.gateway.store._conn.iterdump())
    assert not any(token in dump for token in world.tokens.values())


async def test_only_operators_submit_to_an_account(world: World) -> None:
    status, err = await world.submit(who="op2", account="acc")
    assert status == 403 and err["error"]["code"] == "forbidden"
    status, _ = await world.submit(who="op2", account="acc2")
    assert status == 201


async def test_only_operators_revise(world: World) -> None:
    _, body = await world.submit(body="BLOCKME")
    status, _ = await world.call("POST", f"/v1/drafts/{body['draft']['id']}/revisions", "op2", json={"title": "t", "body": "b"})
    assert status == 403


async def test_only_the_responsible_person_signs_off(world: World) -> None:
    _, body = await world.submit(body="REVIEWME")
    draft_id = body["draft"]["id"]
    for who in ("op", "op2", "resp2", "admin"):
        status, err = await world.call("POST", f"/v1/drafts/{draft_id}/decision", who, json={"decision": "approve"})
        assert status == 403, who
    status, _ = await world.call("POST", f"/v1/drafts/{draft_id}/decision", "resp", json={"decision": "approve"})
    assert status == 200


async def test_responsible_person_cannot_approve_their_own_revision(world: World) -> None:
    _, body = await world.submit(who="resp", body="REVIEWME")
    status, err = await world.call("POST", f"/v1/drafts/{body['draft']['id']}/decision", "resp", json={"decision": "approve"})
    assert status == 403 and "submitted this revision" in err["error"]["message"]


async def test_decision_on_a_draft_that_is_not_flagged_is_409(world: World) -> None:
    _, body = await world.submit(body="clean")
    status, err = await world.call("POST", f"/v1/drafts/{body['draft']['id']}/decision", "resp", json={"decision": "approve"})
    assert status == 409 and err["error"]["code"] == "not_flagged"


async def test_unknown_draft_is_404(world: World) -> None:
    for method, path, payload in (
        ("GET", "/v1/drafts/nope", None),
        ("POST", "/v1/drafts/nope/decision", {"decision": "approve"}),
        ("POST", "/v1/drafts/nope/revisions", {"title": "t", "body": "b"}),
    ):
        status, err = await world.call(method, path, "resp", json=payload)
        assert status == 404 and err["error"]["code"] == "not_found"


async def test_drafts_are_visible_only_to_people_of_their_account(world: World) -> None:
    _, body = await world.submit(body="x")
    draft_id = body["draft"]["id"]
    for who, expected in (("op", 200), ("resp", 200), ("admin", 200), ("op2", 403), ("resp2", 403)):
        status, _ = await world.call("GET", f"/v1/drafts/{draft_id}", who)
        assert status == expected, who
    _, listing = await world.call("GET", "/v1/drafts", "op2")
    assert listing["drafts"] == []
    status, _ = await world.call("GET", "/v1/drafts?account=acc", "op2")
    assert status == 403


async def test_admin_only_endpoints(world: World) -> None:
    for method, path, payload in (
        ("POST", "/v1/users", {"id": "x", "name": "x", "kind": "staff"}),
        ("POST", "/v1/accounts", {"id": "a3", "name": "n", "platform": "other", "unit": "u", "responsible": "resp"}),
        ("PATCH", "/v1/accounts/acc", {"review_policy": "all"}),
        ("GET", "/v1/checkers", None),
        ("GET", "/v1/audit/verify", None),
    ):
        status, err = await world.call(method, path, "resp", json=payload)
        assert status == 403, path


async def test_new_user_gets_a_working_token_once(world: World) -> None:
    status, body = await world.call("POST", "/v1/users", "admin", json={"id": "sun", "name": "孙", "kind": "student"})
    assert status == 201 and body["token"].startswith("dg_")
    status, me = await world.call("GET", "/v1/me", body["token"])
    assert status == 200 and me["user"]["id"] == "sun"
    status, _ = await world.call("POST", "/v1/users", "admin", json={"id": "sun", "name": "孙", "kind": "student"})
    assert status == 409


async def test_responsible_person_must_be_staff(world: World) -> None:
    status, err = await world.call("POST", "/v1/accounts", "admin", json={
        "id": "a3", "name": "学生社团", "platform": "weibo", "unit": "团委", "responsible": "op"})
    assert status == 422 and err["error"]["field"] == "responsible"
    status, err = await world.call("PATCH", "/v1/accounts/acc", "admin", json={"responsible": "op2"})
    assert status == 422 and err["error"]["field"] == "responsible"


async def test_webhook_secret_is_never_returned(world: World) -> None:
    status, body = await world.call("POST", "/v1/accounts", "admin", json={
        "id": "hooked", "name": "外联", "platform": "other", "unit": "u", "responsible": "resp",
        "publish": {"target": "webhook", "url": "http://127.0.0.1:9/x", "secret": "s3cr3t-value"}})
    assert status == 201
    assert "s3cr3t-value" not in str(body) and body["account"]["publish"]["secret_set"] is True
    _, again = await world.call("GET", "/v1/accounts/hooked", "admin")
    assert "s3cr3t-value" not in str(again)


async def test_a_decision_on_a_revision_the_reviewer_did_not_read_is_409(world: World) -> None:
    _, body = await world.submit(body="REVIEWME v1")
    draft_id = body["draft"]["id"]
    await world.call("POST", f"/v1/drafts/{draft_id}/revisions", "op", json={"title": "标题", "body": "REVIEWME v2"})
    status, err = await world.call("POST", f"/v1/drafts/{draft_id}/decision", "resp", json={"decision": "approve", "revision": 1})
    assert status == 409 and err["error"]["code"] == "stale_revision"
    status, ok = await world.call("POST", f"/v1/drafts/{draft_id}/decision", "resp", json={"decision": "approve", "revision": 2})
    assert status == 200 and ok["draft"]["decisions"][0]["revision"] == 2
