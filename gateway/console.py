"""The review console: server-rendered pages for responsible persons, operators and admins.

Served by the gateway itself under ``/console/``. Every action goes through
``gateway.workflow`` (submit, revise, decide), so the console's rules are
exactly the API's: the same 403s and 409s, shown as clear Chinese messages.
Sessions, CSRF and the page guard live in ``console_web``/``console_sessions``;
the admin pages in ``console_admin``; the pure rendering helpers in
``console_render``. ``setup(app)`` adds the routes (listed in
``gateway.api.MODULES``).
"""

from __future__ import annotations

import base64
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from gateway import audit, console_admin, workflow
from gateway import console_render as R
from gateway import console_sessions as sessions
from gateway.accounts import account_from_row, get_row, roles_on_accounts
from gateway.api.common import validation_error
from gateway.appkeys import GATEWAY
from gateway.auth import User, can_read_account, is_operator, user_for_token
from gateway.console_web import (
    BASE,
    CONSOLE_ENV,
    STATIC,
    Ctx,
    current_session,
    error_page,
    error_page_with_roles,
    form_str,
    make_env,
    new_form_key,
    page,
    read_form,
    redirect,
    render,
    safe_next,
)
from gateway.drafts import draft_json, finding_rows, list_drafts
from gateway.errors import ApiError
from gateway.model import Account, Content
from gateway.schemas import DecisionIn, DraftIn, RevisionIn
from gateway.store import Store

# Fixed flash messages by key: the query string selects one, it never carries text.
FLASH = {
    "approved": "已批准：稿件已进入发布队列。",
    "rejected": "已驳回：稿件退回运营人修改。",
    "submitted": "稿件已提交并完成筛查。",
    "revised": "新版本已提交并完成筛查。",
    "signed_out": "您已退出登录。",
}
REVISABLE = workflow.OPEN_FOR_REVISION


# -- sign in / out ---------------------------------------------------------------


async def signin_form(request: web.Request) -> web.Response:
    if await current_session(request) is not None:
        return redirect(safe_next(request.query.get("next")))
    pre = sessions.new_pre_token()
    response = render(request, None, "signin.html", title="登录", pre=pre, next=safe_next(request.query.get("next")),
                      flash=FLASH.get(request.query.get("done", "")))
    sessions.set_cookie(response, request, request.app[GATEWAY], sessions.PRE_COOKIE, pre, max_age=3600)
    return response


async def signin(request: web.Request) -> web.Response:
    gw = request.app[GATEWAY]
    form = await read_form(request)
    if form is None:
        return render(request, None, "signin.html", status=400, title="登录", pre="", next=f"{BASE}/",
                      error="表单内容无法读取，请刷新页面后重试。")
    raw_next, given, raw_token = form.get("next"), form.get("pre"), form.get("token")
    target = safe_next(raw_next if isinstance(raw_next, str) else None)
    pre = given if isinstance(given, str) else None
    if not sessions.same_token(request.cookies.get(sessions.PRE_COOKIE), pre):
        return render(request, None, "signin.html", status=403, title="登录", pre="", next=target,
                      error="登录表单已过期，请刷新页面后重试。")
    token = raw_token.strip() if isinstance(raw_token, str) else ""
    user = await gw.store.call(user_for_token, gw.store, token) if token else None
    if user is None:
        return render(request, None, "signin.html", status=401, title="登录", pre=pre or "", next=target,
                      error="令牌无效或已停用。")
    lifetime = sessions.session_seconds(gw)
    session_id, _ = await gw.store.call(sessions.create, gw.store, user.id, token, lifetime)
    # Sign-ins are audited: who held which credentials when (article 11).
    await gw.store.call(audit.append, gw.store, user.id, "console.signed_in", f"user:{user.id}", {})
    response = redirect(target)
    sessions.set_cookie(response, request, gw, sessions.COOKIE, session_id, max_age=int(lifetime))
    sessions.clear_cookie(response, sessions.PRE_COOKIE)
    return response


