"""The console's web plumbing: templates, the page guard (session, CSRF, role), responses.

Every console handler is wrapped by ``page``: it resolves the session cookie
(no session, an expired one or a forged one: a redirect to sign-in), checks
the CSRF token and the Origin on every POST, and the admin role where asked.
Pages are rendered by Jinja2 with autoescaping on, and every response carries
a strict Content-Security-Policy (scripts and styles only from our own static
folder), so text from a draft can never run as code in a reviewer's browser.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Awaitable, Callable
from urllib.parse import quote, urlsplit

import jinja2
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from multidict import MultiDictProxy

from gateway import console_render as R
from gateway import console_sessions as sessions
from gateway.accounts import roles_on_accounts
from gateway.appkeys import GATEWAY
from gateway.auth import User
from gateway.services import Gateway
from gateway.store import Store

BASE = "/console"
TEMPLATES = Path(__file__).parent / "templates" / "console"
STATIC = Path(__file__).parent / "static" / "console"

CONSOLE_ENV: web.AppKey[jinja2.Environment] = web.AppKey("console_env", jinja2.Environment)

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; img-src 'self'; style-src 'self'; script-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


@dataclass
class Ctx:
    """What a console handler knows about the request beyond aiohttp's."""

    gw: Gateway
    session: sessions.Session
    session_id: str
    form: MultiDictProxy[Any] | None = None
    roles: dict[str, Any] = field(default_factory=dict)

    @property
    def user(self) -> User:
        return self.session.user

    @property
    def store(self) -> Store:
        return self.gw.store


PageHandler = Callable[[web.Request, Ctx], Awaitable[web.StreamResponse]]


def make_env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(
        BASE=BASE,
        SEVERITY_LABEL=R.SEVERITY_LABEL,
        STATUS_LABEL=R.STATUS_LABEL,
        PUBLICATION_LABEL=R.PUBLICATION_LABEL,
        DECISION_LABEL=R.DECISION_LABEL,
        PLATFORM_LABEL=R.PLATFORM_LABEL,
    )
    env.filters["q"] = lambda v: quote(str(v), safe="")
    # Audit data is shown as JSON; Chinese stays readable (tojson still escapes < > & ').
    env.policies["json.dumps_kwargs"] = {"ensure_ascii": False, "sort_keys": True}
    return env


def roles_of(store: Store, user: User) -> dict[str, Any]:
    """The user's roles across accounts and the number of drafts waiting for them (shown on every page)."""
    held = roles_on_accounts(store, user.id)
    responsible, operator = held.responsible, held.operator
    waiting = 0
    if responsible:
        row = store.query_one(
            f"SELECT count(*) AS n FROM drafts WHERE status = 'flagged' AND account IN ({', '.join('?' * len(responsible))})",
            tuple(responsible),
        )
        waiting = row["n"] if row else 0
    return {"responsible": responsible, "operator": operator, "waiting": waiting}


def render(request: web.Request, ctx: Ctx | None, template: str, *, status: int = 200, **values: Any) -> web.Response:
    # A page(roles=False) handler must render through error_page_with_roles, or the nav would be missing.
    assert ctx is None or ctx.roles, "rendering a console page without the user's roles"
    env = request.app[CONSOLE_ENV]
    gw = request.app[GATEWAY]
    tz = R.zone(sessions.settings(gw).get("timezone"))
    page_values: dict[str, Any] = {
        "user": ctx.user if ctx else None,
        "csrf": ctx.session.csrf if ctx else "",
        "roles": ctx.roles if ctx else {"responsible": [], "operator": [], "waiting": 0},
        "path": request.path,
        "t": lambda v: R.local_time(v, tz),
        "flash": None,
        "error": None,
    }
    page_values.update(values)
    html = env.get_template(template).render(**page_values)
    response = web.Response(text=html, status=status, content_type="text/html", charset="utf-8")
    response.headers.update(SECURITY_HEADERS)
    return response


def error_page(request: web.Request, ctx: Ctx | None, status: int, message: str, detail: str = "") -> web.Response:
    return render(request, ctx, "error.html", status=status, message=message, detail=detail, title="出错了")


async def load_roles(ctx: Ctx) -> None:
    """Read the user's roles into ``ctx`` unless the page guard already did."""
    if not ctx.roles:
        ctx.roles = await ctx.store.call(roles_of, ctx.store, ctx.user)


