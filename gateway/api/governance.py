"""Account life cycle, platform statistics, directives and the article-15/article-8 reports.

``/v1/accounts/{id}/suspend|close|closing|review-date``, ``/v1/closings``,
``/v1/stats``, ``/v1/directives``, ``/v1/reports/annual|due|activity`` and
``/v1/reports/annual-reviews``. Admin only, except the annual report (also the
account's responsible person) and statistics (also the account's people, who
copy them from the platform's back office).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Callable, Literal

from aiohttp import web
from pydantic import BeforeValidator, Field

from gateway import directives, lifecycle, reports, stats
from gateway.accounts import account_from_row, get_row
from gateway.store import Store
from gateway.api.common import (
    ApiError,
    M,
    account_row_or_404,
    caller,
    gateway_of,
    invalid,
    json_response,
    read_json,
    require_admin,
    route,
    unknown_account,
)
from gateway.auth import can_read_account, is_responsible
from gateway.errors import conflict, forbidden
from gateway.people import StateError
from gateway.schemas import COMMENT_MAX, NAME_MAX, Id, Strict
from gateway.workdays import CalendarNotCovered, china_today


def _day_text(value: Any) -> Any:
    # Lax date parsing alone would also take a number, 0 becoming 1970-01-01 (seconds since the epoch).
    if not isinstance(value, str):
        raise ValueError("must be a date, YYYY-MM-DD")  # noqa: TRY004 — pydantic reports only ValueErrors as field errors
    return value


Day = Annotated[date, BeforeValidator(_day_text), Field(strict=False, description="a date, YYYY-MM-DD")]
Reason = Annotated[str, Field(min_length=1, max_length=COMMENT_MAX)]
Count = Annotated[int, Field(ge=0, le=10**12)]


class ReasonIn(Strict):
    reason: Reason


class ClosingIn(Strict):
    result: Reason
    closed_on: Day | None = None


class ReviewDateIn(Strict):
    review_date: Day


class PostStatIn(Strict):
    draft: Id
    reads: Count
    likes: Count | None = None


class StatsIn(Strict):
    account: Id
    on_date: Day | None = None
    followers: Count | None = None
    posts: Annotated[list[PostStatIn], Field(max_length=1000)] = []


class DirectiveIn(Strict):
    topic: Annotated[str, Field(min_length=1, max_length=NAME_MAX)]
    terms: Annotated[list[Annotated[str, Field(min_length=1, max_length=NAME_MAX)]], Field(min_length=1, max_length=100)]
    starts_on: Day
    ends_on: Day
    accounts: Annotated[list[Id], Field(max_length=1000)] | None = None


class AnnualReviewIn(Strict):
    account: Id
    year: Annotated[int, Field(ge=2000, le=2100)]
    result: Literal["pass", "fail"]
    note: Annotated[str, Field(max_length=COMMENT_MAX)] = ""


# -- query parameters --------------------------------------------------------


def _int_param(request: web.Request, name: str, default: int | None, lo: int, hi: int) -> int:
    raw = request.query.get(name)
    if raw is None:
        if default is None:
            raise invalid(name, "is required")
        return default
    try:
        value = int(raw)
    except ValueError:
        raise invalid(name, f"{raw!r} is not an integer") from None
    if not lo <= value <= hi:
        raise invalid(name, f"must be between {lo} and {hi}")
    return value


def _day_param(request: web.Request, name: str) -> date | None:
    raw = request.query.get(name)
    if raw is None:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise invalid(name, f"{raw!r} is not a date (YYYY-MM-DD)") from None


def _calendar_error(field: str, e: CalendarNotCovered) -> ApiError:
    return ApiError(422, "calendar_not_covered", f"{field}: {e}", field=field, year=e.year)


# -- life cycle --------------------------------------------------------------


async def _lifecycle_change(request: web.Request, model: type[M], change: Callable[[Store, str, M, str], Any]) -> Any:
    """Run a life-cycle change (``change(store, account_id, body, admin)``) for the account in
    the path; a refused state change is 409."""
    admin = require_admin(request)
    account_id = request.match_info["id"]
    await account_row_or_404(request, account_id)
    body = await read_json(request, model)
    store = gateway_of(request).store
    try:
        return await store.call(change, store, account_id, body, admin)
    except StateError as e:
        raise conflict(e.code, str(e)) from None


async def suspend(request: web.Request) -> web.Response:
    account = await _lifecycle_change(
        request, ReasonIn, lambda store, account_id, body, admin: lifecycle.suspend(store, account_id, body.reason, admin))
    return json_response({"account": account})


async def close(request: web.Request) -> web.Response:
    return json_response(await _lifecycle_change(
        request, ReasonIn,
        lambda store, account_id, body, admin: lifecycle.request_close(store, account_id, body.reason, admin)))


async def report_closing(request: web.Request) -> web.Response:
    closing = await _lifecycle_change(
        request, ClosingIn,
        lambda store, account_id, body, admin: lifecycle.report_closed(
            store, account_id, body.result, admin, body.closed_on))
    return json_response({"closing": closing})


async def list_closings(request: web.Request) -> web.Response:
    require_admin(request)
    overdue = request.query.get("overdue", "").lower() in ("1", "true", "yes")
    today = _day_param(request, "today")
    store = gateway_of(request).store
    return json_response({"closings": await store.call(lifecycle.closings, store, overdue_only=overdue, today=today)})


async def put_review_date(request: web.Request) -> web.Response:
    admin = require_admin(request)
    account_id = request.match_info["id"]
    await account_row_or_404(request, account_id)
    body = await read_json(request, ReviewDateIn)
    store = gateway_of(request).store
    return json_response(await store.call(reports.set_review_date, store, account_id, body.review_date, admin))


# -- statistics and directives -----------------------------------------------


async def record_stats(request: web.Request) -> web.Response:
    user = caller(request)
    body = await read_json(request, StatsIn)
    store = gateway_of(request).store
    row = await store.call(get_row, store, body.account)
    if row is None:
        raise unknown_account("account", body.account)
    if not can_read_account(user, account_from_row(row)):
        raise forbidden(f"{user.id!r} has no role on account {body.account!r}")
    if body.followers is None and not body.posts:
        raise invalid("body", "records nothing: give followers or posts")
    try:
        result = await store.call(stats.record, store, body.account, body.on_date or china_today(), body.followers,
                                  [p.model_dump() for p in body.posts], user)
    except stats.StatsError as e:
        raise invalid(e.field, str(e), code="unknown_post") from None
    return json_response({"recorded": result}, status=201)


async def create_directive(request: web.Request) -> web.Response:
    admin = require_admin(request)
    body = await read_json(request, DirectiveIn)
    if body.ends_on < body.starts_on:
        raise invalid("ends_on", "is before starts_on")
    store = gateway_of(request).store
    directive = await store.call(directives.create, store, body.topic, body.terms, body.starts_on, body.ends_on, body.accounts, admin)
    return json_response({"directive": directive}, status=201)


async def list_directives(request: web.Request) -> web.Response:
    require_admin(request)
    store = gateway_of(request).store
    return json_response({"directives": await store.call(directives.list_directives, store)})


# -- reports -----------------------------------------------------------------


async def annual(request: web.Request) -> web.StreamResponse:
    user = caller(request)
    account_id = request.query.get("account")
    if not account_id:
        raise invalid("account", "is required")
    year = _int_param(request, "year", None, 2000, 2100)
    fmt = request.query.get("format", "json")
    if fmt not in ("json", "csv", "html"):
        raise invalid("format", "must be json, csv or html")
    row = await account_row_or_404(request, account_id)
    if not (user.admin or is_responsible(user, account_from_row(row))):
        raise forbidden("the annual report is for admins and the account's responsible person")
    store = gateway_of(request).store
    report = await store.call(reports.annual_report, store, account_id, year, _day_param(request, "today"))
    if fmt == "csv":
        return web.Response(text=reports.report_csv(report), content_type="text/csv", charset="utf-8",
                            headers={"Content-Disposition": f'attachment; filename="annual-{account_id}-{year}.csv"'})
    if fmt == "html":
        return web.Response(text=reports.report_html(report), content_type="text/html", charset="utf-8")
    return json_response(report)


async def due(request: web.Request) -> web.Response:
    require_admin(request)
    days = _int_param(request, "days", 30, 0, 366)
    today = _day_param(request, "today")
    store = gateway_of(request).store
    try:
        return json_response(await store.call(reports.due_reports, store, days, today))
    except CalendarNotCovered as e:
        raise _calendar_error("days", e) from None


async def activity(request: web.Request) -> web.Response:
    require_admin(request)
    months = _int_param(request, "months", 12, 1, 60)
    inactive_months = _int_param(request, "inactive_months", 3, 1, months)
    store = gateway_of(request).store
    return json_response(await store.call(reports.activity, store, months, inactive_months, _day_param(request, "today")))


async def annual_review(request: web.Request) -> web.Response:
    admin = require_admin(request)
    body = await read_json(request, AnnualReviewIn)
    store = gateway_of(request).store
    if await store.call(get_row, store, body.account) is None:
        raise unknown_account("account", body.account)
    result = await store.call(reports.record_annual_review, store, body.account, body.year, body.result, body.note, admin)
    return json_response(result, status=201)


def setup(app: web.Application) -> None:
    route(app, "POST", "/v1/accounts/{id}/suspend", suspend, summary="Suspend an account: no drafts from now on (article 17, admin)",
          body=ReasonIn, errors=(403, 404, 409, 422))
    route(app, "POST", "/v1/accounts/{id}/close", close,
          summary="Close an account and record the closing request with its 10-working-day deadline (article 16, admin)",
          body=ReasonIn, errors=(403, 404, 409, 422))
    route(app, "POST", "/v1/accounts/{id}/closing", report_closing,
          summary="Report the platform's closing result for a closed account (article 16, admin)",
          body=ClosingIn, errors=(403, 404, 409, 422))
    route(app, "GET", "/v1/closings", list_closings, summary="Closed accounts with their closing deadlines; overdue=1 for overdue only",
          query={"overdue": "1 for overdue closings only", "today": "date to judge by (default: today in China)"}, errors=(403, 422))
    route(app, "PUT", "/v1/accounts/{id}/review-date", put_review_date,
          summary="Store the platform's annual review date of an account (WeChat)", body=ReviewDateIn, errors=(403, 404, 422))
    route(app, "POST", "/v1/stats", record_stats, summary="Record platform statistics: followers per account, reads per post",
          body=StatsIn, status=201, errors=(403, 422))
    route(app, "POST", "/v1/directives", create_directive,
          summary="Record a unified arrangement: accounts publish on a topic between dates (article 14, admin)",
          body=DirectiveIn, status=201, errors=(403, 422))
    route(app, "GET", "/v1/directives", list_directives, summary="The department's unified arrangements (admin)", errors=(403,))
    route(app, "GET", "/v1/reports/annual", annual, summary="The article-15 annual report of an account (json, csv or html)",
          query={"account": "account id", "year": "YYYY", "format": "json (default), csv or html", "today": "date to judge by"},
          errors=(403, 404, 422))
    route(app, "GET", "/v1/reports/due", due, summary="Annual reports due in the next N working days (admin)",
          query={"days": "working days ahead (default 30)", "today": "date to count from"}, errors=(403, 422))
    route(app, "GET", "/v1/reports/activity", activity, summary="Published posts per month per account, naming inactive accounts (article 8)",
          query={"months": "months back (default 12)", "inactive_months": "no post in this many months = inactive (default 3)",
                 "today": "date to count from"}, errors=(403, 422))
    route(app, "POST", "/v1/reports/annual-reviews", annual_review,
          summary="Record an annual review result; two failed years in a row suspend the account (article 15, admin)",
          body=AnnualReviewIn, status=201, errors=(403, 422))