@page()
async def signout(request: web.Request, ctx: Ctx) -> web.Response:
    await ctx.store.call(sessions.delete, ctx.store, ctx.session_id)
    await ctx.store.call(audit.append, ctx.store, ctx.user.id, "console.signed_out", f"user:{ctx.user.id}", {})
    response = redirect(f"{BASE}/signin?done=signed_out")
    sessions.clear_cookie(response, sessions.COOKIE)
    return response


# -- home, queue, lists ----------------------------------------------------------------


@page()
async def home(request: web.Request, ctx: Ctx) -> web.Response:
    if ctx.roles["responsible"]:
        return redirect(f"{BASE}/queue")
    return redirect(f"{BASE}/drafts")


def _people(store: Store) -> dict[str, str]:
    return {r["id"]: r["name"] for r in store.query("SELECT id, name FROM users")}


def _account_names(store: Store) -> dict[str, str]:
    return {r["id"]: r["name"] for r in store.query("SELECT id, name FROM accounts")}


def _queue_rows(store: Store, accounts: list[str]) -> list[dict[str, Any]]:
    drafts = list_drafts(store, accounts=accounts, status="flagged", limit=1000, oldest_first=True)
    for d in drafts:
        d["worst"] = R.worst_finding(d["findings"])
    return drafts


@page()
async def queue(request: web.Request, ctx: Ctx) -> web.Response:
    """Flagged drafts of the accounts I am responsible for, oldest first (as ``GET /v1/reviews``)."""
    drafts = await ctx.store.call(_queue_rows, ctx.store, ctx.roles["responsible"])
    people = await ctx.store.call(_people, ctx.store)
    names = await ctx.store.call(_account_names, ctx.store)
    return render(request, ctx, "queue.html", title="待签发", drafts=drafts, people=people, accounts=names)


def _readable_accounts(store: Store, user: User) -> list[str]:
    """The accounts ``can_read_account`` lets ``user`` read, in id order: all for an admin, else those with a role."""
    if user.admin:
        return [r["id"] for r in store.query("SELECT id FROM accounts ORDER BY id")]
    return roles_on_accounts(store, user.id).any


@page()
async def my_drafts(request: web.Request, ctx: Ctx) -> web.Response:
    """Drafts of the accounts I have a role on (as ``GET /v1/drafts``), newest first."""
    status = request.query.get("status") or None
    if status is not None and status not in R.STATUS_LABEL:
        status = None
    readable = await ctx.store.call(_readable_accounts, ctx.store, ctx.user)
    drafts = await ctx.store.call(lambda: list_drafts(ctx.store, accounts=readable, status=status, limit=500))
    people = await ctx.store.call(_people, ctx.store)
    names = await ctx.store.call(_account_names, ctx.store)
    return render(request, ctx, "drafts.html", title="稿件", drafts=drafts, people=people, accounts=names,
                  status_filter=status or "")


# -- the draft page -------------------------------------------------------------------


def _screened_texts(store: Store, draft_id: str) -> dict[int, str]:
    """Each revision's screened text, by revision number.

    One query over the revision rows: ``load_draft`` per revision would also
    read every revision's image blobs and its account, which a text diff never needs.
    """
    rows = store.query(
        "SELECT revision, title, body, body_format FROM revisions WHERE draft_id = ? ORDER BY revision", (draft_id,)
    )
    return {r["revision"]: Content(r["title"], r["body"], r["body_format"]).screened_text for r in rows}


