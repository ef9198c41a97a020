"""Article 15 and article 8 reports from the gateway's own records.

- ``annual_report``: per account and year, the figures the annual review asks
  for (followers, posts, the top 20 titles by reads, compliance with the
  department's unified arrangements, violations) plus the gateway's own counts
  of drafts submitted, published, flagged, blocked and rejected;
  ``report_csv`` and ``report_html`` render it (the HTML prints on A4).
- ``due_reports``: annual reports due in the next N working days (WeChat: 15
  working days before the account's platform review date; Weibo: 31 December).
- ``record_annual_review``: the department's verdict per year; two failed
  years in a row suspend the account (article 15).
- ``activity``: published posts per month per account, naming inactive ones (article 8).

Years and months are China's (UTC+8): stored times are UTC, so a post made at
00:30 on 1 January in Beijing belongs to the new year.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

from gateway import audit, directives, stats
from gateway.accounts import get_row, update_account
from gateway.auth import User
from gateway.store import Store, utcnow
from gateway.workdays import (
    CalendarNotCovered, add_workdays, china_date, china_today, day_bounds_utc, workdays_between, year_bounds_utc,
)

TOP_TITLES = 20
WECHAT_DUE_WORKDAYS = 15
FLAGGED_STATUSES = ("flagged", "approved", "rejected")  # a decision is only ever taken on a flagged revision
TEMPLATES = Path(__file__).parent / "templates"


def _month(at: str) -> str:
    return china_date(at).strftime("%Y-%m")


# -- review and due dates ----------------------------------------------------


def review_date(store: Store, account_id: str) -> str | None:
    row = store.query_one("SELECT review_date FROM gov_account_settings WHERE account = ?", (account_id,))
    return row["review_date"] if row else None


def set_review_date(store: Store, account_id: str, value: date, actor: User) -> dict[str, Any]:
    """Store the platform's annual review date of an account (WeChat sets one per account)."""
    with store.transaction() as conn:
        if get_row(store, account_id) is None:
            raise KeyError(account_id)
        conn.execute(
            "INSERT INTO gov_account_settings (account, review_date, updated_by, updated_at) VALUES (?,?,?,?) "
            "ON CONFLICT(account) DO UPDATE SET review_date = excluded.review_date, updated_by = excluded.updated_by, "
            "updated_at = excluded.updated_at",
            (account_id, value.isoformat(), actor.id, utcnow()),
        )
        audit.append(store, actor.id, "account.review_date", f"account:{account_id}", {"review_date": value.isoformat()})
    return {"account": account_id, "review_date": value.isoformat()}


def _anniversary(stored: str, year: int) -> date:
    day = date.fromisoformat(stored)
    if day.month == 2 and day.day == 29 and not _leap(year):
        return date(year, 2, 28)
    return date(year, day.month, day.day)


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def review_on(platform: str, stored_review: str | None, year: int) -> date | None:
    """The platform's annual review date in ``year``; None for a WeChat account without one.

    WeChat: the date the platform set for the account. Weibo: 31 December.
    Other platforms follow the rule they resemble (article 18): WeChat's when a
    review date is stored, otherwise Weibo's.
    """
    if platform == "wechat" or (platform == "other" and stored_review):
        return _anniversary(stored_review, year) if stored_review else None
    return date(year, 12, 31)


def due_for(platform: str, stored_review: str | None, year: int) -> dict[str, Any] | None:
    """The review date and report due date of ``year``: 15 working days before a WeChat-style review, else the review day."""
    review = review_on(platform, stored_review, year)
    if review is None:
        return None
    if platform == "wechat" or (platform == "other" and stored_review):
        return {"review_on": review.isoformat(), "due_on": add_workdays(review, -WECHAT_DUE_WORKDAYS).isoformat(),
                "rule": "15 working days before the platform review date"}
    return {"review_on": review.isoformat(), "due_on": review.isoformat(), "rule": "31 December"}


# 15 working days never span more than this many calendar days (the longest
# holidays add about a week): reviews further out cannot be due in the window.
_DUE_SPAN_DAYS = 45


