"""``/v1/embargoes``: admins declare embargoed topics; drafts on them are blocked until they lift."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from conftest import World


def later(days: float = 1) -> str:
    return (datetime.now(timezone.utc) + timedelta(days=days)).isoformat()


async def test_embargo_blocks_the_next_draft_and_names_topic_and_lift(world: World) -> None:
    ends = later()
    status, body = await world.call("POST", "/v1/embargoes", "admin",
                                    json={"topic": "校领导任免", "terms": ["校长+任命", ["院长", "人选"]], "ends_at": ends})
    assert status == 201, body
    embargo = body["embargo"]
    assert embargo["topic"] == "校领导任免" and embargo["terms"] == ["校长+任命", "院长+人选"] and embargo["active"]

    status, body = await world.submit(body="学校今天任命了新校长。")
    assert body["draft"]["status"] == "blocked"
    [f] = [f for f in body["draft"]["findings"] if f["checker"] == "embargo"]
    assert f["evidence"]["topic"] == "校领导任免"
    assert f["evidence"]["lifts_at"] == datetime.fromisoformat(ends).isoformat()
    assert "校领导任免" in f["message"]

    status, body = await world.submit(body="校长出席典礼。任命文件另行公布。")
    assert [f for f in body["draft"]["findings"] if f["checker"] == "embargo"] == []


async def test_future_embargo_has_no_effect_yet(world: World) -> None:
    status, _ = await world.call("POST", "/v1/embargoes", "admin",
                                 json={"topic": "t", "terms": ["新校区"], "starts_at": later(1), "ends_at": later(2)})
    assert status == 201
    status, body = await world.submit(body="新校区选址确定")
    assert body["draft"]["status"] == "passed"


async def test_exempt_and_official_accounts(world: World) -> None:
    status, body = await world.call("POST", "/v1/accounts", "admin", json={
        "id": "pku", "name": "党委宣传部", "platform": "wechat", "unit": "党委宣传部", "responsible": "resp",
        "operators": ["op"], "official": True})
    assert status == 201, body
    status, _ = await world.call("POST", "/v1/embargoes", "admin",
                                 json={"topic": "t", "terms": ["新校区"], "ends_at": later(), "exempt_accounts": ["acc2"]})
    assert status == 201
    _, body = await world.submit(body="新校区选址确定", account="pku")
    assert body["draft"]["status"] == "passed"
    _, body = await world.submit(who="op2", body="新校区选址确定", account="acc2")
    assert body["draft"]["status"] == "passed"
    _, body = await world.submit(body="新校区选址确定")
    assert body["draft"]["status"] == "blocked"


async def test_lifting_ends_it(world: World) -> None:
    _, body = await world.call("POST", "/v1/embargoes", "admin", json={"topic": "t", "terms": ["新校区"], "ends_at": later()})
    eid = body["embargo"]["id"]
    status, body = await world.call("DELETE", f"/v1/embargoes/{eid}", "admin")
    assert status == 200 and body["embargo"]["lifted_at"]
    _, body = await world.submit(body="新校区选址确定")
    assert body["draft"]["status"] == "passed"
    status, _ = await world.call("DELETE", "/v1/embargoes/emb_nope", "admin")
    assert status == 404


async def test_validation(world: World) -> None:
    cases = [
        ({"topic": "t", "terms": ["x"], "ends_at": "2026-06-01T12:00:00"}, "ends_at"),
        ({"topic": "t", "terms": ["x"], "ends_at": "soon"}, "ends_at"),
        ({"topic": "t", "terms": ["x"], "ends_at": later(1), "starts_at": later(2)}, "ends_at"),
        ({"topic": "t", "terms": ["校长+"], "ends_at": later()}, "terms[0]"),
        ({"topic": "t", "terms": [], "ends_at": later()}, "terms"),
        ({"topic": "t", "terms": ["x"], "ends_at": later(), "exempt_accounts": ["ghost"]}, "exempt_accounts"),
        ({"terms": ["x"], "ends_at": later()}, "topic"),
    ]
    for payload, field in cases:
        status, body = await world.call("POST", "/v1/embargoes", "admin", json=payload)
        assert status == 422, (payload, body)
        assert body["error"]["message"].startswith(field), (payload, body)


async def test_admin_only_listing_and_audit(world: World) -> None:
    status, _ = await world.call("POST", "/v1/embargoes", "op", json={"topic": "t", "terms": ["x"], "ends_at": later()})
    assert status == 403
    _, body = await world.call("POST", "/v1/embargoes", "admin", json={"topic": "t", "terms": ["x"], "ends_at": later()})
    eid = body["embargo"]["id"]
    status, body = await world.call("GET", "/v1/embargoes", "admin")
    assert status == 200 and [e["id"] for e in body["embargoes"]] == [eid]
    rows = world.gateway.store.query("SELECT actor, action FROM audit_log WHERE subject = ?", (f"embargo:{eid}",))
    assert rows == [{"actor": "admin", "action": "embargo.created"}]