async def error_page_with_roles(request: web.Request, ctx: Ctx, status: int, message: str,
                                detail: str = "") -> web.Response:
    """``error_page`` for a ``page(roles=False)`` handler: its error pages show the same nav as any other."""
    await load_roles(ctx)
    return error_page(request, ctx, status, message, detail)


def safe_next(value: str | None) -> str:
    """Only a path inside the console may be a redirect target (no open redirects)."""
    if not value:
        return f"{BASE}/"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or not parts.path.startswith(f"{BASE}/") or "\\" in value:
        return f"{BASE}/"
    return value


def redirect(location: str) -> web.Response:
    # 303: after a POST the browser follows with a GET, so reloading never re-posts a form.
    response = web.Response(status=303, headers={"Location": location})
    response.headers.update(SECURITY_HEADERS)
    return response


def to_signin(request: web.Request) -> web.Response:
    target = request.path_qs if request.method == "GET" else request.path
    response = redirect(f"{BASE}/signin?next={quote(target, safe='')}")
    if sessions.COOKIE in request.cookies:
        sessions.clear_cookie(response, sessions.COOKIE)
    return response


def origin_ok(request: web.Request) -> bool:
    """A POST from another site is refused even before the CSRF token is looked at.

    The Origin must name the host the request was sent to, or be listed in
    ``[plugins.console] origins`` (for a proxy that rewrites the Host header).
    """
    origin = request.headers.get("Origin")
    if origin is None or origin == "null":
        # Browsers send Origin on every POST; its absence means a non-browser client,
        # which still needs the session cookie and the CSRF token.
        return origin is None
    if urlsplit(origin).netloc == request.host:
        return True
    allowed = sessions.settings(request.app[GATEWAY]).get("origins", [])
    return origin.rstrip("/") in {str(o).rstrip("/") for o in allowed}


async def current_session(request: web.Request) -> tuple[str, sessions.Session] | None:
    session_id = request.cookies.get(sessions.COOKIE)
    if not session_id or len(session_id) > 200:
        return None
    store = request.app[GATEWAY].store
    session = await store.call(sessions.lookup, store, session_id)
    return (session_id, session) if session else None


def page(*, admin: bool = False,
         roles: bool = True) -> Callable[[PageHandler], Callable[[web.Request], Awaitable[web.StreamResponse]]]:
    """Wrap a console handler: signed-in user, CSRF on POST, optional admin role.

    ``roles=False`` is for handlers that answer bytes, not a page (a draft's
    images, one request per <img>): the roles, a scan of every account, are
    then read only when an error page is rendered (``error_page_with_roles``).
    """

    def wrap(fn: PageHandler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def handler(request: web.Request) -> web.StreamResponse:
            found = await current_session(request)
            if found is None:
                return to_signin(request)
            gw = request.app[GATEWAY]
            ctx = Ctx(gw, found[1], found[0])
            if roles:
                await load_roles(ctx)
            if request.method == "POST":
                form = await read_form(request)
                if form is None:
                    return await error_page_with_roles(request, ctx, 400, "表单内容无法读取，请返回页面重试。",
                                                       "the form body is not readable")
                if not origin_ok(request) or not sessions.same_token(ctx.session.csrf, _str(form.get("csrf"))):
                    return await error_page_with_roles(request, ctx, 403, "表单已失效或来源不明，请返回页面刷新后重试。",
                                                       "CSRF token or Origin check failed")
                ctx.form = form
            if admin and not ctx.user.admin:
                return await error_page_with_roles(request, ctx, 403, "此页面仅限管理员访问。",
                                                   "this page needs the admin role")
            return await fn(request, ctx)

        handler.__name__ = fn.__name__
        handler.__doc__ = fn.__doc__
        return handler

    return wrap


async def read_form(request: web.Request) -> MultiDictProxy[Any] | None:
    """The posted form, or None when its bytes cannot be a form (not UTF-8, malformed multipart headers).

    aiohttp raises those as decoding or protocol errors, which would otherwise surface as a 500.
    """
    try:
        return await request.post()
    except (ValueError, HttpProcessingError):
        return None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def form_str(ctx: Ctx, name: str, default: str = "") -> str:
    assert ctx.form is not None
    value = ctx.form.get(name)
    return value if isinstance(value, str) else default


def new_form_key() -> str:
    """An idempotency key for one rendering of a submit form: a double click submits one draft."""
    return "console-" + secrets.token_urlsafe(16)