def due_reports(store: Store, days: int, today: date | None = None) -> dict[str, Any]:
    """Annual reports due from ``today`` to ``days`` working days after it (raises ``CalendarNotCovered``)."""
    today = today or china_today()
    end = add_workdays(today, days)
    due, missing, unknown = [], [], []
    for acc in store.query("SELECT id, name, unit, platform, status FROM accounts WHERE status != 'closed' ORDER BY id"):
        stored = review_date(store, acc["id"])
        for year in range(today.year, end.year + 2):
            review = review_on(acc["platform"], stored, year)
            if review is None:
                missing.append({"account": acc["id"], "name": acc["name"], "platform": acc["platform"]})
                break
            if review < today or review - timedelta(days=_DUE_SPAN_DAYS) > end:
                continue
            try:
                item = due_for(acc["platform"], stored, year)
            except CalendarNotCovered as e:
                unknown.append({"account": acc["id"], "year": year, "error": str(e)})
                continue
            assert item is not None
            due_on = date.fromisoformat(item["due_on"])
            if today <= due_on <= end:
                due.append({"account": acc["id"], "name": acc["name"], "unit": acc["unit"], "platform": acc["platform"],
                            "status": acc["status"], "year": year, **item,
                            "working_days_left": workdays_between(today, due_on)})
    due.sort(key=lambda d: (d["due_on"], d["account"]))
    return {"today": today.isoformat(), "until": end.isoformat(), "days": days, "due": due,
            "missing_review_date": missing, "unknown": unknown}


# -- annual reviews ----------------------------------------------------------


def record_annual_review(store: Store, account_id: str, year: int, result: str, note: str, actor: User) -> dict[str, Any]:
    """Record the department's verdict; a second failed year in a row suspends the account."""
    with store.transaction() as conn:
        row = get_row(store, account_id)
        if row is None:
            raise KeyError(account_id)
        conn.execute(
            "INSERT OR REPLACE INTO gov_annual_reviews (account, year, result, note, recorded_by, recorded_at) VALUES (?,?,?,?,?,?)",
            (account_id, year, result, note, actor.id, utcnow()),
        )
        audit.append(store, actor.id, "account.annual_review", f"account:{account_id}", {"year": year, "result": result, "note": note})
        failed = {r["year"] for r in store.query(
            "SELECT year FROM gov_annual_reviews WHERE account = ? AND result = 'fail'", (account_id,))}
        pair = next(((y - 1, y) for y in (year, year + 1) if result == "fail" and {y - 1, y} <= failed), None)
        suspended = False
        if pair and row["status"] == "active":
            update_account(store, account_id, {"status": "suspended"}, actor,
                           f"article 15: annual reviews of {pair[0]} and {pair[1]} both failed; operating right revoked")
            suspended = True
    after = get_row(store, account_id)
    assert after is not None
    return {"review": {"account": account_id, "year": year, "result": result, "note": note, "recorded_by": actor.id},
            "consecutive_failures": list(pair) if pair else [], "suspended": suspended, "account_status": after["status"]}


def annual_reviews(store: Store, account_id: str) -> list[dict[str, Any]]:
    return store.query("SELECT year, result, note, recorded_by, recorded_at FROM gov_annual_reviews WHERE account = ? ORDER BY year",
                       (account_id,))


# -- the annual report -------------------------------------------------------


