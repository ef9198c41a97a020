"""Article 3 account names and the governance API surface: validation, permissions, OpenAPI."""

from __future__ import annotations

from typing import Any

import pytest

from conftest import World

from gateway.accounts import find_school_mark


def account(name: str, **extra: Any) -> dict[str, Any]:
    return {"id": "named", "name": name, "platform": "wechat", "unit": "物理学院", "responsible": "resp",
            "operators": ["op"], **extra}


@pytest.mark.parametrize(
    ("name", "mark"),
    [
        ("北京大學物理學院", "北京大学"),   # traditional
        ("燕園之聲", "燕园"),
        ("ＰＫＵ学生会", "pku"),           # full width
        ("p k u 新闻", "pku"),
        ("Peking-University Press", "pekinguniversity"),
        ("北\u200b大青年", "北大"),        # zero-width space
        ("РКU News", "pku"),               # Cyrillic Р and К
        ("未名湖畔", "未名"),
        ("物理学院学生会", None),
        ("北方大学联盟", None),
    ],
)
def test_find_school_mark_in_any_form(name: str, mark: str | None) -> None:
    assert find_school_mark(name) == mark


async def test_school_mark_name_needs_permit_and_approval_reference(world: World) -> None:
    status, body = await world.call("POST", "/v1/accounts", "admin", json=account("北京大學物理"))
    assert status == 422 and body["error"]["code"] == "school_mark" and body["error"]["field"] == "name"
    assert "北京大学" in body["error"]["message"]
    status, body = await world.call("POST", "/v1/accounts", "admin", json=account("北京大學物理", permits={"school_marks": True}))
    assert status == 422 and body["error"]["field"] == "permits.school_marks_ref"
    status, body = await world.call("POST", "/v1/accounts", "admin",
                                    json=account("北京大學物理", permits={"school_marks": True, "school_marks_ref": "党宣审〔2025〕12号"}))
    assert status == 201, body
    assert body["account"]["permits"]["school_marks_ref"] == "党宣审〔2025〕12号"
    _, audit = await world.call("GET", "/v1/audit", "admin")
    created = [e for e in audit["entries"] if e["action"] == "account.created" and e["subject"] == "account:named"]
    assert created[0]["data"]["permits"]["school_marks_ref"] == "党宣审〔2025〕12号"
    # Renaming an account without the permit to a marked name is refused too.
    status, body = await world.call("PATCH", "/v1/accounts/acc", "admin", json={"name": "燕園青年"})
    assert status == 422 and body["error"]["field"] == "name"


async def test_directive_validation_and_listing(world: World) -> None:
    cases = [
        ({"topic": "校庆", "terms": ["校庆"], "starts_on": "2025-05-10", "ends_on": "2025-05-01"}, "ends_on"),
        ({"topic": "校庆", "terms": [], "starts_on": "2025-05-01", "ends_on": "2025-05-10"}, "terms"),
        ({"topic": "校庆", "terms": ["校庆"], "starts_on": "May 1", "ends_on": "2025-05-10"}, "starts_on"),
    ]
    for payload, field in cases:
        status, body = await world.call("POST", "/v1/directives", "admin", json=payload)
        assert status == 422 and body["error"]["field"] == field, (payload, body)
    status, _ = await world.call("POST", "/v1/directives", "resp",
                                 json={"topic": "校庆", "terms": ["校庆"], "starts_on": "2025-05-01", "ends_on": "2025-05-10"})
    assert status == 403
    status, body = await world.call("POST", "/v1/directives", "admin",
                                    json={"topic": "校庆", "terms": ["校庆"], "starts_on": "2025-05-01", "ends_on": "2025-05-10"})
    assert status == 201
    _, listing = await world.call("GET", "/v1/directives", "admin")
    assert [d["id"] for d in listing["directives"]] == [body["directive"]["id"]]
    assert listing["directives"][0]["accounts"] is None


async def test_directive_binds_only_accounts_that_existed_in_its_window(world: World) -> None:
    # The conftest accounts were created now; a directive of 2020 does not concern them.
    await world.call("POST", "/v1/directives", "admin",
                     json={"topic": "旧安排", "terms": ["x"], "starts_on": "2020-05-01", "ends_on": "2020-05-10"})
    _, r = await world.call("GET", "/v1/reports/annual?account=acc&year=2020", "admin")
    assert r["directives"] == [] and r["figures"]["directives_missed"] == 0


async def test_review_date_and_query_parameters(world: World) -> None:
    status, _ = await world.call("PUT", "/v1/accounts/nope/review-date", "admin", json={"review_date": "2025-10-20"})
    assert status == 404
    cases = [
        ("PUT", "/v1/accounts/acc/review-date", {"review_date": "20 Oct"}, "review_date"),
        ("GET", "/v1/reports/due?days=-1", None, "days"),
        ("GET", "/v1/reports/due?days=3&today=tomorrow", None, "today"),
        ("GET", "/v1/reports/activity?months=0", None, "months"),
    ]
    for method, path, payload, field in cases:
        status, body = await world.call(method, path, "admin", json=payload)
        assert status == 422 and body["error"]["field"] == field, (method, path, body)


async def test_governance_routes_are_in_the_openapi_document(world: World) -> None:
    status, doc = await world.call("GET", "/v1/openapi.json", "admin")
    assert status == 200
    for path, method in (
        ("/v1/units", "post"), ("/v1/users/{id}/deactivate", "post"), ("/v1/people/changes", "get"),
        ("/v1/accounts/{id}/suspend", "post"), ("/v1/accounts/{id}/close", "post"), ("/v1/closings", "get"),
        ("/v1/stats", "post"), ("/v1/directives", "post"), ("/v1/reports/annual", "get"),
        ("/v1/reports/due", "get"), ("/v1/reports/activity", "get"), ("/v1/reports/annual-reviews", "post"),
    ):
        assert method in doc["paths"][path], path
    assert "requestBody" in doc["paths"]["/v1/stats"]["post"]


async def test_a_number_is_not_a_date(world: World) -> None:
    # Lax parsing used to store 0 as 1970-01-01, although the document says the field is a YYYY-MM-DD string.
    status, body = await world.call("POST", "/v1/directives", "admin",
                                    json={"topic": "校庆", "terms": ["校庆"], "starts_on": 0, "ends_on": "2025-05-10"})
    assert status == 422 and body["error"]["field"] == "starts_on" and "YYYY-MM-DD" in body["error"]["message"]
    status, body = await world.call("PUT", "/v1/accounts/acc/review-date", "admin", json={"review_date": 1735689600})
    assert status == 422 and body["error"]["field"] == "review_date"
    status, body = await world.call("PUT", "/v1/accounts/acc/review-date", "admin", json={"review_date": "2025-03-01"})
    assert status == 200 and body["review_date"] == "2025-03-01"
    _, listing = await world.call("GET", "/v1/directives", "admin")
    assert listing["directives"] == []
