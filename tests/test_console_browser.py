"""The console end to end in a real headless Chromium against the gateway on 127.0.0.1.

Debian's ``chromium`` package driven by Playwright's Python package (no
``playwright install``: the browser is the system's). The gateway is a real
server on a free port. The tests also write the screenshots the README links
(docs/screenshots/console-*.png) at desktop (1280) and phone (390) widths.
"""

from __future__ import annotations

import base64
import io
import math
import os
import re
import tempfile
import time
from pathlib import Path
from typing import Any, AsyncIterator

import pytest

CHROMIUM = "/usr/bin/chromium"
if not Path(CHROMIUM).exists():
    pytest.skip(f"{CHROMIUM} is not installed (apt-get install -y chromium)", allow_module_level=True)

from aiohttp import web  # noqa: E402
from playwright.async_api import Browser, Page, async_playwright, expect  # noqa: E402

import draftgate_plugins.outbox  # noqa: E402
from gateway import auth  # noqa: E402
from gateway.accounts import insert_account  # noqa: E402
from gateway.app import create_app  # noqa: E402
from gateway.appkeys import GATEWAY  # noqa: E402
from gateway.config import Config  # noqa: E402
from gateway.hookspecs import hookimpl  # noqa: E402
from gateway.model import Draft, Finding, Severity  # noqa: E402
from gateway.schemas import DraftIn, RevisionIn  # noqa: E402
from gateway.services import Gateway  # noqa: E402
from gateway import workflow  # noqa: E402

SCREENSHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}

# A review term, an info term: enough to show both colours on the draft page.
TERMS = (("内部资料", Severity.REVIEW, "internal_material", "疑似内部资料，发布前须负责人确认"),
         ("扫码领取", Severity.INFO, "promotion", "含推广用语，请确认不属于商业活动"))


class ConsoleTermChecker:
    name = "demo_terms"
    version = "1.0"
    description = "测试用检查器：标记“内部资料”（待审）与“扫码领取”（提示）"

    def check(self, draft: Draft) -> list[Finding]:
        text = draft.screened_text
        out = []
        for term, severity, rule, message in TERMS:
            for m in re.finditer(re.escape(term), text):
                out.append(Finding.text_match(self.name, rule, severity, message, term=term, start=m.start(),
                                              end=m.end(), text=text))
        for image in draft.images:
            if "logo" in image.name:
                out.append(Finding.image_match(self.name, "school_mark", Severity.REVIEW, "疑似使用学校标识，须有使用许可",
                                               index=image.index, image_id="img_emblem", label="校徽（登记图片）",
                                               distance=6))
        return out


