"""Admin pages of the console: checkers, blocklists, registered images, embargoes, audit.

Each page reads and changes the feature services through their public
functions (``gateway.blocklists``, ``gateway.image_registry``,
``gateway.embargoes``), so every change is validated and audited exactly as
through the API; a service that is not running is shown as such instead of
failing the page.
A draft's audit trail is also open to the account's responsible person, as
``GET /v1/audit?draft=`` is.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp import web

from gateway import audit
from gateway import console_render as R
from gateway import console_sessions as sessions
from gateway.accounts import account_from_row, get_row
from gateway.auth import can_read_account
from gateway.console_web import BASE, Ctx, error_page, error_page_with_roles, form_str, page, redirect, render
from gateway.drafts import get_draft_row
from gateway.embargoes import check_exempt_accounts
from gateway.image_registry import get_registry
from gateway.screening import checker_listing
from gateway.services import Gateway
from gateway.store import Store

BLOCKLIST_FLASH = {"added": "已添加。", "removed": "已删除。", "not_found": "列表中没有这个词。"}
IMAGE_FLASH = {"registered": "图片已登记。", "removed": "登记已删除。"}
EMBARGO_FLASH = {"created": "禁发话题已生效。", "lifted": "禁发话题已解除。"}
IMAGE_STATUSES = {"unlicensed": "未授权", "licensed": "已授权", "school_mark": "校徽/标识"}


# -- checkers ----------------------------------------------------------------------


def checker_rows(gw: Gateway) -> list[dict[str, Any]]:
    """What ``GET /v1/checkers`` lists, for the page."""
    return checker_listing(gw, disabled_note="配置中已停用")


@page(admin=True)
async def checkers(request: web.Request, ctx: Ctx) -> web.Response:
    return render(request, ctx, "admin_checkers.html", title="检查器", checkers=checker_rows(ctx.gw),
                  targets=sorted(ctx.gw.publish_targets))


# -- blocklists --------------------------------------------------------------------


def _blocklist_view(service: Any, name: str | None, q: str) -> dict[str, Any]:
    names = service.names()
    chosen = name if name in names else (names[0] if names else None)
    described = service.describe(chosen) if chosen else None
    terms = described["terms"] if described else []
    if q:
        needle = q.casefold()
        terms = [t for t in terms if needle in str(t["term"]).casefold()]
    return {"names": names, "chosen": chosen, "described": described, "terms": terms}


@page(admin=True)
async def blocklists(request: web.Request, ctx: Ctx) -> web.Response:
    return await _render_blocklists(request, ctx, request.query.get("list"), request.query.get("q", "").strip(),
                                    flash=BLOCKLIST_FLASH.get(request.query.get("done", "")))


async def _render_blocklists(request: web.Request, ctx: Ctx, name: str | None, q: str, *, status: int = 200,
                             flash: str | None = None, error: str | None = None) -> web.Response:
    service = ctx.gw.services.get("blocklists")
    if service is None:
        return render(request, ctx, "admin_blocklists.html", status=status, title="词表", service=False,
                      names=[], chosen=None, described=None, terms=[], q=q, flash=flash, error=error)
    view = await ctx.store.call(_blocklist_view, service, name, q)
    return render(request, ctx, "admin_blocklists.html", status=status, title="词表", service=True, q=q,
                  flash=flash, error=error, **view)


@page(admin=True)
async def blocklist_change(request: web.Request, ctx: Ctx) -> web.Response:
    """Add (one term line per line of the textarea) or remove terms, through the blocklist service."""
    service = ctx.gw.services.get("blocklists")
    name = form_str(ctx, "list")
    op = form_str(ctx, "op")
    if service is None or name not in service.names() or op not in ("add", "remove"):
        return error_page(request, ctx, 404, "没有这个词表。", f"blocklist {name!r} does not exist")
    items = [line.strip() for line in form_str(ctx, "terms").splitlines() if line.strip()]
    try:
        if op == "add":
            await ctx.store.call(service.add_terms, name, items, ctx.user.id)
            done = "added"
        else:
            result = await ctx.store.call(service.remove_terms, name, items, ctx.user.id)
            done = "removed" if result.changed else "not_found"
    except (ValueError, KeyError) as e:
        problems = getattr(e, "problems", None) or [str(e)]
        return await _render_blocklists(request, ctx, name, "", status=422, error="；".join(map(str, problems)))
    return redirect(f"{BASE}/admin/blocklists?list={name}&done={done}")


# -- registered images ---------------------------------------------------------------


def registry_of(gw: Gateway) -> Any:
    """The image registry service, created on first use (that builds its index: call it off the event loop).

    Typed ``Any``: what is installed under ``services["images"]`` may keep no
    bytes or take no registrations, which the pages check with ``hasattr``.
    """
    return get_registry(gw)


def registered_bytes(registry: Any, image_id: str) -> bytes | None:
    """The registered picture's bytes, if the registry keeps them (``image_bytes(image_id)``)."""
    reader = getattr(registry, "image_bytes", None)
    if reader is None:
        return None
    data = reader(image_id)
    return data if isinstance(data, (bytes, bytearray)) else None


