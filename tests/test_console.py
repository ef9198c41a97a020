"""The review console over HTTP: sessions and cookies, CSRF, roles exactly as the API's, rendering."""

from __future__ import annotations

import io
import re
import time
from pathlib import Path
from typing import Any

from aiohttp import ClientResponse, FormData
from PIL import Image

from conftest import World, build_world
from console_helpers import PRE, csrf_of, fresh_client_cookies, page_csrf, sign_in
from gateway.console_sessions import COOKIE, PRE_COOKIE
from image_helpers import b64, solid_image


async def flagged(world: World, who: str = "op", body: str = "校园新闻 REVIEWME 结束", **extra: Any) -> dict[str, Any]:
    status, out = await world.submit(who=who, body=body, **extra)
    assert status == 201, out
    assert out["draft"]["status"] == "flagged", out
    return out["draft"]


async def signed_in(world: World, who: str) -> None:
    resp = await sign_in(world.client, world.tokens[who])
    assert resp.status == 303, await resp.text()


async def decide(world: World, draft_id: str, data: dict[str, str], **kwargs: Any) -> ClientResponse:
    """POST the draft page's decision form as the signed-in person; the redirect is not followed."""
    return await world.client.post(f"/console/drafts/{draft_id}/decision", data=data, allow_redirects=False, **kwargs)


async def admin_view(world: World, draft_id: str) -> dict[str, Any]:
    """The draft as the API shows it to an admin: what a console action did or did not change."""
    _, out = await world.call("GET", f"/v1/drafts/{draft_id}", "admin")
    return out["draft"]


def png_bytes(colour: str = "red") -> bytes:
    return solid_image((40, 30), colour)


# -- sign-in, cookies, sessions ----------------------------------------------------


async def test_pages_need_a_session_and_send_to_sign_in(world: World) -> None:
    resp = await world.client.get("/console/queue", allow_redirects=False)
    assert resp.status == 303
    assert resp.headers["Location"] == "/console/signin?next=%2Fconsole%2Fqueue"
    page = await world.client.get("/console/signin")
    html = await page.text()
    assert page.status == 200 and "登录审核台" in html and 'lang="zh-CN"' in html


async def test_sign_in_sets_a_strict_http_only_cookie_and_stores_only_its_hash(world: World) -> None:
    resp = await sign_in(world.client, world.tokens["resp"], "/console/drafts")
    assert resp.status == 303 and resp.headers["Location"] == "/console/drafts"
    header = next(h for h in resp.headers.getall("Set-Cookie") if h.startswith(COOKIE + "="))
    assert "HttpOnly" in header and "SameSite=Strict" in header and "Path=/console" in header
    assert "Secure" not in header  # plain http on 127.0.0.1: a Secure cookie would never come back
    session_id = header.split("=", 1)[1].split(";", 1)[0]
    rows = world.gateway.store.query("SELECT id_hash, user_id FROM console_sessions")
    assert [r["user_id"] for r in rows] == ["resp"]
    assert rows[0]["id_hash"] != session_id and session_id not in rows[0]["id_hash"]
    page = await world.client.get("/console/drafts")
    assert page.status == 200 and "张老师" in await page.text()
    assert world.gateway.store.query("SELECT actor FROM audit_log WHERE action = 'console.signed_in'") == [{"actor": "resp"}]


async def test_secure_flag_when_configured(aiohttp_client: Any, tmp_path: Path) -> None:
    # Behind a TLS-terminating proxy the gateway sees http; secure_cookie forces the flag on both cookies.
    world = await build_world(aiohttp_client, tmp_path, plugin_settings={"console": {"secure_cookie": True}})
    page = await world.client.get("/console/signin")
    assert "Secure" in page.headers["Set-Cookie"]
    pre = PRE.search(await page.text()).group(1)  # type: ignore[union-attr]
    resp = await world.client.post("/console/signin", data={"token": world.tokens["resp"], "pre": pre},
                                   headers={"Cookie": f"{PRE_COOKIE}={pre}"}, allow_redirects=False)
    header = next(h for h in resp.headers.getall("Set-Cookie") if h.startswith(COOKIE + "="))
    assert resp.status == 303 and "Secure" in header


async def test_wrong_token_is_refused_without_a_session(world: World) -> None:
    resp = await sign_in(world.client, "dg_not-a-real-token")
    assert resp.status == 401
    assert "令牌无效" in await resp.text()
    assert world.gateway.store.query("SELECT * FROM console_sessions") == []


