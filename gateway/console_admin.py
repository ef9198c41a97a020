"""Admin pages of the console: checkers, blocklists, registered images, embargoes, audit.

Each page reads the feature services through their public functions
(``gateway.blocklists``, ``gateway.image_registry``, ``gateway.embargoes``);
a service that is not running is shown as such instead of failing the page.
A draft's audit trail is also open to the account's responsible person, as
``GET /v1/audit?draft=`` is.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from gateway import audit
from gateway.accounts import account_from_row, get_row
from gateway.auth import can_read_account
from gateway.console_web import BASE, Ctx, error_page, form_str, page, redirect, render
from gateway.drafts import get_draft_row
from gateway.services import Gateway
from gateway.store import Store

BLOCKLIST_FLASH = {"added": "已添加。", "removed": "已删除。", "not_found": "列表中没有这个词。"}


# -- checkers ----------------------------------------------------------------------


def checker_rows(gw: Gateway) -> list[dict[str, Any]]:
    """What ``GET /v1/checkers`` lists, for the page."""
    rows = [
        {
            "name": c.name,
            "version": getattr(c, "version", ""),
            "description": getattr(c, "description", ""),
            "enabled": True,
            "timeout": gw.plugin_settings(c.name).get("timeout") or getattr(c, "timeout", None) or gw.config.checker_timeout,
        }
        for c in sorted(gw.checkers.values(), key=lambda c: c.name)
    ]
    rows += [
        {"name": name, "version": "", "description": "配置中已停用", "enabled": False, "timeout": None}
        for name in sorted(gw.config.disabled_plugins) if name not in gw.checkers
    ]
    return rows


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


def registry_of(gw: Gateway) -> Any | None:
    """The image registry service, created on first use by its own module; None if that module is absent."""
    try:
        from gateway.image_registry import get_registry
    except ImportError:
        return gw.services.get("images")
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
    if registry is None:
        return {"service": False, "images": [], "has_bytes": False}
    return {"service": True, "images": registry.list(), "has_bytes": hasattr(registry, "image_bytes")}


@page(admin=True)
async def images(request: web.Request, ctx: Ctx) -> web.Response:
    view = await ctx.store.call(_images_view, ctx.gw)
    return render(request, ctx, "admin_images.html", title="登记图片", **view)


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


@page()
async def registered_image(request: web.Request, ctx: Ctx) -> web.StreamResponse:
    from gateway.console import image_response

    image_id = request.match_info["image_id"]
    if not await ctx.store.call(_may_see_registered, ctx.store, ctx.user, image_id):
        return error_page(request, ctx, 403, "您无权查看这张登记图片。")
    registry = await ctx.store.call(registry_of, ctx.gw)
    data = await ctx.store.call(registered_bytes, registry, image_id) if registry is not None else None
    if data is None:
        return error_page(request, ctx, 404, "登记图片的原图不可用。", "the image registry keeps no bytes for this image")
    return image_response(bytes(data), image_id)


# -- embargoes --------------------------------------------------------------------------


def _embargo_view(gw: Gateway) -> dict[str, Any]:
    service = gw.services.get("embargoes")
    if service is None:
        return {"service": False, "embargoes": []}
    return {"service": True, "embargoes": [e.to_json() for e in service.list(include_past=True)]}


@page(admin=True)
async def embargoes(request: web.Request, ctx: Ctx) -> web.Response:
    view = await ctx.store.call(_embargo_view, ctx.gw)
    return render(request, ctx, "admin_embargoes.html", title="禁发话题", **view)


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
    r.add_get(f"{BASE}/admin/embargoes", embargoes)
    r.add_get(f"{BASE}/admin/audit", audit_home)
    r.add_get(f"{BASE}/drafts/{{id}}/audit", draft_audit)
    r.add_get(f"{BASE}/registered-images/{{image_id}}", registered_image)