def _draft_page_data(store: Store, draft_id: str) -> dict[str, Any] | None:
    draft = draft_json(store, draft_id)
    if draft is None:
        return None
    account_row = get_row(store, draft["account"])
    assert account_row is not None
    texts = _screened_texts(store, draft_id)
    history = []
    previous_text: str | None = None
    for rev in draft["revisions"]:
        text = texts.get(rev["revision"], "")
        findings = finding_rows(store, draft_id, rev["revision"])
        diff = R.diff_lines(previous_text, text) if previous_text is not None else []
        history.append({**rev, "findings": findings, "diff": diff, "changes": R.diff_summary(diff)})
        previous_text = text
    return {
        "draft": draft,
        "account_row": account_row,
        "account": account_from_row(account_row),
        "text": texts[draft["revision"]],
        "history": list(reversed(history)),
        "people": _people(store),
    }


def refusal(user: User, account: Account, draft: dict[str, Any]) -> str | None:
    """Why ``user`` may not decide on ``draft``, in the console's words; None if they may.

    The workflow enforces the rules; this only explains them before the click
    (and names the rule when the workflow refuses).
    """
    if user.id != account.responsible:
        return "您不是该账号的负责人：只有账号负责人可以签发其稿件。"
    if not user.is_staff:
        return "只有在职教职工可以签发稿件。"
    if draft["submitted_by"] == user.id:
        return "这一版由您本人提交：须由他人签发，不能自己批准自己的稿件。"
    if draft["status"] != "flagged":
        return f"稿件当前状态为「{R.STATUS_LABEL.get(draft['status'], draft['status'])}」：只有待签发的稿件可以批准或驳回。"
    return None


def _registry_keeps_bytes(gw: Any) -> bool:
    return hasattr(console_admin.registry_of(gw), "image_bytes")


def _image_findings(draft: dict[str, Any]) -> dict[int, list[dict[str, Any]]]:
    by_index: dict[int, list[dict[str, Any]]] = {}
    for f in draft["findings"]:
        index = (f.get("evidence") or {}).get("index")
        if isinstance(index, int) and not isinstance(index, bool):
            by_index.setdefault(index, []).append(f)
    return by_index


async def _render_draft(request: web.Request, ctx: Ctx, draft_id: str, *, status: int = 200,
                        error: str | None = None, error_detail: str = "", comment: str = "",
                        data: dict[str, Any] | None = None) -> web.Response:
    """The draft page; ``data`` is ``_draft_page_data``'s result when the caller already has it."""
    if data is None:
        data = await ctx.store.call(_draft_page_data, ctx.store, draft_id)
    if data is None:
        return error_page(request, ctx, 404, "没有这篇稿件。", f"draft {draft_id!r} does not exist")
    account: Account = data["account"]
    if not can_read_account(ctx.user, account):
        return error_page(request, ctx, 403, "您在该稿件所属账号上没有角色，不能查看。",
                          f"{ctx.user.id!r} has no role on account {account.id!r}")
    draft = data["draft"]
    findings = draft["findings"]
    text_findings = [f for f in findings if R.text_span(f, len(data["text"])) is not None]
    image_findings = _image_findings(draft)
    return render(
        request, ctx, "draft.html", status=status, title=draft["title"],
        draft=draft, account=account, account_row=data["account_row"], findings=findings,
        text_findings=text_findings,
        segments=R.segments(data["text"], findings), history=data["history"], people=data["people"],
        image_findings=image_findings,
        registered_bytes=await ctx.store.call(_registry_keeps_bytes, ctx.gw) if image_findings else False,
        refusal=refusal(ctx.user, account, draft),
        is_responsible=ctx.user.id == account.responsible,
        can_revise=ctx.user.id in account.operators and draft["status"] in REVISABLE and account.status == "active",
        can_audit=ctx.user.admin or ctx.user.id == account.responsible,
        error=error, error_detail=error_detail, comment=comment,
        flash=FLASH.get(request.query.get("done", "")),
    )


@page()
async def draft_page(request: web.Request, ctx: Ctx) -> web.Response:
    return await _render_draft(request, ctx, request.match_info["id"])


