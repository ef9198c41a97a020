"""Articles 16 and 17 through the API: suspension stops drafts, closings carry a 10-working-day deadline."""

from __future__ import annotations

from datetime import date

from conftest import World

from gateway import lifecycle
from gateway.workdays import CalendarNotCovered, add_workdays, china_date


def test_closing_deadline_counts_working_days_across_spring_festival() -> None:
    # Requested Thu 12 Feb 2026: 13, Sat 14 (worked), 24, 25, 26, 27, Sat 28 (worked), 2, 3, 4 March.
    assert lifecycle.closing_deadline(date(2026, 2, 12)) == date(2026, 3, 4)


async def test_suspending_stops_drafts_at_once_and_is_audited(world: World) -> None:
    status, _ = await world.submit(title="第一篇")
    assert status == 201
    status, body = await world.call("POST", "/v1/accounts/acc/suspend", "admin", json={})
    assert status == 422 and body["error"]["field"] == "reason"
    status, body = await world.call("POST", "/v1/accounts/acc/suspend", "admin", json={"reason": "违规发布（第十七条）"})
    assert status == 200 and body["account"]["status"] == "suspended"
    status, body = await world.submit(title="第二篇")
    assert status == 409 and body["error"]["code"] == "account_inactive"
    status, body = await world.call("POST", "/v1/accounts/acc/suspend", "admin", json={"reason": "again"})
    assert status == 409
    _, body = await world.call("GET", "/v1/audit", "admin")
    suspended = [e for e in body["entries"] if e["action"] == "account.suspended"]
    assert len(suspended) == 1 and suspended[0]["actor"] == "admin"
    assert suspended[0]["data"]["reason"] == "违规发布（第十七条）"
    status, _ = await world.call("POST", "/v1/accounts/acc/suspend", "resp", json={"reason": "x"})
    assert status == 403
    status, _ = await world.call("POST", "/v1/accounts/nope/suspend", "admin", json={"reason": "x"})
    assert status == 404


async def test_closing_records_request_and_deadline(world: World) -> None:
    status, body = await world.call("POST", "/v1/accounts/acc2/close", "admin", json={"reason": "停止运营"})
    assert status == 200, body
    assert body["account"]["status"] == "closed"
    closing = body["closing"]
    assert closing["requested_by"] == "admin" and closing["reason"] == "停止运营" and closing["source"] == "closing"
    requested = china_date(closing["requested_at"])
    try:
        expected = add_workdays(requested, 10)
    except CalendarNotCovered:  # run near the end of the installed calendar: recorded without a deadline
        assert closing["deadline"] is None and "not covered" in closing["deadline_error"]
    else:
        assert closing["deadline"] == expected.isoformat()
        assert closing["working_days_left"] == 10 and closing["overdue"] is False
    status, body = await world.submit(who="op2", account="acc2")
    assert status == 409 and body["error"]["code"] == "account_inactive"
    status, _ = await world.call("POST", "/v1/accounts/acc2/close", "admin", json={"reason": "again"})
    assert status == 409
    _, body = await world.call("GET", "/v1/audit", "admin")
    assert [e["action"] for e in body["entries"] if e["subject"] == "account:acc2"][-1] == "account.closed"


async def _backdate_closing(world: World, account: str, requested_at: str) -> None:
    # The request time is "now" in the API; a fixed past time lets the test
    # judge overdue-ness across a known holiday. The deadline is left for the
    # listing to compute, the path it also takes after a calendar upgrade.
    world.gateway.store.execute(
        "UPDATE gov_closings SET requested_at = ?, deadline = NULL WHERE account = ?", (requested_at, account))


async def test_overdue_closings_across_national_day(world: World) -> None:
    await world.call("POST", "/v1/accounts/acc2/close", "admin", json={"reason": "停止运营"})
    await _backdate_closing(world, "acc2", "2026-09-29T02:00:00.000+00:00")  # Tue 29 Sep, Beijing
    status, body = await world.call("GET", "/v1/closings?today=2026-10-19", "admin")
    assert status == 200
    [item] = body["closings"]
    assert item["deadline"] == "2026-10-19" and item["overdue"] is False and item["working_days_left"] == 0
    _, body = await world.call("GET", "/v1/closings?today=2026-10-19&overdue=1", "admin")
    assert body["closings"] == []
    _, body = await world.call("GET", "/v1/closings?today=2026-10-20&overdue=1", "admin")
    [item] = body["closings"]
    assert item["account"] == "acc2" and item["overdue"] is True and item["working_days_left"] == -1
    # The unit reports that the platform closed the account: no longer overdue.
    status, body = await world.call("POST", "/v1/accounts/acc2/closing", "admin",
                                    json={"result": "微博已注销", "closed_on": "2026-10-16"})
    assert status == 200 and body["closing"]["closed_at"] == "2026-10-16"
    _, body = await world.call("GET", "/v1/closings?today=2026-10-20&overdue=1", "admin")
    assert body["closings"] == []
    status, _ = await world.call("POST", "/v1/accounts/acc2/closing", "admin", json={"result": "again"})
    assert status == 409
    status, _ = await world.call("POST", "/v1/accounts/acc/closing", "admin", json={"result": "not closed"})
    assert status == 409


async def test_account_closed_through_patch_is_listed_and_reopening_drops_it(world: World) -> None:
    status, _ = await world.call("PATCH", "/v1/accounts/acc", "admin", json={"status": "closed", "reason": "合并账号"})
    assert status == 200
    _, body = await world.call("GET", "/v1/closings", "admin")
    [item] = body["closings"]
    assert item["account"] == "acc" and item["source"] == "audit" and item["reason"] == "合并账号"
    status, _ = await world.call("PATCH", "/v1/accounts/acc", "admin", json={"status": "active", "reason": "误操作"})
    assert status == 200
    _, body = await world.call("GET", "/v1/closings", "admin")
    assert body["closings"] == []
    status, _ = await world.call("GET", "/v1/closings", "op")
    assert status == 403


async def test_closing_result_for_an_account_closed_through_patch(world: World) -> None:
    await world.call("PATCH", "/v1/accounts/acc", "admin", json={"status": "closed", "reason": "停止运营"})
    status, body = await world.call("POST", "/v1/accounts/acc/closing", "admin", json={"result": "已注销", "closed_on": "2026-03-02"})
    assert status == 200, body
    closing = body["closing"]
    assert closing["source"] == "closing" and closing["reason"] == "停止运营" and closing["requested_by"] == "admin"
    assert closing["closed_at"] == "2026-03-02" and closing["result"] == "已注销" and closing["overdue"] is False
    _, audit = await world.call("GET", "/v1/audit", "admin")
    assert [e["action"] for e in audit["entries"]][-1] == "account.closing_reported"