def emblem(size: int, background: tuple[int, int, int] = (255, 255, 255)) -> bytes:
    """A drawn stand-in for a school emblem (test data: a red seal with a ring and a star)."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (size, size), background)
    d = ImageDraw.Draw(img)
    m = size // 10
    d.ellipse((m, m, size - m, size - m), fill=(140, 21, 21))
    d.ellipse((2 * m, 2 * m, size - 2 * m, size - 2 * m), outline=(255, 255, 255), width=max(2, size // 40))
    c, r = size / 2, size / 4
    star = [(c + (r if i % 2 == 0 else r / 2.5) * math.sin(i * math.pi / 5),
             c - (r if i % 2 == 0 else r / 2.5) * math.cos(i * math.pi / 5)) for i in range(10)]
    d.polygon(star, fill=(255, 255, 255))
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


class DemoRegistry:
    """Stands in for the image registry service (one registered emblem whose bytes it keeps)."""

    def __init__(self) -> None:
        self.data = emblem(240)

    def list(self, status: str | None = None) -> list[dict[str, Any]]:
        return [{"id": "img_emblem", "label": "校徽（登记图片）", "status": "school_mark", "licensed_to": [],
                 "format": "PNG", "width": 240, "height": 240, "created_at": "2026-09-01T08:00:00+08:00"}]

    def image_bytes(self, image_id: str) -> bytes | None:
        return self.data if image_id == "img_emblem" else None


class ConsolePlugin:
    @hookimpl
    def register_checkers(self, gateway: Gateway) -> list[Any]:
        return [ConsoleTermChecker()]


class Site:
    def __init__(self, base: str, gateway: Gateway, tokens: dict[str, str]) -> None:
        self.base, self.gateway, self.tokens = base, gateway, tokens
        self.drafts: dict[str, str] = {}


async def _submit(gw: Gateway, who: str, title: str, body: str, body_format: str = "text",
                  images: tuple[tuple[str, bytes], ...] = ()) -> str:
    user = auth.get_user(gw.store, who)
    assert user is not None
    payload = DraftIn.model_validate({"account": "physics", "title": title, "body": body, "body_format": body_format,
                                      "images": [{"name": n, "data": base64.b64encode(d).decode()} for n, d in images]})
    draft, _ = await workflow.submit(gw, user, payload, None)
    assert draft["status"] == "flagged", draft
    return draft["id"]


async def _revise(gw: Gateway, who: str, draft_id: str, title: str, body: str,
                  images: tuple[tuple[str, bytes], ...] = ()) -> None:
    user = auth.get_user(gw.store, who)
    assert user is not None
    payload = RevisionIn.model_validate({"title": title, "body": body,
                                         "images": [{"name": n, "data": base64.b64encode(d).decode()} for n, d in images]})
    draft = await workflow.revise(gw, user, draft_id, payload)
    assert draft["status"] == "flagged", draft


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[Site]:
    config = Config().with_overrides(db_path=str(tmp_path / "gw.db"), load_entry_points=False,
                                     publish_poll_interval=0.1, publish_retry_base=0.1)
    app = await create_app(config, extra_plugins=[ConsolePlugin(), draftgate_plugins.outbox])
    gw = app[GATEWAY]
    gw.services["images"] = DemoRegistry()
    tokens = {}
    for uid, name, kind, admin in (("admin", "宣传部管理员", "staff", True), ("zhang", "张老师", "staff", False),
                                   ("li", "李同学", "student", False)):
        _, tokens[uid] = auth.create_user(gw.store, id=uid, name=name, kind=kind, admin=admin, actor="test")
    admin = auth.get_user(gw.store, "admin")
    assert admin is not None
    insert_account(gw.store, {"id": "physics", "name": "物理学院学生会", "platform": "wechat", "unit": "物理学院",
                              "responsible": "zhang", "operators": ["li"]}, admin)
    runner = web.AppRunner(app)
    await runner.setup()
    tcp = web.TCPSite(runner, "127.0.0.1", 0)
    await tcp.start()
    port = runner.addresses[0][1]
    s = Site(f"http://127.0.0.1:{port}", gw, tokens)
    poster = (("poster-logo.png", emblem(200, (246, 238, 214))),)
    s.drafts["gala"] = await _submit(
        gw, "li", "物理学院迎新晚会通知",
        "各位同学：\n迎新晚会将于12月20日晚7点举行。节目单见附件（内部资料，请勿外传）。\n"
        "关注公众号后扫码领取入场券。\n物理学院学生会", images=poster,
    )
    await _revise(
        gw, "li", s.drafts["gala"], "物理学院2026年迎新晚会通知",
        "各位同学：\n迎新晚会将于12月20日晚7点在百年纪念讲堂举行。节目单见附件（内部资料，请勿外传）。\n"
        "关注公众号后扫码领取入场券，先到先得。\n物理学院学生会", images=poster,
    )
    s.drafts["lecture"] = await _submit(
        gw, "li", "凝聚态物理前沿讲座预告",
        "<p>本周五下午3点，物理楼报告厅。</p><p>讲座资料为<b>内部资料</b>，仅供校内师生参考。</p>", "html",
    )
    try:
        yield s
    finally:
        await runner.cleanup()


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as pw:
        b = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            await b.close()


async def sign_in(page: Page, site: Site, who: str, path: str = "/console/") -> None:
    await page.goto(site.base + path)
    await expect(page).to_have_url(re.compile(r"/console/signin\?next="))
    await page.fill("input[name=token]", site.tokens[who])
    await page.click("button[type=submit]")
    await page.wait_for_load_state()


async def shot(page: Page, name: str) -> None:
    """Screenshot into docs/screenshots/ when DRAFTGATE_SCREENSHOTS=1 (to refresh the committed
    pictures), else into a temp folder, so a test run does not dirty the work tree."""
    folder = SCREENSHOTS if os.environ.get("DRAFTGATE_SCREENSHOTS") == "1" else Path(tempfile.gettempdir()) / "draftgate-screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(folder / name), full_page=True)


async def test_reviewer_signs_in_sees_the_highlight_approves_and_sees_it_published(site: Site, browser: Browser) -> None:
    ctx = await browser.new_context(viewport=DESKTOP, locale="zh-CN")
    page = await ctx.new_page()
    await sign_in(page, site, "zhang")
    # The responsible person lands on the queue: both flagged drafts, oldest first, and the count.
    await expect(page).to_have_url(site.base + "/console/queue")
    await expect(page.locator("#waiting")).to_have_text("2")
    rows = page.locator("table.queue tbody tr")
    await expect(rows).to_have_count(2)
    await expect(rows.nth(0)).to_contain_text("物理学院2026年迎新晚会通知")
    await expect(rows.nth(0)).to_contain_text("李同学")
    await expect(rows.nth(0)).to_contain_text("疑似内部资料")
    await shot(page, "console-queue-desktop.png")

    await page.click("text=物理学院2026年迎新晚会通知")
    await expect(page).to_have_url(site.base + f"/console/drafts/{site.drafts['gala']}")
    review = page.locator("mark.hl.sev-review")
    await expect(review).to_have_count(1)
    await expect(review).to_contain_text("内部资料")
    await expect(page.locator("mark.hl.sev-info")).to_contain_text("扫码领取")
    await review.hover()
    await expect(review.locator(".tip")).to_be_visible()
    await expect(review.locator(".tip")).to_contain_text("demo_terms / internal_material")
    await shot(page, "console-draft-desktop.png")

    await page.fill("textarea[name=comment]", "已与学生会核实，节目单可公开。")
    await page.click("button[value=approve]")
    await expect(page.locator(".flash")).to_contain_text("已批准")
    await expect(page.locator("#waiting")).to_have_text("1")
    # The outbox target publishes within a second or two; the page refreshes itself while queued.
    deadline = time.monotonic() + 15
    while "已发布" not in (await page.locator("#publication").inner_text()):
        assert time.monotonic() < deadline, "draft was not published"
        await page.wait_for_timeout(500)
        await page.reload()
    await expect(page.locator(".decisions")).to_contain_text("已与学生会核实")
    assert site.gateway.store.query_one("SELECT count(*) AS n FROM outbox WHERE draft_id = ?", (site.drafts["gala"],))["n"] == 1
    await ctx.close()


async def test_phone_layout_screenshots(site: Site, browser: Browser) -> None:
    ctx = await browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True, locale="zh-CN")
    page = await ctx.new_page()
    await sign_in(page, site, "zhang")
    await expect(page.locator("table.queue tbody tr")).to_have_count(2)
    # No horizontal scrolling on a phone.
    assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    await shot(page, "console-queue-phone.png")
    await page.goto(site.base + f"/console/drafts/{site.drafts['gala']}")
    mark = page.locator("mark.hl.sev-review")
    await mark.tap()
    await expect(mark.locator(".tip")).to_be_visible()
    # On a phone: one column in reading order, the sign-off form after the findings and before the history.
    tops = [await page.locator(sel).first.evaluate("e => e.getBoundingClientRect().top")
            for sel in (".c-text", ".c-findings", "#decide", ".c-history")]
    assert tops == sorted(tops), tops
    assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    await shot(page, "console-draft-phone.png")
    await ctx.close()


async def test_operator_cannot_reach_the_approve_action(site: Site, browser: Browser) -> None:
    ctx = await browser.new_context(viewport=DESKTOP)
    page = await ctx.new_page()
    await sign_in(page, site, "li", f"/console/drafts/{site.drafts['lecture']}")
    await expect(page).to_have_url(site.base + f"/console/drafts/{site.drafts['lecture']}")
    await expect(page.locator("mark.hl.sev-review")).to_contain_text("内部资料")
    await expect(page.locator("button[value=approve]")).to_have_count(0)
    await expect(page.locator("body")).to_contain_text("等待账号负责人")
    await expect(page.locator("#waiting")).to_have_count(0)  # not a responsible person: no queue
    # Posting the decision anyway (with a valid CSRF token) is refused by the workflow.
    csrf = await page.locator("input[name=csrf]").first.get_attribute("value")
    resp = await page.request.post(site.base + f"/console/drafts/{site.drafts['lecture']}/decision",
                                   form={"csrf": csrf or "", "decision": "approve"}, max_redirects=0)
    assert resp.status == 403
    assert "只有账号负责人可以签发" in await resp.text()
    row = site.gateway.store.query_one("SELECT status FROM drafts WHERE id = ?", (site.drafts["lecture"],))
    assert row and row["status"] == "flagged"
    await ctx.close()


async def test_expired_or_wrong_session_goes_to_sign_in(site: Site, browser: Browser) -> None:
    ctx = await browser.new_context(viewport=DESKTOP)
    page = await ctx.new_page()
    await sign_in(page, site, "zhang")
    await expect(page).to_have_url(site.base + "/console/queue")
    site.gateway.store.execute("UPDATE console_sessions SET expires_at = ?", (time.time() - 1,))
    await page.goto(site.base + f"/console/drafts/{site.drafts['gala']}")
    await expect(page).to_have_url(re.compile(r"/console/signin\?next=%2Fconsole%2Fdrafts%2F"))
    await expect(page.locator("h1")).to_have_text("登录审核台")

    wrong = await browser.new_context(viewport=DESKTOP)
    await wrong.add_cookies([{"name": "dg_console", "value": "not-a-session", "url": site.base + "/console/"}])
    page2 = await wrong.new_page()
    await page2.goto(site.base + "/console/queue")
    await expect(page2).to_have_url(re.compile(r"/console/signin"))
    await wrong.close()
    await ctx.close()