def _images_view(gw: Gateway) -> dict[str, Any]:
    registry = registry_of(gw)
    accounts = gw.store.query("SELECT id, name FROM accounts ORDER BY id")
    return {"images": registry.list(), "has_bytes": hasattr(registry, "image_bytes"), "accounts": accounts}


async def _render_images(request: web.Request, ctx: Ctx, *, status: int = 200, error: str | None = None,
                         flash: str | None = None) -> web.Response:
    view = await ctx.gw.run_cpu(_images_view, ctx.gw)  # first use builds the whole index: off the event loop
    return render(request, ctx, "admin_images.html", status=status, title="登记图片", statuses=IMAGE_STATUSES,
                  error=error, flash=flash, **view)


@page(admin=True)
async def images(request: web.Request, ctx: Ctx) -> web.Response:
    return await _render_images(request, ctx, flash=IMAGE_FLASH.get(request.query.get("done", "")))


@page(admin=True)
async def image_change(request: web.Request, ctx: Ctx) -> web.Response:
    """Register an uploaded picture, or remove a registration, through the registry (audited there)."""
    registry = await ctx.gw.run_cpu(registry_of, ctx.gw)
    if not hasattr(registry, "add"):
        return error_page(request, ctx, 404, "图片登记服务未启用。")
    assert ctx.form is not None
    if form_str(ctx, "op") == "remove":
        removed = await ctx.store.call(registry.remove, form_str(ctx, "image_id"), actor=ctx.user.id)
        if not removed:
            return await _render_images(request, ctx, status=404, error="没有这张登记图片。")
        return redirect(f"{BASE}/admin/images?done=removed")
    upload = ctx.form.get("file")
    data = upload.file.read() if isinstance(upload, web.FileField) else b""
    label, status = form_str(ctx, "label").strip(), form_str(ctx, "status")
    licensed_to = [v for v in ctx.form.getall("licensed_to", []) if isinstance(v, str) and v]
    if not data or not label or status not in IMAGE_STATUSES:
        return await _render_images(request, ctx, status=422, error="请选择图片文件，并填写说明和类别。")
    if status != "licensed" and licensed_to:
        return await _render_images(request, ctx, status=422, error="只有“已授权”类别可以指定授权账号。")
    try:
        await ctx.gw.run_cpu(registry.add, data, label=label, status=status, licensed_to=licensed_to, actor=ctx.user.id)
    except ValueError as e:  # ImageError, DuplicateImage and RegistryError are all ValueErrors
        return await _render_images(request, ctx, status=422, error=f"登记失败：{e}")
    return redirect(f"{BASE}/admin/images?done=registered")


def _may_see_registered(store: Store, user: Any, image_id: str) -> bool:
    """Admins, and anyone who can read a draft with a finding that names this image."""
    if user.admin:
        return True
    rows = store.query(
        "SELECT DISTINCT d.account FROM findings f JOIN drafts d ON d.id = f.draft_id "
        "WHERE json_extract(f.evidence, '$.image_id') = ?",
        (image_id,),
    )
    for r in rows:
        account_row = get_row(store, r["account"])
        if account_row and can_read_account(user, account_from_row(account_row)):
            return True
    return False


@page(roles=False)  # answers image bytes: no roles unless an error page is shown
async def registered_image(request: web.Request, ctx: Ctx) -> web.StreamResponse:
    from gateway.console import image_response

    image_id = request.match_info["image_id"]
    if not await ctx.store.call(_may_see_registered, ctx.store, ctx.user, image_id):
        return await error_page_with_roles(request, ctx, 403, "您无权查看这张登记图片。")
    registry = await ctx.store.call(registry_of, ctx.gw)
    data = await ctx.store.call(registered_bytes, registry, image_id)
    if data is None:
        return await error_page_with_roles(request, ctx, 404, "登记图片的原图不可用。", "the image registry keeps no bytes for this image")
    return image_response(bytes(data))


# -- embargoes --------------------------------------------------------------------------


def _embargo_view(gw: Gateway) -> dict[str, Any]:
    service = gw.services.get("embargoes")
    accounts = gw.store.query("SELECT id, name FROM accounts ORDER BY id")
    if service is None:
        return {"service": False, "embargoes": [], "accounts": accounts}
    return {"service": True, "embargoes": [e.to_json() for e in service.list(include_past=True)], "accounts": accounts}