def annual_report(store: Store, account_id: str, year: int, today: date | None = None) -> dict[str, Any]:
    today = today or china_today()
    acc = get_row(store, account_id)
    if acc is None:
        raise KeyError(account_id)
    lo, hi = year_bounds_utc(year)
    followers, followers_on = stats.followers_in_year(store, account_id, year)
    reads = stats.latest_reads(store, account_id)

    published = [
        {"draft": r["draft_id"], "title": r["title"], "published_at": r["published_at"], "reads": reads.get(r["draft_id"])}
        for r in store.query(
            "SELECT p.draft_id, p.published_at, r.title FROM publications p "
            "JOIN revisions r ON r.draft_id = p.draft_id AND r.revision = p.revision "
            "WHERE p.account = ? AND p.state = 'published' AND p.published_at >= ? AND p.published_at < ? ORDER BY p.published_at",
            (account_id, lo, hi),
        )
    ]
    # Posts without a recorded read count rank last, not as zero reads.
    ranked = sorted(published, key=lambda p: (p["reads"] is None, -(p["reads"] or 0), p["published_at"]))
    top = [{"rank": i + 1, **p} for i, p in enumerate(ranked[:TOP_TITLES])]

    submitted = store.query_one(
        "SELECT COUNT(*) AS n FROM drafts WHERE account = ? AND created_at >= ? AND created_at < ?", (account_id, lo, hi))
    flagged_rows = store.query(
        "SELECT r.draft_id, MIN(r.submitted_at) AS at FROM revisions r JOIN drafts d ON d.id = r.draft_id "
        f"WHERE d.account = ? AND r.status IN ({','.join('?' * len(FLAGGED_STATUSES))}) AND r.submitted_at >= ? AND r.submitted_at < ? "
        "GROUP BY r.draft_id",
        (account_id, *FLAGGED_STATUSES, lo, hi),
    )
    blocked_revs = store.query(
        "SELECT r.draft_id, r.revision, r.title, r.submitted_at AS at, r.submitted_by AS by FROM revisions r "
        "JOIN drafts d ON d.id = r.draft_id WHERE d.account = ? AND r.status = 'blocked' AND r.submitted_at >= ? AND r.submitted_at < ?",
        (account_id, lo, hi),
    )
    rejections = store.query(
        "SELECT c.draft_id, c.revision, r.title, c.decided_at AS at, c.decided_by AS by, c.comment FROM decisions c "
        "JOIN drafts d ON d.id = c.draft_id JOIN revisions r ON r.draft_id = c.draft_id AND r.revision = c.revision "
        "WHERE d.account = ? AND c.decision = 'reject' AND c.decided_at >= ? AND c.decided_at < ?",
        (account_id, lo, hi),
    )
    violations = []
    for kind, rows in (("blocked", blocked_revs), ("rejected", rejections)):
        for v in rows:
            findings = store.query(
                "SELECT checker, rule, severity, message FROM findings WHERE draft_id = ? AND revision = ? ORDER BY id",
                (v["draft_id"], v["revision"]),
            )
            violations.append({"kind": kind, "draft": v["draft_id"], "revision": v["revision"], "title": v["title"],
                               "at": v["at"], "by": v["by"], "comment": v.get("comment"), "findings": findings})
    violations.sort(key=lambda v: (v["at"], v["draft"], v["revision"]))

    months = [f"{year}-{m:02d}" for m in range(1, 13)]
    monthly = {m: {"month": m, "published": 0, "flagged": 0} for m in months}
    for p in published:
        monthly[_month(p["published_at"])]["published"] += 1
    for f in flagged_rows:
        monthly[_month(f["at"])]["flagged"] += 1

    try:
        due = due_for(acc["platform"], review_date(store, account_id), year)
    except CalendarNotCovered as e:
        due = {"error": str(e)}
    compliance = directives.compliance(store, acc, year, today)
    unit = store.query_one("SELECT id, name, first_responsible FROM gov_units WHERE id = ? OR name = ?", (acc["unit"], acc["unit"]))
    reviews = annual_reviews(store, account_id)
    return {
        "account": {"id": acc["id"], "name": acc["name"], "platform": acc["platform"], "unit": acc["unit"],
                    "unit_first_responsible": unit["first_responsible"] if unit else None,
                    "responsible": acc["responsible"], "operators": json.loads(acc["operators"]), "status": acc["status"],
                    "permits": json.loads(acc["permits"])},
        "year": year,
        "generated_at": utcnow(),
        "due": due,
        "figures": {
            "followers": followers, "followers_recorded_on": followers_on,
            "reads": sum(p["reads"] for p in published if p["reads"] is not None) if any(p["reads"] is not None for p in published) else None,
            "posts_with_reads": sum(1 for p in published if p["reads"] is not None),
            "drafts_submitted": submitted["n"] if submitted else 0,
            "drafts_published": len(published),
            "drafts_flagged": len(flagged_rows),
            "drafts_blocked": len({v["draft_id"] for v in blocked_revs}),
            "drafts_rejected": len({v["draft_id"] for v in rejections}),
            "violations": len(violations),
            "directives": len(compliance),
            "directives_complied": sum(1 for c in compliance if c["status"] == "complied"),
            "directives_missed": sum(1 for c in compliance if c["status"] == "missed"),
        },
        "top_titles": top,
        "monthly": list(monthly.values()),
        "violations": violations,
        "directives": compliance,
        "annual_reviews": reviews,
    }


