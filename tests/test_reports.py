"""Article 15 and 8 reports through the API: figures checked against the records they come from.

Drafts go through the real workflow (screening, sign-off, publishing); their
timestamps are then moved into 2025 so months and year boundaries (Beijing
time) are known. Platform statistics are recorded through ``POST /v1/stats``.
"""

from __future__ import annotations

import csv
import io
import json
from html.parser import HTMLParser

import pytest

from conftest import World

from gateway import cli, reports
from gateway.store import Store


def move(store: Store, draft_id: str, at: str) -> None:
    """Put every timestamp of a draft at ``at`` (UTC text, the stored format)."""
    with store.transaction() as conn:
        conn.execute("UPDATE drafts SET created_at = ?, updated_at = ? WHERE id = ?", (at, at, draft_id))
        conn.execute("UPDATE revisions SET submitted_at = ? WHERE draft_id = ?", (at, draft_id))
        conn.execute("UPDATE decisions SET decided_at = ? WHERE draft_id = ?", (at, draft_id))
        conn.execute("UPDATE publications SET published_at = ? WHERE draft_id = ? AND published_at IS NOT NULL", (at, draft_id))


async def publish(world: World, title: str, body: str = "正文", account: str = "acc", who: str = "op") -> str:
    status, out = await world.submit(who=who, account=account, title=title, body=body)
    assert status == 201, out
    draft = out["draft"]
    if draft["status"] == "flagged":
        resp = "resp" if account == "acc" else "resp2"
        status, out = await world.call("POST", f"/v1/drafts/{draft['id']}/decision", resp, json={"decision": "approve"})
        assert status == 200
    pub = await world.wait_publication(draft["id"])
    assert pub["state"] == "published"
    return draft["id"]


async def scenario(world: World) -> dict[str, str]:
    """acc in 2025: 4 published (1 after sign-off, 1 after a blocked revision), 1 rejected, 1 blocked."""
    store = world.gateway.store
    # The accounts existed through 2025 (directives only bind accounts that existed in their window).
    store.execute("UPDATE accounts SET created_at = '2024-01-01T00:00:00.000+00:00'")
    ids: dict[str, str] = {}
    ids["jan"] = await publish(world, "新年献词")
    move(store, ids["jan"], "2024-12-31T16:30:00.000+00:00")  # 00:30 on 1 January 2025 in Beijing
    ids["may"] = await publish(world, "校庆运动会", body="欢迎参加校庆运动会")
    move(store, ids["may"], "2025-05-04T02:00:00.000+00:00")
    ids["signed"] = await publish(world, "学术讲座", body="请 REVIEWME 审核")
    move(store, ids["signed"], "2025-05-20T02:00:00.000+00:00")
    _, out = await world.submit(title="不妥内容", body="REVIEWME 不妥")
    ids["rejected"] = out["draft"]["id"]
    status, _ = await world.call("POST", f"/v1/drafts/{ids['rejected']}/decision", "resp", json={"decision": "reject", "comment": "不宜发布"})
    assert status == 200
    move(store, ids["rejected"], "2025-09-10T02:00:00.000+00:00")
    _, out = await world.submit(title="违规稿件", body="含 BLOCKME")
    ids["blocked"] = out["draft"]["id"]
    assert out["draft"]["status"] == "blocked"
    move(store, ids["blocked"], "2025-09-11T02:00:00.000+00:00")
    _, out = await world.submit(title="修改前", body="BLOCKME 初稿")
    ids["revised"] = out["draft"]["id"]
    status, out = await world.call("POST", f"/v1/drafts/{ids['revised']}/revisions", "op", json={"title": "修改后", "body": "已修改"})
    assert status == 201 and out["draft"]["status"] == "passed"
    await world.wait_publication(ids["revised"])
    move(store, ids["revised"], "2025-11-03T02:00:00.000+00:00")
    ids["newyear"] = await publish(world, "次年第一篇")
    move(store, ids["newyear"], "2025-12-31T17:00:00.000+00:00")  # 01:00 on 1 January 2026 in Beijing
    ids["other"] = await publish(world, "化学之美", account="acc2", who="op2")
    move(store, ids["other"], "2025-05-05T02:00:00.000+00:00")

    for payload in (
        {"account": "acc", "on_date": "2025-06-30", "followers": 1000},
        {"account": "acc", "on_date": "2025-12-20", "followers": 1500,
         "posts": [{"draft": ids["jan"], "reads": 300}, {"draft": ids["may"], "reads": 120}, {"draft": ids["signed"], "reads": 900}]},
        {"account": "acc", "on_date": "2026-01-05", "followers": 2000, "posts": [{"draft": ids["jan"], "reads": 350}]},
    ):
        status, out = await world.call("POST", "/v1/stats", "op", json=payload)
        assert status == 201, out
    for payload in (
        {"topic": "校庆", "terms": ["校庆"], "starts_on": "2025-05-01", "ends_on": "2025-05-10"},
        {"topic": "防汛宣传", "terms": ["防汛"], "starts_on": "2025-07-01", "ends_on": "2025-07-05"},
        {"topic": "化学周", "terms": ["化学"], "starts_on": "2025-05-01", "ends_on": "2025-05-10", "accounts": ["acc2"]},
    ):
        status, out = await world.call("POST", "/v1/directives", "admin", json=payload)
        assert status == 201, out
        ids[payload["topic"]] = out["directive"]["id"]
    return ids


