"""Articles 9 and 10 through the API: units, people leaving, orphaned accounts, the people-change log."""

from __future__ import annotations

from datetime import datetime

from conftest import World

from gateway import people
from gateway.workdays import CalendarNotCovered, add_workdays, china_date


def test_report_due_is_five_working_days_later_across_national_day() -> None:
    # 10:00 in Beijing on Tue 29 Sep 2026: 30 Sep, then 8, 9, Sat 10 (worked) and Mon 12 October.
    assert people.report_due("2026-09-29T02:00:00.000+00:00") == ("2026-10-12", None)
    due, why = people.report_due("2099-03-02T02:00:00.000+00:00")
    assert due is None and why is not None and "2099" in why


async def test_unit_needs_an_active_staff_first_responsible(world: World) -> None:
    status, body = await world.call("POST", "/v1/units", "admin", json={"id": "phys", "name": "物理学院", "first_responsible": "op"})
    assert status == 422 and body["error"]["field"] == "first_responsible"
    status, body = await world.call("POST", "/v1/units", "admin", json={"id": "phys", "name": "物理学院", "first_responsible": "resp"})
    assert status == 201 and body["unit"]["first_responsible"] == "resp"
    status, _ = await world.call("POST", "/v1/units", "admin", json={"id": "phys", "name": "x", "first_responsible": "resp"})
    assert status == 409
    status, _ = await world.call("POST", "/v1/units", "resp", json={"id": "chem", "name": "化学学院", "first_responsible": "resp2"})
    assert status == 403
    status, body = await world.call("GET", "/v1/units", "admin")
    # The conftest account "acc" names 物理学院 as its unit.
    assert body["units"] == [{**body["units"][0], "id": "phys", "accounts": 1}]
    status, body = await world.call("PATCH", "/v1/units/phys", "admin", json={"first_responsible": "resp2"})
    assert status == 200 and body["unit"]["first_responsible"] == "resp2"
    status, _ = await world.call("PATCH", "/v1/units/nope", "admin", json={"name": "x"})
    assert status == 404


async def test_deactivation_revokes_tokens_at_once(world: World) -> None:
    status, _ = await world.call("GET", "/v1/me", "op2")
    assert status == 200
    status, body = await world.call("POST", "/v1/users/op2/deactivate", "admin", json={"reason": "graduated 2026"})
    assert status == 200, body
    assert body["user"]["active"] is False and body["tokens_revoked"] == 1
    status, _ = await world.call("GET", "/v1/me", "op2")
    assert status == 401
    store = world.gateway.store
    row = store.query_one("SELECT revoked_at FROM tokens WHERE user_id = 'op2'")
    assert row is not None and row["revoked_at"] is not None
    status, body = await world.call("POST", "/v1/users/op2/deactivate", "admin", json={"reason": "again"})
    assert status == 409
    status, _ = await world.call("POST", "/v1/users/ghost/deactivate", "admin", json={"reason": "x"})
    assert status == 404
    status, _ = await world.call("POST", "/v1/users/op/deactivate", "resp", json={"reason": "x"})
    assert status == 403
    status, body = await world.call("POST", "/v1/users/op/deactivate", "admin", json={})
    assert status == 422 and body["error"]["field"] == "reason"


async def test_deactivation_flags_accounts_left_without_people(world: World) -> None:
    # acc2's only operator leaves: acc2 has no operator. acc keeps op and resp.
    _, body = await world.call("POST", "/v1/users/op2/deactivate", "admin", json={"reason": "graduated"})
    assert [(f["account"], f["missing"]) for f in body["flagged_accounts"]] == [("acc2", ["operator"])]
    # acc2's responsible person leaves too: now both roles are missing.
    _, body = await world.call("POST", "/v1/users/resp2/deactivate", "admin", json={"reason": "retired"})
    assert [(f["account"], f["missing"]) for f in body["flagged_accounts"]] == [("acc2", ["responsible", "operator"])]
    # op leaves: acc still has resp as an operator, so nothing is flagged.
    _, body = await world.call("POST", "/v1/users/op/deactivate", "admin", json={"reason": "graduated"})
    assert body["flagged_accounts"] == []
    status, body = await world.call("GET", "/v1/people/orphans", "admin")
    assert status == 200
    assert [(a["account"], a["missing"], a["inactive_people"]) for a in body["accounts"]] == [
        ("acc2", ["responsible", "operator"], ["op2", "resp2"])]
    # A person who left cannot be given a role again.
    status, body = await world.call("PATCH", "/v1/accounts/acc2", "admin", json={"operators": ["op2"]})
    assert status == 422
    # Assigning active people clears the flag.
    status, _ = await world.call("PATCH", "/v1/accounts/acc2", "admin", json={"responsible": "resp", "operators": ["resp"]})
    assert status == 200
    _, body = await world.call("GET", "/v1/people/orphans", "admin")
    assert body["accounts"] == []


async def test_deactivated_first_responsible_flags_the_unit(world: World) -> None:
    await world.call("POST", "/v1/units", "admin", json={"id": "chem", "name": "化学学院", "first_responsible": "resp2"})
    _, body = await world.call("POST", "/v1/users/resp2/deactivate", "admin", json={"reason": "departed"})
    assert body["flagged_units"] == [{"unit": "chem", "name": "化学学院", "missing": ["first_responsible"], "inactive_people": ["resp2"]}]


async def test_people_changes_are_logged_with_time_actor_and_report_date(world: World) -> None:
    status, _ = await world.call("PATCH", "/v1/accounts/acc", "admin", json={"operators": ["op", "op2"]})
    assert status == 200
    await world.call("PATCH", "/v1/accounts/acc", "admin", json={"review_policy": "all"})  # not a people change
    await world.call("POST", "/v1/users/op2/deactivate", "admin", json={"reason": "graduated"})
    status, body = await world.call("GET", "/v1/people/changes", "admin")
    assert status == 200 and body["report_workdays"] == 5
    changes = body["changes"]
    kinds = [c["change"] for c in changes]
    # conftest created five users (actor "test") and two accounts before this test.
    assert kinds == ["user.created"] * 5 + ["account.created"] * 2 + ["account.updated", "user.deactivated"]
    moved = changes[-2]
    assert moved["account"] == "acc" and moved["actor"] == "admin"
    assert moved["operators"]["added"] == ["op2"] and moved["operators"]["removed"] == ["resp"]
    left = changes[-1]
    assert left["user"] == "op2" and left["reason"] == "graduated" and left["actor"] == "admin"
    assert left["flagged_accounts"] == [{"account": "acc2", "missing": ["operator"]}]
    at = datetime.fromisoformat(left["at"])
    assert at.tzinfo is not None
    today = china_date(left["at"])
    try:
        expected = add_workdays(today, 5)
    except CalendarNotCovered:  # run past the installed calendar: the change is listed, and why it has no date
        assert left["report_due"] is None and "not covered" in left["report_due_error"]
    else:
        assert left["report_due"] == expected.isoformat()
    # Filtering by time: nothing after the last change.
    status, body = await world.call("GET", f"/v1/people/changes?since={left['at'].replace('+', '%2B')}", "admin")
    assert [c["change"] for c in body["changes"]] == ["user.deactivated"]
    status, body = await world.call("GET", "/v1/people/changes?since=yesterday", "admin")
    assert status == 422 and body["error"]["field"] == "since"
    status, _ = await world.call("GET", "/v1/people/changes", "resp")
    assert status == 403