async def _render_embargoes(request: web.Request, ctx: Ctx, *, status: int = 200, error: str | None = None,
                            flash: str | None = None) -> web.Response:
    view = await ctx.store.call(_embargo_view, ctx.gw)
    return render(request, ctx, "admin_embargoes.html", status=status, title="禁发话题", error=error, flash=flash, **view)


@page(admin=True)
async def embargoes(request: web.Request, ctx: Ctx) -> web.Response:
    return await _render_embargoes(request, ctx, flash=EMBARGO_FLASH.get(request.query.get("done", "")))


def local_input_time(value: str, gw: Gateway) -> str | None:
    """A ``datetime-local`` form value (no offset) as ISO 8601 in the console's time zone."""
    value = value.strip()
    if not value:
        return None
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=R.zone(sessions.settings(gw).get("timezone")))
    return moment.isoformat()


@page(admin=True)
async def embargo_change(request: web.Request, ctx: Ctx) -> web.Response:
    """Declare an embargo or lift one now, through the embargo service (validated and audited there)."""
    service = ctx.gw.services.get("embargoes")
    if service is None:
        return error_page(request, ctx, 404, "禁发话题服务未启用。")
    assert ctx.form is not None
    if form_str(ctx, "op") == "lift":
        try:
            await ctx.store.call(service.lift, form_str(ctx, "embargo_id"), ctx.user.id)
        except KeyError:
            return await _render_embargoes(request, ctx, status=404, error="没有这个禁发话题。")
        return redirect(f"{BASE}/admin/embargoes?done=lifted")
    terms = [line.strip() for line in form_str(ctx, "terms").splitlines() if line.strip()]
    exempt = [v for v in ctx.form.getall("exempt_accounts", []) if isinstance(v, str) and v]
    try:
        ends_at = local_input_time(form_str(ctx, "ends_at"), ctx.gw)
        starts_at = local_input_time(form_str(ctx, "starts_at"), ctx.gw)
        if ends_at is None:
            raise ValueError("ends_at: is required")
        await ctx.store.call(check_exempt_accounts, ctx.store, exempt)
        await ctx.store.call(service.create, form_str(ctx, "topic"), terms, ends_at, starts_at=starts_at,
                             exempt_accounts=exempt, actor=ctx.user.id)
    except ValueError as e:
        return await _render_embargoes(request, ctx, status=422, error=f"无法创建：{e}")
    return redirect(f"{BASE}/admin/embargoes?done=created")


# -- audit ---------------------------------------------------------------------------------


@page(admin=True)
async def audit_home(request: web.Request, ctx: Ctx) -> web.Response:
    draft_id = request.query.get("draft", "").strip()
    if draft_id:
        return redirect(f"{BASE}/drafts/{draft_id}/audit")
    result = await ctx.store.call(audit.verify, ctx.store)
    recent = await ctx.store.call(
        lambda: [audit.entry_json(r) for r in ctx.store.query("SELECT * FROM audit_log ORDER BY seq DESC LIMIT 50")]
    )
    return render(request, ctx, "admin_audit.html", title="审计日志", verify=result, entries=recent, draft=None)


@page()
async def draft_audit(request: web.Request, ctx: Ctx) -> web.Response:
    """A draft's audit trail and the whole chain's verification (admins and the account's responsible person)."""
    draft_id = request.match_info["id"]
    row = await ctx.store.call(get_draft_row, ctx.store, draft_id)
    if row is None:
        return error_page(request, ctx, 404, "没有这篇稿件。")
    account_row = await ctx.store.call(get_row, ctx.store, row["account"])
    if not (ctx.user.admin or (account_row is not None and account_row["responsible"] == ctx.user.id)):
        return error_page(request, ctx, 403, "审计记录仅限管理员和账号负责人查看。",
                          "the audit trail is for admins and the account's responsible person")
    entries = await ctx.store.call(audit.entries, ctx.store, draft_id)
    result = await ctx.store.call(audit.verify, ctx.store)
    return render(request, ctx, "admin_audit.html", title="审计记录", verify=result, entries=entries, draft=row)


def setup(app: web.Application) -> None:
    r = app.router
    r.add_get(f"{BASE}/admin/checkers", checkers)
    r.add_get(f"{BASE}/admin/blocklists", blocklists)
    r.add_post(f"{BASE}/admin/blocklists", blocklist_change)
    r.add_get(f"{BASE}/admin/images", images)
    r.add_post(f"{BASE}/admin/images", image_change)
    r.add_get(f"{BASE}/admin/embargoes", embargoes)
    r.add_post(f"{BASE}/admin/embargoes", embargo_change)
    r.add_get(f"{BASE}/admin/audit", audit_home)
    r.add_get(f"{BASE}/drafts/{{id}}/audit", draft_audit)
    r.add_get(f"{BASE}/registered-images/{{image_id}}", registered_image)