def _stale_revision(store: Store, user: User, draft_id: str, seen: str) -> str | None:
    """A refusal when a new revision arrived after the reviewer's page was rendered, else None.

    A decision approves whatever revision is current when it is made; the form
    names the revision the reviewer read, so nobody signs off text they never
    saw. Only checked for someone the workflow would let decide, so everyone
    else still gets the workflow's own refusal.
    """
    draft = draft_json(store, draft_id, include_body=False)
    if draft is None or not seen.isdigit() or int(seen) == draft["revision"]:
        return None
    account_row = get_row(store, draft["account"])
    if account_row is None or refusal(user, account_from_row(account_row), draft) is not None:
        return None
    return (f"签发被拒绝：您阅读的是第 {int(seen)} 版，稿件已更新为第 {draft['revision']} 版。"
            "请阅读新版本后再签发。")


def _decision_message(e: ApiError, reason: str | None) -> str:
    if e.status == 403 and reason:
        return "签发被拒绝：" + reason
    if e.status == 409:
        return "签发被拒绝：" + (reason or "稿件状态已变化，请刷新页面。")
    if e.status == 404:
        return "没有这篇稿件。"
    if e.status == 422:
        return "意见过长或决定无效。"
    return "签发被拒绝。"


@page()
async def decide(request: web.Request, ctx: Ctx) -> web.Response:
    draft_id = request.match_info["id"]
    decision = form_str(ctx, "decision")
    comment = form_str(ctx, "comment")
    stale = await ctx.store.call(_stale_revision, ctx.store, ctx.user, draft_id, form_str(ctx, "revision"))
    if stale is not None:
        return await _render_draft(request, ctx, draft_id, status=409, comment=comment, error=stale,
                                   error_detail="the draft has a newer revision than the page the decision was made on")
    try:
        seen = form_str(ctx, "revision")
        payload = DecisionIn.model_validate({"decision": decision, "comment": comment,
                                             "revision": int(seen) if seen.isdigit() else None})
        result = await workflow.decide(ctx.gw, ctx.user, draft_id, payload)
    except ValidationError as e:
        err = validation_error(e)
        return await _render_draft(request, ctx, draft_id, status=422, error="决定无效或意见过长（最多 5000 字）。",
                                   error_detail=err.message, comment=comment)
    except ApiError as e:
        data = await ctx.store.call(_draft_page_data, ctx.store, draft_id)
        reason = refusal(ctx.user, data["account"], data["draft"]) if data else None
        if data is None:
            return error_page(request, ctx, 404, "没有这篇稿件。", e.message)
        return await _render_draft(request, ctx, draft_id, status=e.status, error=_decision_message(e, reason),
                                   error_detail=e.message, comment=comment, data=data)
    done = "approved" if result["status"] == "approved" else "rejected"
    return redirect(f"{BASE}/drafts/{draft_id}?done={done}")


# -- images of a draft -------------------------------------------------------------------


def _image_bytes(store: Store, draft_id: str, revision: int, index: int) -> bytes | None:
    row = store.query_one(
        "SELECT data FROM revision_images WHERE draft_id = ? AND revision = ? AND idx = ?", (draft_id, revision, index)
    )
    return row["data"] if row else None


def image_response(data: bytes) -> web.Response:
    """Image bytes for an <img>: inline only when the magic bytes say it is an image we know."""
    mime = R.image_mime(data)
    headers = {
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cache-Control": "private, max-age=300",
    }
    if mime is None:
        # Unknown bytes are never rendered inline: a download, under a neutral name.
        headers["Content-Disposition"] = 'attachment; filename="image.bin"'
        return web.Response(body=data, content_type="application/octet-stream", headers=headers)
    return web.Response(body=data, content_type=mime, headers=headers)


