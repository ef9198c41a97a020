"""Platform statistics as the platforms report them: followers per account, reads per post.

The gateway cannot see follower or read counts; the unit copies them from the
platform's back office (article 15 asks for them as reported). Each record is
dated; the annual report uses, per account, the last follower count recorded
in the year and, per post, the last read count recorded.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Iterable

from gateway import audit
from gateway.auth import User
from gateway.store import Store, utcnow


class StatsError(ValueError):
    """A statistic names a post that is not a draft of the account (HTTP 422 naming ``field``)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def record(
    store: Store, account: str, on_date: date, followers: int | None, posts: Iterable[dict[str, Any]], actor: User | str,
) -> dict[str, Any]:
    """Record an account's followers and its posts' reads as of ``on_date`` (a later record of the same day replaces it)."""
    actor_id = actor.id if isinstance(actor, User) else actor
    posts = list(posts)
    now = utcnow()
    day = on_date.isoformat()
    with store.transaction() as conn:
        for i, post in enumerate(posts):
            row = store.query_one("SELECT account FROM drafts WHERE id = ?", (post["draft"],))
            if row is None or row["account"] != account:
                raise StatsError(f"posts[{i}].draft", f"{post['draft']!r} is not a draft of account {account!r}")
        if followers is not None:
            conn.execute(
                "INSERT OR REPLACE INTO gov_account_stats (account, on_date, followers, recorded_by, recorded_at) VALUES (?,?,?,?,?)",
                (account, day, followers, actor_id, now),
            )
        for post in posts:
            conn.execute(
                "INSERT OR REPLACE INTO gov_post_stats (draft_id, account, on_date, reads, likes, recorded_by, recorded_at)"
                " VALUES (?,?,?,?,?,?,?)",
                (post["draft"], account, day, post["reads"], post.get("likes"), actor_id, now),
            )
        audit.append(store, actor_id, "stats.recorded", f"account:{account}",
                     {"on_date": day, "followers": followers, "posts": [{"draft": p["draft"], "reads": p["reads"]} for p in posts]})
    return {"account": account, "on_date": day, "followers": followers, "posts": len(posts)}


def followers_in_year(store: Store, account: str, year: int) -> tuple[int | None, str | None]:
    """The last follower count recorded within ``year`` and its date."""
    row = store.query_one(
        "SELECT followers, on_date FROM gov_account_stats WHERE account = ? AND on_date BETWEEN ? AND ? "
        "ORDER BY on_date DESC LIMIT 1",
        (account, f"{year}-01-01", f"{year}-12-31"),
    )
    return (row["followers"], row["on_date"]) if row else (None, None)


def latest_reads(store: Store, account: str) -> dict[str, int]:
    """Per draft of the account, the last read count recorded."""
    rows = store.query(
        "SELECT s.draft_id, s.reads FROM gov_post_stats s WHERE s.account = ? AND s.on_date = "
        "(SELECT MAX(on_date) FROM gov_post_stats t WHERE t.draft_id = s.draft_id)",
        (account,),
    )
    return {r["draft_id"]: r["reads"] for r in rows}
