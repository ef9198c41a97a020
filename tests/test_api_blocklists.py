"""``/v1/blocklists``: admin term changes are validated, audited and enforced on the next draft."""

from __future__ import annotations

from typing import Any

from conftest import World


def conf_findings(draft: dict[str, Any]) -> list[str]:
    return [f["evidence"]["term"] for f in draft["findings"] if f["checker"] == "confidentiality"]


async def test_added_term_is_enforced_on_the_next_draft_and_removal_stops_it(world: World) -> None:
    status, body = await world.submit(body="项目代号天穹计划，欢迎关注。")
    assert status == 201 and body["draft"]["status"] == "passed", body

    status, body = await world.call("POST", "/v1/blocklists/confidentiality/terms", "admin",
                                    json={"terms": ["天穹计划"]})
    assert status == 200, body
    assert body["terms"] == ["天穹计划"]
    status, body = await world.submit(body="项目代号天 穹计划，欢迎关注。")
    assert body["draft"]["status"] == "blocked"
    assert conf_findings(body["draft"]) == ["天穹计划"]

    status, body = await world.call("DELETE", "/v1/blocklists/confidentiality/terms", "admin",
                                    json={"terms": ["天穹计划"]})
    assert status == 200 and body["terms"] == ["天穹计划"], body
    status, body = await world.submit(body="项目代号天穹计划，欢迎关注。")
    assert body["draft"]["status"] == "passed"


async def test_removing_a_shipped_term(world: World) -> None:
    status, body = await world.submit(body="此件绝密。")
    assert body["draft"]["status"] == "blocked"
    status, _ = await world.call("DELETE", "/v1/blocklists/confidentiality/terms", "admin", json={"terms": ["绝密"]})
    assert status == 200
    status, body = await world.submit(body="此件绝密。")
    assert conf_findings(body["draft"]) == []


async def test_bad_term_list_gets_422_naming_the_line(world: World) -> None:
    status, body = await world.call("POST", "/v1/blocklists/confidentiality/terms", "admin",
                                    json={"terms": ["好词", "坏词 | severity=fatal"]})
    assert status == 422
    assert body["error"]["message"].startswith("terms[1] (line 2): unknown severity")
    assert body["error"]["field"] == "terms[1]"
    status, body = await world.call("POST", "/v1/blocklists/confidentiality/terms", "admin", json={"terms": []})
    assert status == 422 and "terms" in body["error"]["message"]
    status, body = await world.call("POST", "/v1/blocklists/confidentiality/terms", "admin", json={"words": ["x"]})
    assert status == 422


async def test_a_paragraph_pasted_as_a_term_gets_422_and_changes_nothing(world: World) -> None:
    pasted = "本通知内容" * 50  # 250 characters: a paste error, not a term
    status, body = await world.call("POST", "/v1/blocklists/confidentiality/terms", "admin",
                                    json={"terms": ["天穹计划", pasted]})
    assert status == 422
    assert body["error"]["field"] == "terms[1]"
    assert "250 characters long (at most 200)" in body["error"]["message"]
    status, body = await world.call("GET", "/v1/blocklists/confidentiality", "admin")
    assert "天穹计划" not in {t["term"] for t in body["blocklist"]["terms"]}
    status, body = await world.submit(body="项目代号天穹计划。")
    assert status == 201 and body["draft"]["status"] == "passed"


async def test_object_terms_with_policy(world: World) -> None:
    status, body = await world.call(
        "POST", "/v1/blocklists/confidentiality/terms", "admin",
        json={"terms": [{"term": "天穹", "policy": "boundary", "severity": "review"}]},
    )
    assert status == 200, body
    status, body = await world.call("GET", "/v1/blocklists/confidentiality", "admin")
    assert {"term": "天穹", "severity": "review", "policy": "boundary"} in body["blocklist"]["terms"]


async def test_only_admins_and_known_lists(world: World) -> None:
    status, _ = await world.call("POST", "/v1/blocklists/confidentiality/terms", "op", json={"terms": ["x"]})
    assert status == 403
    status, body = await world.call("POST", "/v1/blocklists/nope/terms", "admin", json={"terms": ["x"]})
    assert status == 404 and "nope" in body["error"]["message"]
    status, _ = await world.call("POST", "/v1/blocklists/confidentiality/terms", None, json={"terms": ["x"]})
    assert status == 401


async def test_changes_are_audited(world: World) -> None:
    await world.call("POST", "/v1/blocklists/commercial/terms", "admin", json={"terms": ["团长价 | signal=offer | weight=1.5"]})
    store = world.gateway.store
    rows = store.query("SELECT actor, action, subject FROM audit_log WHERE subject = 'blocklist:commercial'")
    assert rows == [{"actor": "admin", "action": "blocklist.terms_added", "subject": "blocklist:commercial"}]


async def test_listing(world: World) -> None:
    status, body = await world.call("GET", "/v1/blocklists", "admin")
    assert status == 200
    names = {b["name"]: b for b in body["blocklists"]}
    assert names["confidentiality"]["category"] == "confidentiality" and names["confidentiality"]["terms"] > 0