@page(roles=False)  # one request per <img> on a draft page: no roles unless an error page is shown
async def draft_image(request: web.Request, ctx: Ctx) -> web.StreamResponse:
    draft_id = request.match_info["id"]
    try:
        revision, index = int(request.match_info["revision"]), int(request.match_info["index"])
    except ValueError:
        return await error_page_with_roles(request, ctx, 404, "没有这张图片。")
    row = await ctx.store.call(ctx.store.query_one, "SELECT account FROM drafts WHERE id = ?", (draft_id,))
    account_row = await ctx.store.call(get_row, ctx.store, row["account"]) if row else None
    if account_row is None:
        return await error_page_with_roles(request, ctx, 404, "没有这篇稿件。")
    if not can_read_account(ctx.user, account_from_row(account_row)):
        return await error_page_with_roles(request, ctx, 403, "您在该稿件所属账号上没有角色，不能查看。")
    data = await ctx.store.call(_image_bytes, ctx.store, draft_id, revision, index)
    if data is None:
        return await error_page_with_roles(request, ctx, 404, "没有这张图片。")
    return image_response(data)


# -- submitting drafts and revisions --------------------------------------------------


def _operator_accounts(store: Store, user: User) -> list[dict[str, str]]:
    """The active accounts ``user`` may submit drafts to, with their names (the compose form's choices)."""
    names = _account_names(store)
    return [{"id": a, "name": names[a]} for a in roles_on_accounts(store, user.id, active_only=True).operator]


def _uploaded_images(ctx: Ctx) -> list[dict[str, str]]:
    assert ctx.form is not None
    images = []
    for item in ctx.form.getall("images", []):
        if isinstance(item, web.FileField) and item.filename:
            data = item.file.read()
            if data:
                images.append({"name": item.filename, "data": base64.b64encode(data).decode("ascii")})
    return images


def _content_values(ctx: Ctx) -> dict[str, Any]:
    return {
        "title": form_str(ctx, "title"),
        "body": form_str(ctx, "body"),
        "body_format": form_str(ctx, "body_format", "text"),
    }


def _explain(e: ApiError | ValidationError) -> tuple[int, str, str]:
    if isinstance(e, ValidationError):
        err = validation_error(e)
        return 422, "表单有误：" + err.message, err.message
    if e.status == 403:
        return 403, "您不是该账号的运营人，不能为它提交稿件。", e.message
    if e.status == 409:
        return 409, "该稿件或账号当前不接受新稿件（已停用，或稿件状态不允许修改）。", e.message
    if e.status == 422:
        return 422, "表单有误：" + e.message, e.message
    return e.status, "提交失败。", e.message


@page()
async def new_draft_form(request: web.Request, ctx: Ctx) -> web.Response:
    accounts = await ctx.store.call(_operator_accounts, ctx.store, ctx.user)
    return render(request, ctx, "compose.html", title="新建稿件", accounts=accounts, draft=None,
                  values={"title": "", "body": "", "body_format": "text", "account": ""}, form_key=new_form_key())


@page()
async def new_draft(request: web.Request, ctx: Ctx) -> web.Response:
    values = {**_content_values(ctx), "account": form_str(ctx, "account")}
    key = form_str(ctx, "form_key") or None
    try:
        payload = DraftIn.model_validate({**values, "images": _uploaded_images(ctx)})
        result, _ = await workflow.submit(ctx.gw, ctx.user, payload, key)
    except (ApiError, ValidationError) as e:
        status, message, detail = _explain(e)
        accounts = await ctx.store.call(_operator_accounts, ctx.store, ctx.user)
        return render(request, ctx, "compose.html", status=status, title="新建稿件", accounts=accounts, draft=None,
                      values=values, form_key=key or new_form_key(), error=message, error_detail=detail)
    return redirect(f"{BASE}/drafts/{result['id']}?done=submitted")


def _previous_images(store: Store, draft_id: str) -> list[dict[str, str]]:
    row = store.query_one("SELECT revision FROM drafts WHERE id = ?", (draft_id,))
    if row is None:
        return []
    rows = store.query(
        "SELECT name, data FROM revision_images WHERE draft_id = ? AND revision = ? ORDER BY idx", (draft_id, row["revision"])
    )
    return [{"name": r["name"], "data": base64.b64encode(r["data"]).decode("ascii")} for r in rows]