async def test_sign_in_form_needs_its_pre_session_token(world: World) -> None:
    resp = await world.client.post("/console/signin", data={"token": world.tokens["resp"], "pre": "forged"},
                                   allow_redirects=False)
    assert resp.status == 403
    assert world.gateway.store.query("SELECT * FROM console_sessions") == []


async def test_next_cannot_leave_the_console(world: World) -> None:
    resp = await sign_in(world.client, world.tokens["resp"], "https://evil.example/x")
    assert resp.headers["Location"] == "/console/"


async def test_forged_cookie_goes_to_sign_in(world: World) -> None:
    world.client.session.cookie_jar.update_cookies({COOKIE: "forged-session-id"})
    resp = await world.client.get("/console/drafts", allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"].startswith("/console/signin")


async def test_expired_session_goes_to_sign_in(world: World) -> None:
    await signed_in(world, "resp")
    assert (await world.client.get("/console/drafts", allow_redirects=False)).status == 200
    world.gateway.store.execute("UPDATE console_sessions SET expires_at = ?", (time.time() - 1,))
    resp = await world.client.get("/console/drafts", allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"].startswith("/console/signin")


async def test_sign_out_deletes_the_session(world: World) -> None:
    await signed_in(world, "resp")
    csrf = await page_csrf(world.client)
    session_cookie = world.client.session.cookie_jar.filter_cookies(world.client.make_url("/console/"))[COOKIE].value
    resp = await world.client.post("/console/signout", data={"csrf": csrf}, allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"] == "/console/signin?done=signed_out"
    assert world.gateway.store.query("SELECT * FROM console_sessions") == []
    # The old cookie value, replayed, is dead.
    world.client.session.cookie_jar.update_cookies({COOKIE: session_cookie})
    resp = await world.client.get("/console/drafts", allow_redirects=False)
    assert resp.status == 303


# -- the queue --------------------------------------------------------------------------


async def test_queue_lists_my_flagged_drafts_oldest_first_with_worst_finding(world: World) -> None:
    first = await flagged(world, title="第一篇")
    second = await flagged(world, title="第二篇", body="NOTEME 之后 REVIEWME")
    await world.submit(who="op2", account="acc2", body="REVIEWME")  # another account's: not mine
    await world.submit(body="clean text")  # passed: not waiting
    await signed_in(world, "resp")
    resp = await world.client.get("/console/queue")
    html = await resp.text()
    assert resp.status == 200
    assert html.index(first["id"]) < html.index(second["id"])
    assert html.count('href="/console/drafts/d') == 2
    assert "物理学院学生会" in html and "李同学" in html
    assert "terms/reviewme" in html and "found REVIEWME" in html
    assert re.search(r'id="waiting"[^>]*>2<', html)
    # The count is on every page, not only the queue.
    other = await (await world.client.get("/console/drafts")).text()
    assert re.search(r'id="waiting"[^>]*>2<', other)


async def test_queue_worst_finding_prefers_review_over_info(world: World) -> None:
    status, out = await world.submit(body="NOTEME REVIEWME")
    assert out["draft"]["status"] == "flagged"
    await signed_in(world, "resp")
    html = await (await world.client.get("/console/queue")).text()
    row = html[html.index(out["draft"]["id"]):]
    assert "terms/reviewme" in row.split("</tr>")[0] and "terms/noteme" not in row.split("</tr>")[0]


# -- the draft page ------------------------------------------------------------------------


async def test_draft_page_highlights_each_finding_in_place(world: World) -> None:
    draft = await flagged(world, title="标题", body="前文 REVIEWME 中间 NOTEME 后文 <script>alert(1)</script>")
    await signed_in(world, "resp")
    resp = await world.client.get(f"/console/drafts/{draft['id']}")
    html = await resp.text()
    assert resp.status == 200
    marks = re.findall(r'<mark class="hl sev-(\w+)" tabindex="0" data-findings="([\d ]+)">([^<]*)<span class="tip"', html)
    assert ("review", "0", "REVIEWME") in marks and ("info", "1", "NOTEME") in marks
    # The text before the first mark is exactly the screened text up to the finding's start offset.
    start = draft["findings"][0]["evidence"]["start"]
    screened = html.split('id="screened" lang="zh-CN">', 1)[1]
    assert screened.startswith(("标题\n\n前文 REVIEWME")[:start] + "<mark")
    assert "terms / reviewme：found REVIEWME" in html  # the tooltip: checker, rule, message
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert resp.headers["Content-Security-Policy"].startswith("default-src 'none'")


async def test_overlapping_findings_share_a_mark(aiohttp_client: Any, tmp_path: Path) -> None:
    from conftest import MarkerPlugin, TermChecker
    from gateway.model import Finding, Severity

    class Overlap(TermChecker):
        def check(self, draft: Any) -> list[Finding]:
            t = draft.screened_text
            i = t.find("ABCDEF")
            return [
                Finding.text_match("terms", "wide", Severity.REVIEW, "wide", term="ABCDEF", start=i, end=i + 6, text=t),
                Finding.text_match("terms", "inner", Severity.BLOCK, "inner", term="CD", start=i + 2, end=i + 4, text=t),
            ]

    world = await build_world(aiohttp_client, tmp_path, plugin=MarkerPlugin(checker=Overlap()))
    status, out = await world.submit(body="xxABCDEFyy")
    await signed_in(world, "resp")
    html = await (await world.client.get(f"/console/drafts/{out['draft']['id']}")).text()
    marks = re.findall(r'<mark class="hl sev-(\w+)" tabindex="0" data-findings="([\d ]+)">([^<]*)<', html)
    assert marks == [("review", "0", "AB"), ("block", "0 1", "CD"), ("review", "0", "EF")]


async def test_revision_history_shows_what_changed(world: World) -> None:
    draft = await flagged(world, body="第一段保持不变\n第二段 REVIEWME 原文")
    status, out = await world.call("POST", f"/v1/drafts/{draft['id']}/revisions", "op",
                                   json={"title": "标题", "body": "第一段保持不变\n第二段 REVIEWME 新文"})
    assert status == 201, out
    await signed_in(world, "resp")
    html = await (await world.client.get(f"/console/drafts/{draft['id']}")).text()
    assert "第 2 版" in html and "第 1 版" in html
    assert "<del>原</del>" in html and "<ins>新</ins>" in html
    assert "删 1 行，增 1 行" in html


# -- sign-off: the API's rules, through the workflow ------------------------------------------


async def test_responsible_person_approves_and_the_draft_is_published(world: World) -> None:
    draft = await flagged(world)
    await signed_in(world, "resp")
    page = await world.client.get(f"/console/drafts/{draft['id']}")
    html = await page.text()
    assert "批准发布" in html
    resp = await decide(world, draft["id"], {"csrf": csrf_of(html), "decision": "approve", "comment": "同意发布"})
    assert resp.status == 303 and resp.headers["Location"] == f"/console/drafts/{draft['id']}?done=approved"
    pub = await world.wait_publication(draft["id"])
    assert pub["state"] == "published"
    viewed = await admin_view(world, draft["id"])
    assert viewed["decisions"][0]["decided_by"] == "resp" and viewed["decisions"][0]["comment"] == "同意发布"
    after = await (await world.client.get(f"/console/drafts/{draft['id']}")).text()
    assert "已发布" in after and "同意发布" in after
    assert 'name="decision"' not in after


async def test_decision_without_csrf_token_is_refused(world: World) -> None:
    draft = await flagged(world)
    await signed_in(world, "resp")
    for data in ({"decision": "approve"}, {"decision": "approve", "csrf": "wrong"}):
        resp = await decide(world, draft["id"], data)
        assert resp.status == 403
    assert (await admin_view(world, draft["id"]))["status"] == "flagged"


async def test_cross_origin_post_is_refused_even_with_the_token(world: World) -> None:
    draft = await flagged(world)
    await signed_in(world, "resp")
    csrf = await page_csrf(world.client, f"/console/drafts/{draft['id']}")
    resp = await decide(world, draft["id"], {"csrf": csrf, "decision": "approve"}, headers={"Origin": "https://evil.example"})
    assert resp.status == 403
    assert (await admin_view(world, draft["id"]))["status"] == "flagged"


async def test_operator_sees_no_approve_action_and_is_refused(world: World) -> None:
    draft = await flagged(world)
    await signed_in(world, "op")
    html = await (await world.client.get(f"/console/drafts/{draft['id']}")).text()
    assert 'name="decision"' not in html and "批准发布" not in html
    assert "等待账号负责人" in html
    resp = await decide(world, draft["id"], {"csrf": csrf_of(html), "decision": "approve"})
    assert resp.status == 403
    assert "只有账号负责人可以签发" in await resp.text()
    assert (await admin_view(world, draft["id"]))["status"] == "flagged"


async def test_self_approval_is_refused_with_a_clear_message(world: World) -> None:
    draft = await flagged(world, who="resp")  # resp is also an operator of acc
    await signed_in(world, "resp")
    html = await (await world.client.get(f"/console/drafts/{draft['id']}")).text()
    assert 'name="decision"' not in html and "由您本人提交" in html
    resp = await decide(world, draft["id"], {"csrf": csrf_of(html), "decision": "approve"})
    assert resp.status == 403
    text = await resp.text()
    assert "签发被拒绝" in text and "由您本人提交" in text


async def test_other_accounts_responsible_person_cannot_see_or_decide(world: World) -> None:
    draft = await flagged(world)
    await signed_in(world, "resp2")
    page = await world.client.get(f"/console/drafts/{draft['id']}")
    assert page.status == 403
    csrf = await page_csrf(world.client)
    resp = await decide(world, draft["id"], {"csrf": csrf, "decision": "approve"})
    assert resp.status == 403
    assert (await admin_view(world, draft["id"]))["status"] == "flagged"


async def test_deciding_twice_is_refused_as_not_flagged(world: World) -> None:
    draft = await flagged(world)
    await signed_in(world, "resp")
    csrf = await page_csrf(world.client, f"/console/drafts/{draft['id']}")
    first = await decide(world, draft["id"], {"csrf": csrf, "decision": "reject", "comment": "请修改"})
    assert first.status == 303
    again = await decide(world, draft["id"], {"csrf": csrf, "decision": "approve"})
    assert again.status == 409
    assert "只有待签发的稿件可以批准或驳回" in await again.text()


# -- operators: new drafts and revisions -----------------------------------------------------------


async def test_operator_submits_a_draft_with_an_image_from_the_form(world: World) -> None:
    await signed_in(world, "op")
    page = await world.client.get("/console/drafts/new")
    html = await page.text()
    assert 'value="acc"' in html and 'value="acc2"' not in html
    form = FormData()
    form.add_field("csrf", csrf_of(html))
    form.add_field("form_key", re.search(r'name="form_key" value="([^"]+)"', html).group(1))
    form.add_field("account", "acc")
    form.add_field("title", "表单稿件")
    form.add_field("body", "<p>正文 <b>REVIEWME</b></p>")
    form.add_field("body_format", "html")
    form.add_field("images", png_bytes(), filename="photo.png", content_type="image/png")
    resp = await world.client.post("/console/drafts/new", data=form, allow_redirects=False)
    assert resp.status == 303, await resp.text()
    draft_id = resp.headers["Location"].split("/")[-1].split("?")[0]
    status, out = await world.call("GET", f"/v1/drafts/{draft_id}", "op")
    assert out["draft"]["status"] == "flagged" and out["draft"]["body_format"] == "html"
    assert out["draft"]["images"][0]["name"] == "photo.png" and out["draft"]["created_by"] == "op"
    img = await world.client.get(f"/console/drafts/{draft_id}/images/1/0")
    assert img.status == 200 and img.content_type == "image/png" and await img.read() == png_bytes()
    # The highlight sits on the visible text, not on the HTML markup.
    page = await (await world.client.get(f"/console/drafts/{draft_id}")).text()
    assert re.search(r'<mark class="hl sev-review"[^>]*>REVIEWME<', page)


async def test_form_errors_are_shown_not_swallowed(world: World) -> None:
    await signed_in(world, "op")
    csrf = await page_csrf(world.client, "/console/drafts/new")
    resp = await world.client.post("/console/drafts/new", data={"csrf": csrf, "account": "acc", "title": "", "body": "x"})
    assert resp.status == 422 and "表单有误" in await resp.text()
    resp = await world.client.post("/console/drafts/new", data={"csrf": csrf, "account": "acc2", "title": "t", "body": "x"})
    assert resp.status == 403 and "不是该账号的运营人" in await resp.text()


async def test_draft_images_are_guarded_by_role(world: World) -> None:
    status, out = await world.submit(body="clean", images=[{"name": "a.png", "data": b64(png_bytes())}])
    await signed_in(world, "op2")
    resp = await world.client.get(f"/console/drafts/{out['draft']['id']}/images/1/0")
    assert resp.status == 403


async def test_operator_revises_a_flagged_draft_keeping_its_images(world: World) -> None:
    draft = await flagged(world, images=[{"name": "a.png", "data": b64(png_bytes())}])
    await signed_in(world, "op")
    page = await world.client.get(f"/console/drafts/{draft['id']}/revise")
    html = await page.text()
    assert "REVIEWME" in html and 'name="keep_images"' in html
    resp = await world.client.post(f"/console/drafts/{draft['id']}/revise",
                                   data={"csrf": csrf_of(html), "title": "标题", "body": "改好了", "body_format": "text",
                                         "keep_images": "1"}, allow_redirects=False)
    assert resp.status == 303
    status, out = await world.call("GET", f"/v1/drafts/{draft['id']}", "op")
    assert out["draft"]["revision"] == 2 and out["draft"]["status"] == "passed"
    assert [i["name"] for i in out["draft"]["images"]] == ["a.png"]


async def test_only_operators_reach_the_revision_form(world: World) -> None:
    draft = await flagged(world)
    await signed_in(world, "resp2")
    assert (await world.client.get(f"/console/drafts/{draft['id']}/revise")).status == 403


# -- admins -----------------------------------------------------------------------------------------


async def test_admin_pages_are_for_admins_only(world: World) -> None:
    await signed_in(world, "resp")
    for path in ("/console/admin/checkers", "/console/admin/blocklists", "/console/admin/images",
                 "/console/admin/embargoes", "/console/admin/audit"):
        resp = await world.client.get(path)
        assert resp.status == 403, path
        assert "仅限管理员" in await resp.text()


async def test_admin_sees_checkers_images_and_embargoes(world: World) -> None:
    await signed_in(world, "admin")
    html = await (await world.client.get("/console/admin/checkers")).text()
    assert "<code>terms</code>" in html and "test checker keyed on marker words" in html
    for path in ("/console/admin/images", "/console/admin/embargoes"):
        resp = await world.client.get(path)
        assert resp.status == 200, path


async def test_admin_adds_searches_and_removes_blocklist_terms(world: World) -> None:
    service = world.gateway.services.get("blocklists")
    assert service is not None
    name = service.names()[0]
    await signed_in(world, "admin")
    page = await world.client.get(f"/console/admin/blocklists?list={name}")
    csrf = csrf_of(await page.text())
    resp = await world.client.post("/console/admin/blocklists", data={"csrf": csrf, "list": name, "op": "add",
                                                                       "terms": "测试专用词甲\n测试专用词乙"},
                                   allow_redirects=False)
    assert resp.status == 303
    assert {"测试专用词甲", "测试专用词乙"} <= {t["term"] for t in service.describe(name)["terms"]}
    found = await (await world.client.get(f"/console/admin/blocklists?list={name}&q=专用词甲")).text()
    assert "测试专用词甲" in found and "测试专用词乙" not in found
    resp = await world.client.post("/console/admin/blocklists", data={"csrf": csrf, "list": name, "op": "remove",
                                                                       "terms": "测试专用词甲"}, allow_redirects=False)
    assert resp.status == 303
    terms = {t["term"] for t in service.describe(name)["terms"]}
    assert "测试专用词甲" not in terms and "测试专用词乙" in terms
    actions = [r["action"] for r in world.gateway.store.query("SELECT action FROM audit_log WHERE subject = ?",
                                                              (f"blocklist:{name}",))]
    assert actions == ["blocklist.terms_added", "blocklist.terms_removed"]


async def test_audit_trail_of_a_draft_with_chain_verification(world: World) -> None:
    draft = await flagged(world)
    await signed_in(world, "resp")  # the responsible person may read it, as with GET /v1/audit?draft=
    html = await (await world.client.get(f"/console/drafts/{draft['id']}/audit")).text()
    assert "draft.submitted" in html and "draft.screened" in html and "哈希链校验通过" in html
    # Tamper with an entry: the page says so.
    world.gateway.store.execute("UPDATE audit_log SET data = '{}' WHERE seq = (SELECT min(seq) FROM audit_log WHERE subject = ?)",
                                (draft["id"],))
    html = await (await world.client.get(f"/console/drafts/{draft['id']}/audit")).text()
    assert "哈希链校验失败" in html
    fresh_client_cookies(world.client)
    await signed_in(world, "op")
    assert (await world.client.get(f"/console/drafts/{draft['id']}/audit")).status == 403


# -- image findings: the draft's image beside the registered one ------------------------------------


class FakeRegistry:
    """Stands in for the image registry service: one registered picture, its bytes on request."""

    def __init__(self, data: bytes, keeps_bytes: bool = True) -> None:
        self.data = data
        if keeps_bytes:
            self.image_bytes = lambda image_id: self.data if image_id == "img_demo" else None

    def list(self, status: str | None = None) -> list[dict[str, Any]]:
        return [{"id": "img_demo", "label": "校徽（示例）", "status": "school_mark", "licensed_to": [], "format": "PNG",
                 "width": 40, "height": 30, "created_at": "2026-01-01T00:00:00+00:00"}]


async def image_world(aiohttp_client: Any, tmp_path: Path, keeps_bytes: bool = True) -> World:
    from conftest import MarkerPlugin, TermChecker
    from gateway.model import Finding, Severity

    class ImageChecker(TermChecker):
        def check(self, draft: Any) -> list[Finding]:
            return [Finding.image_match("image_reuse", "school_mark", Severity.REVIEW, "使用了学校标识", index=i.index,
                                        image_id="img_demo", label="校徽（示例）", distance=5) for i in draft.images]

    world = await build_world(aiohttp_client, tmp_path, plugin=MarkerPlugin(checker=ImageChecker()))
    world.gateway.services["images"] = FakeRegistry(png_bytes("blue"), keeps_bytes)
    return world


async def test_image_match_shows_the_registered_image_beside_the_draft_image(aiohttp_client: Any, tmp_path: Path) -> None:
    world = await image_world(aiohttp_client, tmp_path)
    status, out = await world.submit(body="配图", images=[{"name": "logo.png", "data": b64(png_bytes())}])
    draft_id = out["draft"]["id"]
    assert out["draft"]["status"] == "flagged"
    await signed_in(world, "resp")
    html = await (await world.client.get(f"/console/drafts/{draft_id}")).text()
    assert f'src="/console/drafts/{draft_id}/images/1/0"' in html
    assert 'src="/console/registered-images/img_demo"' in html
    assert re.search(r'汉明距离 <b class="distance">5</b>', html) and "image_reuse / school_mark" in html
    registered = await world.client.get("/console/registered-images/img_demo")
    assert registered.status == 200 and await registered.read() == png_bytes("blue")
    fresh_client_cookies(world.client)
    await signed_in(world, "resp2")  # no role on any draft that matched it
    assert (await world.client.get("/console/registered-images/img_demo")).status == 403
    fresh_client_cookies(world.client)
    await signed_in(world, "admin")
    assert (await world.client.get("/console/registered-images/img_demo")).status == 200
    gallery = await (await world.client.get("/console/admin/images")).text()
    assert "校徽（示例）" in gallery and 'src="/console/registered-images/img_demo"' in gallery


async def test_registry_without_bytes_degrades_to_a_placeholder(aiohttp_client: Any, tmp_path: Path) -> None:
    world = await image_world(aiohttp_client, tmp_path, keeps_bytes=False)
    status, out = await world.submit(body="配图", images=[{"name": "logo.png", "data": b64(png_bytes())}])
    await signed_in(world, "resp")
    html = await (await world.client.get(f"/console/drafts/{out['draft']['id']}")).text()
    assert "登记图片原图不可用" in html and 'src="/console/registered-images/' not in html
    assert (await world.client.get("/console/registered-images/img_demo")).status == 404


async def test_revoking_the_token_or_deactivating_the_user_ends_the_session(world: World) -> None:
    await signed_in(world, "resp")
    assert (await world.client.get("/console/drafts", allow_redirects=False)).status == 200
    world.gateway.store.execute("UPDATE tokens SET revoked_at = '2026-01-01T00:00:00+00:00' WHERE user_id = 'resp'")
    assert (await world.client.get("/console/drafts", allow_redirects=False)).status == 303
    fresh_client_cookies(world.client)
    await signed_in(world, "op")
    world.gateway.store.execute("UPDATE users SET active = 0 WHERE id = 'op'")
    assert (await world.client.get("/console/drafts", allow_redirects=False)).status == 303


async def test_unknown_console_path_is_an_html_404_and_sign_in_skips_when_signed_in(world: World) -> None:
    await signed_in(world, "resp")
    resp = await world.client.get("/console/no/such/page")
    assert resp.status == 404 and resp.content_type == "text/html" and "没有这个页面" in await resp.text()
    again = await world.client.get("/console/signin?next=/console/drafts", allow_redirects=False)
    assert again.status == 303 and again.headers["Location"] == "/console/drafts"


async def test_configured_origin_is_accepted_behind_a_proxy(aiohttp_client: Any, tmp_path: Path) -> None:
    world = await build_world(aiohttp_client, tmp_path,
                              plugin_settings={"console": {"origins": ["https://console.example.edu.cn"]}})
    draft = await flagged(world)
    await signed_in(world, "resp")
    csrf = await page_csrf(world.client, f"/console/drafts/{draft['id']}")
    refused = await decide(world, draft["id"], {"csrf": csrf, "decision": "approve"}, headers={"Origin": "https://other.example"})
    assert refused.status == 403
    resp = await decide(world, draft["id"], {"csrf": csrf, "decision": "approve"}, headers={"Origin": "https://console.example.edu.cn"})
    assert resp.status == 303


async def test_a_decision_on_a_page_older_than_the_current_revision_is_refused(world: World) -> None:
    draft = await flagged(world)
    await signed_in(world, "resp")
    page = await (await world.client.get(f"/console/drafts/{draft['id']}")).text()
    assert 'name="revision" value="1"' in page
    # The operator revises while the reviewer reads revision 1.
    status, out = await world.call("POST", f"/v1/drafts/{draft['id']}/revisions", "op",
                                   json={"title": "标题", "body": "换了内容 REVIEWME"})
    assert status == 201 and out["draft"]["status"] == "flagged"
    resp = await decide(world, draft["id"], {"csrf": csrf_of(page), "decision": "approve", "revision": "1"})
    assert resp.status == 409
    assert "稿件已更新为第 2 版" in await resp.text()
    viewed = await admin_view(world, draft["id"])
    assert viewed["status"] == "flagged" and viewed["decisions"] == []
    ok = await decide(world, draft["id"], {"csrf": csrf_of(page), "decision": "approve", "revision": "2"})
    assert ok.status == 303


# -- admins change registered images and embargoes through their services -----------------------------


def photo_bytes(seed: int = 1) -> bytes:
    import random

    rng = random.Random(seed)
    img = Image.new("RGB", (256, 256))
    img.putdata([(rng.randrange(256), (x * 7) % 256, (y * 3) % 256) for y in range(256) for x in range(256)])
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


async def test_admin_registers_and_removes_an_image(world: World) -> None:
    await signed_in(world, "admin")
    csrf = await page_csrf(world.client, "/console/admin/images")

    def upload(data: bytes, status: str = "school_mark", **extra: str) -> FormData:
        form = FormData()
        form.add_field("csrf", csrf)
        form.add_field("op", "register")
        form.add_field("label", "校徽（测试）")
        form.add_field("status", status)
        for key, value in extra.items():
            form.add_field(key, value)
        form.add_field("file", data, filename="emblem.png", content_type="image/png")
        return form

    resp = await world.client.post("/console/admin/images", data=upload(photo_bytes()), allow_redirects=False)
    assert resp.status == 303, await resp.text()
    status, listed = await world.call("GET", "/v1/images", "admin")
    assert [i["label"] for i in listed["images"]] == ["校徽（测试）"]
    image_id = listed["images"][0]["id"]
    assert "校徽（测试）" in await (await world.client.get("/console/admin/images")).text()
    again = await world.client.post("/console/admin/images", data=upload(photo_bytes()))
    assert again.status == 422 and "登记失败" in await again.text()
    wrong = await world.client.post("/console/admin/images", data=upload(photo_bytes(2), licensed_to="acc"))
    assert wrong.status == 422
    resp = await world.client.post("/console/admin/images", data={"csrf": csrf, "op": "remove", "image_id": image_id},
                                   allow_redirects=False)
    assert resp.status == 303
    status, listed = await world.call("GET", "/v1/images", "admin")
    assert listed["images"] == []
    actions = [r["action"] for r in world.gateway.store.query("SELECT action FROM audit_log WHERE subject = ?",
                                                              (f"image:{image_id}",))]
    assert actions == ["image.register", "image.remove"]


async def test_admin_declares_and_lifts_an_embargo(world: World) -> None:
    service = world.gateway.services["embargoes"]
    await signed_in(world, "admin")
    csrf = await page_csrf(world.client, "/console/admin/embargoes")
    resp = await world.client.post("/console/admin/embargoes", data={
        "csrf": csrf, "op": "create", "topic": "校领导任免", "terms": "校长+任命\n新任校长",
        "ends_at": "2030-01-01T10:00", "exempt_accounts": "acc2"}, allow_redirects=False)
    assert resp.status == 303, await resp.text()
    [embargo] = service.list()
    assert embargo.topic == "校领导任免" and embargo.exempt_accounts == frozenset({"acc2"})
    assert embargo.ends_at.isoformat() == "2030-01-01T02:00:00+00:00"  # 10:00 in the console's zone, UTC+8
    html = await (await world.client.get("/console/admin/embargoes")).text()
    assert "校领导任免" in html and "校长+任命" in html and "生效中" in html
    bad = await world.client.post("/console/admin/embargoes", data={
        "csrf": csrf, "op": "create", "topic": "x", "terms": "y", "ends_at": "", "exempt_accounts": "nope"})
    assert bad.status == 422 and "无法创建" in await bad.text()
    resp = await world.client.post("/console/admin/embargoes", data={"csrf": csrf, "op": "lift", "embargo_id": embargo.id},
                                   allow_redirects=False)
    assert resp.status == 303
    assert service.get(embargo.id).lifted_at is not None


async def test_real_registry_picture_is_served_beside_the_match(aiohttp_client: Any, tmp_path: Path) -> None:
    """No stand-in: the gateway's own registry, a registration over the API, the real image_reuse checker."""
    import pytest

    pytest.importorskip("skimage")
    from image_samples import TRANSFORMS, encode, load_photo, photo_paths

    world = await build_world(aiohttp_client, tmp_path)
    photo = encode(load_photo(photo_paths()["coffee"]).resize((1200, 800)), "JPEG", quality=90)
    status, body = await world.call("POST", "/v1/images", "admin",
                                    json={"data": b64(photo), "label": "校徽（实登记）",
                                          "status": "school_mark"})
    assert status == 201, body
    image_id = body["image"]["id"]
    copy = TRANSFORMS["mirror"](photo)
    status, out = await world.submit(body="配图", images=[{"name": "cover.jpg", "data": b64(copy)}])
    assert status == 201 and out["draft"]["status"] == "flagged", out
    await signed_in(world, "resp")
    html = await (await world.client.get(f"/console/drafts/{out['draft']['id']}")).text()
    assert f'src="/console/registered-images/{image_id}"' in html and "登记图片原图不可用" not in html
    resp = await world.client.get(f"/console/registered-images/{image_id}")
    served = await resp.read()
    assert resp.status == 200 and resp.content_type == "image/jpeg"
    assert served == world.gateway.services["images"].image_bytes(image_id)
    assert Image.open(io.BytesIO(served)).size == (512, 341)


async def test_unreadable_form_bodies_get_an_error_page_not_a_500(world: World) -> None:
    form_type = {"Content-Type": "application/x-www-form-urlencoded"}
    resp = await world.client.post("/console/signin", data=b"token=\xff\xfe", headers=form_type, allow_redirects=False)
    assert resp.status == 400 and "表单内容无法读取" in await resp.text()
    draft = await flagged(world)
    await signed_in(world, "resp")
    resp = await world.client.post(f"/console/drafts/{draft['id']}/decision", data=b"decision=\xff", headers=form_type)
    assert resp.status == 400 and "表单内容无法读取" in await resp.text()
    # A NUL in a part's headers is refused by aiohttp's multipart parser.
    raw = (b'--B\r\nContent-Disposition: form-data; name="image"; filename="\x00.png"\r\n\r\nxx\r\n--B--\r\n')
    resp = await world.client.post("/console/admin/images", data=raw,
                                   headers={"Content-Type": "multipart/form-data; boundary=B"})
    assert resp.status == 400
    assert (await admin_view(world, draft["id"]))["status"] == "flagged"
    assert (await world.client.get("/console/queue")).status == 200, "the console keeps serving"