async def test_annual_report_figures_match_the_records(world: World) -> None:
    ids = await scenario(world)
    status, r = await world.call("GET", "/v1/reports/annual?account=acc&year=2025", "admin")
    assert status == 200, r
    f = r["figures"]
    assert (f["followers"], f["followers_recorded_on"]) == (1500, "2025-12-20")
    assert f["reads"] == 350 + 120 + 900 and f["posts_with_reads"] == 3
    assert f["drafts_submitted"] == 6  # jan, may, signed, rejected, blocked, revised; not the 2026 one
    assert f["drafts_published"] == 4
    assert f["drafts_flagged"] == 2 and f["drafts_blocked"] == 2 and f["drafts_rejected"] == 1
    assert [(t["rank"], t["title"], t["reads"]) for t in r["top_titles"]] == [
        (1, "学术讲座", 900), (2, "新年献词", 350), (3, "校庆运动会", 120), (4, "修改后", None)]
    assert [(v["kind"], v["draft"]) for v in r["violations"]] == [
        ("rejected", ids["rejected"]), ("blocked", ids["blocked"]), ("blocked", ids["revised"])]
    rejected = r["violations"][0]
    assert rejected["comment"] == "不宜发布" and rejected["by"] == "resp"
    assert [(x["checker"], x["rule"], x["severity"]) for x in rejected["findings"]] == [("terms", "reviewme", "review")]
    assert r["violations"][2]["revision"] == 1 and r["violations"][2]["findings"][0]["rule"] == "blockme"
    assert [(d["topic"], d["status"]) for d in r["directives"]] == [("校庆", "complied"), ("防汛宣传", "missed")]
    assert r["directives"][0]["posts"][0]["draft"] == ids["may"]
    monthly = {m["month"]: (m["published"], m["flagged"]) for m in r["monthly"]}
    assert monthly["2025-01"] == (1, 0) and monthly["2025-05"] == (2, 1) and monthly["2025-09"] == (0, 1)
    assert monthly["2025-11"] == (1, 0) and sum(p for p, _ in monthly.values()) == 4
    # acc2's post of the same year is not in acc's report; the 2026 post is in 2026's.
    _, r26 = await world.call("GET", "/v1/reports/annual?account=acc&year=2026", "admin")
    assert [t["draft"] for t in r26["top_titles"]][0] == ids["newyear"]
    assert r26["figures"]["followers"] == 2000


async def test_annual_report_access_and_parameters(world: World) -> None:
    status, _ = await world.call("GET", "/v1/reports/annual?account=acc&year=2025", "resp")
    assert status == 200
    status, _ = await world.call("GET", "/v1/reports/annual?account=acc&year=2025", "op")
    assert status == 403
    status, _ = await world.call("GET", "/v1/reports/annual?account=acc&year=2025", "resp2")
    assert status == 403
    status, body = await world.call("GET", "/v1/reports/annual?account=acc", "admin")
    assert status == 422 and body["error"]["field"] == "year"
    status, body = await world.call("GET", "/v1/reports/annual?account=acc&year=2025&format=pdf", "admin")
    assert status == 422 and body["error"]["field"] == "format"
    status, _ = await world.call("GET", "/v1/reports/annual?account=nope&year=2025", "admin")
    assert status == 404