async def _revisable(request: web.Request, ctx: Ctx, draft_id: str) -> dict[str, Any] | web.Response:
    draft = await ctx.store.call(draft_json, ctx.store, draft_id)
    if draft is None:
        return error_page(request, ctx, 404, "没有这篇稿件。")
    account_row = await ctx.store.call(get_row, ctx.store, draft["account"])
    assert account_row is not None
    if not is_operator(ctx.user, account_from_row(account_row)):
        return error_page(request, ctx, 403, "您不是该账号的运营人，不能提交修改稿。")
    return draft


@page()
async def revise_form(request: web.Request, ctx: Ctx) -> web.Response:
    found = await _revisable(request, ctx, request.match_info["id"])
    if isinstance(found, web.Response):
        return found
    values = {"title": found["title"], "body": found["body"], "body_format": found["body_format"], "account": found["account"]}
    return render(request, ctx, "compose.html", title="提交修改稿", accounts=[], draft=found, values=values,
                  form_key="")


@page()
async def revise(request: web.Request, ctx: Ctx) -> web.Response:
    draft_id = request.match_info["id"]
    found = await _revisable(request, ctx, draft_id)
    if isinstance(found, web.Response):
        return found
    values = {**_content_values(ctx), "account": found["account"]}
    images = _uploaded_images(ctx)
    if not images and form_str(ctx, "keep_images") == "1":
        images = await ctx.store.call(_previous_images, ctx.store, draft_id)
    try:
        payload = RevisionIn.model_validate({k: values[k] for k in ("title", "body", "body_format")} | {"images": images})
        await workflow.revise(ctx.gw, ctx.user, draft_id, payload)
    except (ApiError, ValidationError) as e:
        status, message, detail = _explain(e)
        return render(request, ctx, "compose.html", status=status, title="提交修改稿", accounts=[], draft=found,
                      values=values, form_key="", error=message, error_detail=detail)
    return redirect(f"{BASE}/drafts/{draft_id}?done=revised")


# -- routes ------------------------------------------------------------------------------


async def bare_console(request: web.Request) -> web.Response:
    return redirect(f"{BASE}/")


@page()
async def not_found_page(request: web.Request, ctx: Ctx) -> web.Response:
    # Without this, an unknown console path would get the API's JSON 404.
    return error_page(request, ctx, 404, "没有这个页面。", request.path)


def setup(app: web.Application) -> None:
    """Add the console's routes and static files to the gateway's app."""
    app[CONSOLE_ENV] = make_env()
    r = app.router
    r.add_get(BASE, bare_console)
    r.add_get(f"{BASE}/", home)
    r.add_get(f"{BASE}/signin", signin_form)
    r.add_post(f"{BASE}/signin", signin)
    r.add_post(f"{BASE}/signout", signout)
    r.add_get(f"{BASE}/queue", queue)
    r.add_get(f"{BASE}/drafts", my_drafts)
    r.add_get(f"{BASE}/drafts/new", new_draft_form)
    r.add_post(f"{BASE}/drafts/new", new_draft)
    r.add_get(f"{BASE}/drafts/{{id}}", draft_page)
    r.add_post(f"{BASE}/drafts/{{id}}/decision", decide)
    r.add_get(f"{BASE}/drafts/{{id}}/revise", revise_form)
    r.add_post(f"{BASE}/drafts/{{id}}/revise", revise)
    r.add_get(f"{BASE}/drafts/{{id}}/images/{{revision}}/{{index}}", draft_image)
    r.add_static(f"{BASE}/static", STATIC)
    console_admin.setup(app)
    r.add_get(f"{BASE}/{{tail:.*}}", not_found_page)  # last: only what nothing else matched