def report_csv(report: dict[str, Any]) -> str:
    """The report as CSV: one section per block, each block with its own header row."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(["section", "field", "value"])
    for key, value in report["account"].items():
        w.writerow(["account", key, json.dumps(value, ensure_ascii=False) if isinstance(value, (list, dict)) else value])
    w.writerow(["account", "year", report["year"]])
    for key, value in (report["due"] or {}).items():
        w.writerow(["due", key, value])
    for key, value in report["figures"].items():
        w.writerow(["figures", key, "" if value is None else value])
    w.writerow([])
    w.writerow(["top_titles", "rank", "title", "reads", "published_at", "draft"])
    for t in report["top_titles"]:
        w.writerow(["top_titles", t["rank"], t["title"], "" if t["reads"] is None else t["reads"], t["published_at"], t["draft"]])
    w.writerow([])
    w.writerow(["monthly", "month", "published", "flagged"])
    for m in report["monthly"]:
        w.writerow(["monthly", m["month"], m["published"], m["flagged"]])
    w.writerow([])
    w.writerow(["violations", "kind", "draft", "revision", "title", "at", "findings"])
    for v in report["violations"]:
        found = "; ".join(f"{f['checker']}/{f['rule']} ({f['severity']}): {f['message']}" for f in v["findings"])
        w.writerow(["violations", v["kind"], v["draft"], v["revision"], v["title"], v["at"], found])
    w.writerow([])
    w.writerow(["directives", "directive", "topic", "starts_on", "ends_on", "status", "posts"])
    for d in report["directives"]:
        w.writerow(["directives", d["directive"], d["topic"], d["starts_on"], d["ends_on"], d["status"],
                    " ".join(p["draft"] for p in d["posts"])])
    return out.getvalue()


def chart(monthly: list[dict[str, Any]], width: int = 520, height: int = 150) -> dict[str, Any]:
    """Bar geometry for the monthly published/flagged chart (the template draws it as inline SVG)."""
    top = max([1] + [max(m["published"], m["flagged"]) for m in monthly])
    left, bottom, plot_h = 28, height - 20, height - 36
    slot = (width - left - 4) / len(monthly)
    bar = slot * 0.36
    bars, labels = [], []
    for i, m in enumerate(monthly):
        x = left + i * slot + slot * 0.12
        for j, series in enumerate(("published", "flagged")):
            value = m[series]
            h = plot_h * value / top
            bars.append({"series": series, "month": m["month"], "value": value,
                         "x": round(x + j * bar, 1), "y": round(bottom - h, 1), "w": round(bar, 1), "h": round(h, 1)})
        labels.append({"x": round(left + i * slot + slot / 2, 1), "text": m["month"][5:]})
    return {"width": width, "height": height, "bars": bars, "labels": labels, "max": top, "left": left, "bottom": bottom,
            "top_y": bottom - plot_h}


@lru_cache(maxsize=1)
def _templates() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True, trim_blocks=True, lstrip_blocks=True)


def report_html(report: dict[str, Any]) -> str:
    """The report as one printable HTML page (A4, inline CSS and SVG: no external resources)."""
    return _templates().get_template("report_annual.html").render(r=report, chart=chart(report["monthly"]))


# -- activity (article 8) ----------------------------------------------------


def _months_back(today: date, count: int) -> list[str]:
    y, m = today.year, today.month
    out = []
    for _ in range(count):
        out.append(f"{y}-{m:02d}")
        y, m = (y, m - 1) if m > 1 else (y - 1, 12)
    return out[::-1]


def activity(store: Store, months: int = 12, inactive_months: int = 3, today: date | None = None) -> dict[str, Any]:
    """Published posts per month over the last ``months`` months; inactive = none in the last ``inactive_months``."""
    today = today or china_today()
    span = _months_back(today, months)
    recent = set(_months_back(today, inactive_months))
    first = date.fromisoformat(span[0] + "-01")
    window_start = date.fromisoformat(min(recent) + "-01")
    lo, hi = day_bounds_utc(first, today)
    # An account younger than the inactivity window has not had the chance to be inactive.
    grace_before, _ = day_bounds_utc(window_start, window_start)
    rows = []
    for acc in store.query("SELECT id, name, unit, platform, status, created_at FROM accounts WHERE status != 'closed' ORDER BY id"):
        counts = {m: 0 for m in span}
        for p in store.query(
            "SELECT published_at FROM publications WHERE account = ? AND state = 'published' AND published_at >= ? AND published_at < ?",
            (acc["id"], lo, hi),
        ):
            counts[_month(p["published_at"])] += 1
        last = store.query_one(
            "SELECT MAX(published_at) AS at FROM publications WHERE account = ? AND state = 'published'", (acc["id"],))
        recent_posts = sum(n for m, n in counts.items() if m in recent)
        rows.append({
            "account": acc["id"], "name": acc["name"], "unit": acc["unit"], "platform": acc["platform"], "status": acc["status"],
            "posts_by_month": counts, "total": sum(counts.values()),
            "last_published_at": last["at"] if last else None,
            "inactive": recent_posts == 0 and acc["created_at"] < grace_before,
        })
    rows.sort(key=lambda r: (r["total"], r["account"]))
    return {"today": today.isoformat(), "months": span, "inactive_months": inactive_months, "accounts": rows,
            "inactive": [{"account": r["account"], "name": r["name"], "unit": r["unit"], "last_published_at": r["last_published_at"]}
                         for r in rows if r["inactive"]]}