async def test_top_titles_are_the_twenty_most_read(world: World) -> None:
    posts = []
    for i in range(22):
        posts.append({"draft": await publish(world, f"文章{i:02d}"), "reads": 1000 - (i * 7919 % 22) * 10})
    status, _ = await world.call("POST", "/v1/stats", "resp", json={"account": "acc", "posts": posts})
    assert status == 201
    store = world.gateway.store
    # All 22 were just published; pin them to one Beijing day so a run at New Year cannot split them.
    for p in posts:
        move(store, p["draft"], "2025-03-03T02:00:00.000+00:00")
    year = 2025
    _, r = await world.call("GET", f"/v1/reports/annual?account=acc&year={year}", "admin")
    expected = sorted(posts, key=lambda p: -p["reads"])[:20]
    assert [(t["draft"], t["reads"]) for t in r["top_titles"]] == [(p["draft"], p["reads"]) for p in expected]
    assert r["figures"]["drafts_published"] == 22 and r["figures"]["reads"] == sum(p["reads"] for p in posts)


class _ReportParser(HTMLParser):
    """Collects data-field cells, chart bars and table rows of the rendered report."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}
        self.bars: dict[tuple[str, str], int] = {}
        self.heights: dict[tuple[str, str], float] = {}
        self.rows: dict[str, list[dict[str, str]]] = {}
        self.style = ""
        self._field: str | None = None
        self._table: str | None = None
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "style":
            self._in_style = True
        if "data-field" in a:
            self._field = a["data-field"]
            self.fields[self._field] = ""
        if tag == "rect" and "data-series" in a:
            self.bars[(a["data-month"], a["data-series"])] = int(a["data-value"])
            self.heights[(a["data-month"], a["data-series"])] = float(a["height"])
        if tag == "table" and "id" in a:
            self._table = a["id"]
            self.rows[self._table] = []
        if tag == "tr" and self._table and ("data-draft" in a or "data-directive" in a):
            self.rows[self._table].append(a)

    def handle_endtag(self, tag: str) -> None:
        if tag == "td":
            self._field = None
        if tag == "table":
            self._table = None
        if tag == "style":
            self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._field:
            self.fields[self._field] += data
        if self._in_style:
            self.style += data


async def test_html_report_prints_on_a4_and_shows_the_recorded_figures(world: World) -> None:
    ids = await scenario(world)
    resp = await world.client.get("/v1/reports/annual?account=acc&year=2025&format=html",
                                  headers={"Authorization": f"Bearer {world.tokens['admin']}"})
    assert resp.status == 200 and resp.content_type == "text/html"
    page = await resp.text()
    parser = _ReportParser()
    parser.feed(page)
    assert "size: A4" in parser.style and "@page" in parser.style
    store = world.gateway.store
    published = store.query(
        "SELECT published_at FROM publications WHERE account = 'acc' AND state = 'published' "
        "AND published_at >= '2024-12-31T16:00' AND published_at < '2025-12-31T16:00'")
    assert parser.fields["drafts_published"] == str(len(published)) == "4"
    assert parser.fields["followers"] == "1500"
    assert parser.fields["reads"] == "1370"
    assert parser.fields["drafts_blocked"] == "2" and parser.fields["drafts_rejected"] == "1"
    assert parser.fields["drafts_flagged"] == "2" and parser.fields["drafts_submitted"] == "6"
    assert parser.fields["directives_complied"] == "1"
    # The chart: one published and one flagged bar per month, values from the records.
    assert len(parser.bars) == 24
    assert parser.bars[("2025-01", "published")] == 1 and parser.bars[("2025-05", "published")] == 2
    assert parser.bars[("2025-05", "flagged")] == 1 and parser.bars[("2025-09", "flagged")] == 1
    assert sum(v for (m, s), v in parser.bars.items() if s == "published") == 4
    # Bar heights are proportional to the values they show.
    one = parser.heights[("2025-01", "published")]
    assert one > 0 and parser.heights[("2025-05", "published")] == pytest.approx(2 * one, abs=0.2)
    assert parser.heights[("2025-09", "flagged")] == pytest.approx(one, abs=0.2) and parser.heights[("2025-02", "published")] == 0
    assert [r["data-draft"] for r in parser.rows["top-titles"]] == [ids["signed"], ids["jan"], ids["may"], ids["revised"]]
    assert [(r["data-kind"], r["data-draft"]) for r in parser.rows["violations"]] == [
        ("rejected", ids["rejected"]), ("blocked", ids["blocked"]), ("blocked", ids["revised"])]
    assert [r["data-status"] for r in parser.rows["directives"]] == ["complied", "missed"]
    assert "<script" not in page and "http://" not in page.replace("http://www.w3.org/2000/svg", "")


async def test_csv_report_and_cli(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    await scenario(world)
    resp = await world.client.get("/v1/reports/annual?account=acc&year=2025&format=csv",
                                  headers={"Authorization": f"Bearer {world.tokens['admin']}"})
    assert resp.status == 200 and resp.content_type == "text/csv"
    rows = list(csv.reader(io.StringIO(await resp.text())))
    figures = {r[1]: r[2] for r in rows if r and r[0] == "figures"}
    assert figures["drafts_published"] == "4" and figures["followers"] == "1500" and figures["reads"] == "1370"
    assert [r[2] for r in rows if r and r[0] == "top_titles" and r[1] != "rank"] == ["学术讲座", "新年献词", "校庆运动会", "修改后"]
    # The CLI renders the same report from the same database file.
    db = world.gateway.config.db_path
    assert cli.main(["--db", db, "report", "annual", "--account", "acc", "--year", "2025", "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["figures"]["drafts_published"] == 4 and out["top_titles"][0]["title"] == "学术讲座"
    assert cli.main(["--db", db, "report", "annual", "--account", "acc", "--year", "2025", "--format", "html"]) == 0
    assert "size: A4" in capsys.readouterr().out
    assert cli.main(["--db", db, "report", "annual", "--account", "nope", "--year", "2025"]) == 1


async def test_stats_recording_rules_and_cli(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    draft = await publish(world, "统计")
    status, body = await world.call("POST", "/v1/stats", "op2", json={"account": "acc", "followers": 5})
    assert status == 403
    status, body = await world.call("POST", "/v1/stats", "op", json={"account": "acc"})
    assert status == 422
    status, body = await world.call("POST", "/v1/stats", "op2", json={"account": "acc2", "posts": [{"draft": draft, "reads": 3}]})
    assert status == 422 and body["error"]["field"] == "posts[0].draft"
    status, body = await world.call("POST", "/v1/stats", "op", json={"account": "acc", "followers": -1})
    assert status == 422 and body["error"]["field"] == "followers"
    db = world.gateway.config.db_path
    assert cli.main(["--db", db, "stats", "record", "--account", "acc", "--date", "2025-03-01",
                     "--followers", "42", "--post", f"{draft}=77"]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[-1]) == {"account": "acc", "on_date": "2025-03-01", "followers": 42, "posts": 1}
    store = world.gateway.store
    assert store.query_one("SELECT followers FROM gov_account_stats WHERE account = 'acc'") == {"followers": 42}
    assert store.query_one("SELECT reads FROM gov_post_stats WHERE draft_id = ?", (draft,)) == {"reads": 77}
    assert cli.main(["--db", db, "stats", "record", "--account", "acc", "--post", "nope=3"]) == 1


async def test_due_reports_wechat_15_working_days_before_review_weibo_31_december(world: World) -> None:
    # acc (WeChat) has no review date yet: it is named as missing one.
    _, body = await world.call("GET", "/v1/reports/due?days=10&today=2026-09-14", "admin")
    assert [m["account"] for m in body["missing_review_date"]] == ["acc"]
    status, body = await world.call("PUT", "/v1/accounts/acc/review-date", "admin", json={"review_date": "2025-10-20"})
    assert status == 200
    # Review Tue 20 Oct 2026. Back 15 working days: 19, 16–12 (6), Sat 10 (7), 9, 8 (9),
    # National Day, 30, 29, 28 Sep (12), Mid-autumn 25–27, 24, 23, 22 (15).
    # From Mon 14 Sep, 10 working days reach Mon 28 Sep (Sun 20 Sep is worked).
    status, body = await world.call("GET", "/v1/reports/due?days=10&today=2026-09-14", "admin")
    assert status == 200 and body["until"] == "2026-09-28"
    assert [(d["account"], d["review_on"], d["due_on"], d["working_days_left"]) for d in body["due"]] == [
        ("acc", "2026-10-20", "2026-09-22", 7)]
    _, body = await world.call("GET", "/v1/reports/due?days=5&today=2026-09-14", "admin")
    assert body["due"] == []
    # Weibo: 31 December. From Mon 14 Dec 2026, 13 working days end on Thu 31 Dec.
    _, body = await world.call("GET", "/v1/reports/due?days=13&today=2026-12-14", "admin")
    assert [(d["account"], d["due_on"], d["working_days_left"]) for d in body["due"]] == [("acc2", "2026-12-31", 13)]
    status, body = await world.call("GET", "/v1/reports/due?days=5&today=2099-06-01", "admin")
    assert status == 422 and body["error"]["code"] == "calendar_not_covered" and "2099" in body["error"]["message"]
    status, _ = await world.call("GET", "/v1/reports/due", "resp")
    assert status == 403
    assert reports.due_for("wechat", "2024-02-29", 2025) is not None  # a leap-day review date falls back to 28 Feb


async def test_two_failed_reviews_in_a_row_suspend_the_account(world: World) -> None:
    status, body = await world.call("POST", "/v1/reports/annual-reviews", "admin", json={"account": "acc", "year": 2023, "result": "fail"})
    assert status == 201 and body["suspended"] is False
    await world.call("POST", "/v1/reports/annual-reviews", "admin", json={"account": "acc", "year": 2024, "result": "pass"})
    status, body = await world.call("POST", "/v1/reports/annual-reviews", "admin",
                                    json={"account": "acc", "year": 2025, "result": "fail", "note": "未按要求整改"})
    assert body["suspended"] is False and body["account_status"] == "active"
    status, _ = await world.submit(title="仍可投稿")
    assert status == 201
    status, body = await world.call("POST", "/v1/reports/annual-reviews", "admin", json={"account": "acc", "year": 2026, "result": "fail"})
    assert status == 201 and body["suspended"] is True and body["consecutive_failures"] == [2025, 2026]
    assert body["account_status"] == "suspended"
    status, body = await world.submit(title="停止运营")
    assert status == 409 and body["error"]["code"] == "account_inactive"
    _, audit = await world.call("GET", "/v1/audit", "admin")
    suspended = [e for e in audit["entries"] if e["action"] == "account.suspended"]
    assert "2025 and 2026" in suspended[0]["data"]["reason"]
    status, body = await world.call("POST", "/v1/reports/annual-reviews", "admin", json={"account": "acc", "year": 2026, "result": "maybe"})
    assert status == 422 and body["error"]["field"] == "result"
    status, _ = await world.call("POST", "/v1/reports/annual-reviews", "resp", json={"account": "acc", "year": 2026, "result": "pass"})
    assert status == 403


async def test_activity_names_inactive_accounts(world: World) -> None:
    store = world.gateway.store
    store.execute("UPDATE accounts SET created_at = '2024-01-01T00:00:00.000+00:00'")
    for month in ("2025-08-10", "2026-03-10", "2026-05-20", "2026-05-21"):
        draft = await publish(world, f"动态 {month}")
        move(store, draft, f"{month}T02:00:00.000+00:00")
    draft = await publish(world, "旧闻", account="acc2", who="op2")
    move(store, draft, "2026-01-15T02:00:00.000+00:00")
    status, body = await world.call("GET", "/v1/reports/activity?today=2026-06-15", "admin")
    assert status == 200
    assert body["months"][0] == "2025-07" and body["months"][-1] == "2026-06" and len(body["months"]) == 12
    rows = {r["account"]: r for r in body["accounts"]}
    assert rows["acc"]["posts_by_month"]["2026-05"] == 2 and rows["acc"]["total"] == 4
    assert rows["acc"]["inactive"] is False
    # acc2's last post is from January: nothing in April–June.
    assert rows["acc2"]["inactive"] is True and rows["acc2"]["total"] == 1
    assert [i["account"] for i in body["inactive"]] == ["acc2"]
    _, body = await world.call("GET", "/v1/reports/activity?today=2026-06-15&inactive_months=6", "admin")
    assert body["inactive"] == []
    status, _ = await world.call("GET", "/v1/reports/activity", "op")
    assert status == 403
