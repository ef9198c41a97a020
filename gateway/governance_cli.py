"""``draftgate report …`` and ``draftgate stats record …``: the governance reports and statistics from the shell.

``draftgate report annual --account ID --year YYYY --format json|csv|html [--output FILE]``
``draftgate report due --days N`` and ``draftgate report activity``
``draftgate stats record --account ID [--date YYYY-MM-DD] [--followers N] [--post DRAFT=READS ...]``
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path

from gateway import reports, stats
from gateway.accounts import get_row
from gateway.cli import register_command
from gateway.config import db_path_from_env
from gateway.store import Store
from gateway.workdays import CalendarNotCovered, china_today


def _open(args: argparse.Namespace) -> Store:
    return Store(db_path_from_env(args.db))


def _report_configure(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="report_cmd", required=True)
    annual = sub.add_parser("annual", help="the article-15 annual report of one account")
    annual.add_argument("--account", required=True)
    annual.add_argument("--year", type=int, required=True)
    annual.add_argument("--format", choices=["json", "csv", "html"], default="json")
    annual.add_argument("--output", help="write to this file instead of stdout")
    due = sub.add_parser("due", help="annual reports due in the next N working days")
    due.add_argument("--days", type=int, default=30)
    sub.add_parser("activity", help="published posts per month, naming inactive accounts")


def _report_run(args: argparse.Namespace) -> int:
    store = _open(args)
    try:
        if args.report_cmd == "annual":
            if get_row(store, args.account) is None:
                print(f"error: no account {args.account!r}", file=sys.stderr)
                return 1
            report = reports.annual_report(store, args.account, args.year)
            text = {"json": lambda: json.dumps(report, ensure_ascii=False, indent=2) + "\n",
                    "csv": lambda: reports.report_csv(report),
                    "html": lambda: reports.report_html(report)}[args.format]()
            if args.output:
                Path(args.output).write_text(text, encoding="utf-8")
            else:
                sys.stdout.write(text)
            return 0
        if args.report_cmd == "due":
            try:
                result = reports.due_reports(store, args.days)
            except CalendarNotCovered as e:
                print(f"error: {e}", file=sys.stderr)
                return 1
        else:
            result = reports.activity(store)
        print(json.dumps(result, ensure_ascii=False, indent=2))
        return 0
    finally:
        store.close()


def _post(value: str) -> dict[str, object]:
    draft, sep, reads = value.partition("=")
    if not sep or not reads.isdigit():
        raise argparse.ArgumentTypeError(f"{value!r}: expected DRAFT_ID=READS")
    return {"draft": draft, "reads": int(reads)}


def _stats_configure(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="stats_cmd", required=True)
    rec = sub.add_parser("record", help="record followers and reads as the platform reports them")
    rec.add_argument("--account", required=True)
    rec.add_argument("--date", type=date.fromisoformat, default=None, help="as of (default: today in China)")
    rec.add_argument("--followers", type=int)
    rec.add_argument("--post", type=_post, action="append", default=[], metavar="DRAFT=READS")


def _stats_run(args: argparse.Namespace) -> int:
    if args.followers is None and not args.post:
        print("error: nothing to record: give --followers or --post", file=sys.stderr)
        return 2
    store = _open(args)
    try:
        if get_row(store, args.account) is None:
            print(f"error: no account {args.account!r}", file=sys.stderr)
            return 1
        try:
            result = stats.record(store, args.account, args.date or china_today(), args.followers, args.post, "cli")
        except stats.StatsError as e:
            print(f"error: {e}", file=sys.stderr)
            return 1
        print(json.dumps(result, ensure_ascii=False))
        return 0
    finally:
        store.close()


register_command("report", _report_configure, _report_run)
register_command("stats", _stats_configure, _stats_run)
