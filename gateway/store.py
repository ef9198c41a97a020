"""SQLite storage: one file, WAL, schema created and migrated by the gateway.

All access goes through one connection owned by one worker thread, so the
event loop never waits on disk and writes are serialised. ``Store.call`` runs
a function ``fn(db)`` on that thread; each call that writes does so inside one
transaction, committed (and fsynced: ``synchronous=FULL``) before it returns.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator, TypeVar

import sqlite_utils

T = TypeVar("T")


def utcnow() -> str:
    """Now as ISO 8601 with an explicit offset (the contract's time format)."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


# Each migration has a stable name; feature modules add theirs to this list.
# Order matters only within one feature; names are never reused.
MIGRATIONS: list[tuple[str, str]] = [
    (
        "core_0001",
        """
        CREATE TABLE users (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('staff', 'student')),
            admin INTEGER NOT NULL DEFAULT 0,
            active INTEGER NOT NULL DEFAULT 1,
            created_at TEXT NOT NULL
        );
        CREATE TABLE tokens (
            hash TEXT PRIMARY KEY,
            user_id TEXT NOT NULL REFERENCES users(id),
            created_at TEXT NOT NULL,
            revoked_at TEXT
        );
        CREATE INDEX tokens_user ON tokens(user_id);
        CREATE TABLE accounts (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            platform TEXT NOT NULL,
            unit TEXT NOT NULL,
            responsible TEXT NOT NULL REFERENCES users(id),
            operators TEXT NOT NULL DEFAULT '[]',
            official INTEGER NOT NULL DEFAULT 0,
            permits TEXT NOT NULL DEFAULT '{}',
            review_policy TEXT NOT NULL DEFAULT 'flagged',
            publish TEXT NOT NULL DEFAULT '{"target":"outbox"}',
            status TEXT NOT NULL DEFAULT 'active',
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE TABLE drafts (
            id TEXT PRIMARY KEY,
            account TEXT NOT NULL REFERENCES accounts(id),
            status TEXT NOT NULL,
            revision INTEGER NOT NULL,
            created_by TEXT NOT NULL,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            idempotency_key TEXT,
            request_hash TEXT
        );
        CREATE UNIQUE INDEX drafts_idem ON drafts(created_by, idempotency_key)
            WHERE idempotency_key IS NOT NULL;
        CREATE INDEX drafts_account_status ON drafts(account, status);
        CREATE TABLE revisions (
            draft_id TEXT NOT NULL REFERENCES drafts(id),
            revision INTEGER NOT NULL,
            title TEXT NOT NULL,
            body TEXT NOT NULL,
            body_format TEXT NOT NULL,
            content_hash TEXT NOT NULL,
            submitted_by TEXT NOT NULL,
            submitted_at TEXT NOT NULL,
            status TEXT NOT NULL,
            screened_ms REAL,
            PRIMARY KEY (draft_id, revision)
        );
        CREATE TABLE revision_images (
            draft_id TEXT NOT NULL,
            revision INTEGER NOT NULL,
            idx INTEGER NOT NULL,
            name TEXT NOT NULL,
            sha256 TEXT NOT NULL,
            data BLOB NOT NULL,
            PRIMARY KEY (draft_id, revision, idx)
        );
        CREATE TABLE findings (
            id INTEGER PRIMARY KEY,
            draft_id TEXT NOT NULL,
            revision INTEGER NOT NULL,
            checker TEXT NOT NULL,
            rule TEXT NOT NULL,
            severity TEXT NOT NULL,
            message TEXT NOT NULL,
            evidence TEXT NOT NULL
        );
        CREATE INDEX findings_draft ON findings(draft_id, revision);
        CREATE TABLE decisions (
            id INTEGER PRIMARY KEY,
            draft_id TEXT NOT NULL,
            revision INTEGER NOT NULL,
            decision TEXT NOT NULL,
            decided_by TEXT NOT NULL,
            comment TEXT NOT NULL,
            content_hash TEXT NOT NULL,
            decided_at TEXT NOT NULL
        );
        CREATE INDEX decisions_draft ON decisions(draft_id);
        CREATE TABLE publications (
            id INTEGER PRIMARY KEY,
            draft_id TEXT NOT NULL,
            revision INTEGER NOT NULL,
            account TEXT NOT NULL,
            target TEXT NOT NULL,
            state TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at REAL NOT NULL,
            last_error TEXT,
            idempotency_key TEXT NOT NULL UNIQUE,
            content_hash TEXT NOT NULL,
            approved_by TEXT,
            remote TEXT NOT NULL DEFAULT '{}',
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            published_at TEXT,
            UNIQUE (draft_id, revision)
        );
        CREATE INDEX publications_due ON publications(state, next_attempt_at);
        CREATE TABLE outbox (
            idempotency_key TEXT PRIMARY KEY,
            draft_id TEXT NOT NULL,
            revision INTEGER NOT NULL,
            account TEXT NOT NULL,
            payload TEXT NOT NULL,
            published_at TEXT NOT NULL
        );
        CREATE TABLE audit_log (
            seq INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            actor TEXT,
            action TEXT NOT NULL,
            subject TEXT,
            data TEXT NOT NULL,
            prev_hash TEXT NOT NULL,
            hash TEXT NOT NULL
        );
        CREATE INDEX audit_subject ON audit_log(subject);
        """,
    ),
    # Text checkers (issue 3): admin changes to blocklists, embargo topics.
    (
        "text_0001_blocklist_changes",
        """
        CREATE TABLE text_blocklist_changes (
            list TEXT NOT NULL,
            key TEXT NOT NULL,
            op TEXT NOT NULL CHECK (op IN ('add', 'remove')),
            line TEXT NOT NULL,
            changed_by TEXT,
            changed_at TEXT NOT NULL,
            PRIMARY KEY (list, key)
        )
        """,
    ),
    (
        "text_0002_embargoes",
        """
        CREATE TABLE text_embargoes (
            id TEXT PRIMARY KEY,
            topic TEXT NOT NULL,
            terms TEXT NOT NULL,
            starts_at TEXT,
            ends_at TEXT NOT NULL,
            exempt_accounts TEXT NOT NULL DEFAULT '[]',
            created_by TEXT,
            created_at TEXT NOT NULL,
            lifted_at TEXT
        );
        CREATE INDEX text_embargoes_ends ON text_embargoes(ends_at)
        """,
    ),
    # Review console (issue 5): cookie sessions, only a hash of each session id is kept.
    (
        "console_0001_sessions",
        """
        CREATE TABLE console_sessions (
            id_hash TEXT PRIMARY KEY,
            user_id TEXT NOT NULL REFERENCES users(id),
            csrf TEXT NOT NULL,
            created_at TEXT NOT NULL,
            expires_at REAL NOT NULL
        );
        CREATE INDEX console_sessions_expiry ON console_sessions(expires_at)
        """,
    ),
    # Image reuse checker (issue 4): registered images and their variant hashes (hex).
    (
        "images_0001_registry",
        """
        CREATE TABLE registered_images (
            id TEXT PRIMARY KEY,
            label TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('unlicensed', 'licensed', 'school_mark')),
            licensed_to TEXT NOT NULL DEFAULT '[]',
            sha256 TEXT NOT NULL UNIQUE,
            format TEXT NOT NULL,
            width INTEGER NOT NULL,
            height INTEGER NOT NULL,
            bytes INTEGER NOT NULL,
            created_by TEXT,
            created_at TEXT NOT NULL
        );
        CREATE TABLE registered_image_hashes (
            image_id TEXT NOT NULL REFERENCES registered_images(id) ON DELETE CASCADE,
            variant TEXT NOT NULL,
            phash TEXT NOT NULL,
            dhash TEXT NOT NULL,
            PRIMARY KEY (image_id, variant)
        )
        """,
    ),
    # Platform publish targets (issue 6): sealed credentials and tokens, and the
    # per-revision platform job so a restart resumes a publish instead of repeating it.
    (
        "platform_0001_credentials_jobs",
        """
        CREATE TABLE platform_credentials (
            account TEXT PRIMARY KEY,
            platform TEXT NOT NULL,
            sealed BLOB NOT NULL,
            fields TEXT NOT NULL,
            set_by TEXT,
            set_at TEXT NOT NULL
        );
        CREATE TABLE platform_tokens (
            account TEXT NOT NULL,
            platform TEXT NOT NULL,
            sealed BLOB NOT NULL,
            expires_at REAL NOT NULL,
            obtained_at TEXT NOT NULL,
            PRIMARY KEY (account, platform)
        );
        CREATE TABLE platform_jobs (
            idempotency_key TEXT PRIMARY KEY,
            target TEXT NOT NULL,
            account TEXT NOT NULL,
            draft_id TEXT NOT NULL,
            revision INTEGER NOT NULL,
            stage TEXT NOT NULL,
            data TEXT NOT NULL DEFAULT '{}',
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE TABLE platform_frontdoor_media (
            id TEXT PRIMARY KEY,
            owner TEXT NOT NULL,
            kind TEXT NOT NULL,
            name TEXT NOT NULL,
            data BLOB NOT NULL,
            created_at TEXT NOT NULL
        )
        """,
    ),
    # Governance (issue 7): units, review dates, closings, platform statistics,
    # directives and annual reviews; people changes are read from audit_log.
    (
        "gov_0001",
        """
        CREATE TABLE gov_units (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            first_responsible TEXT REFERENCES users(id),
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE TABLE gov_account_settings (
            account TEXT PRIMARY KEY REFERENCES accounts(id),
            review_date TEXT,
            updated_by TEXT,
            updated_at TEXT NOT NULL
        );
        CREATE TABLE gov_closings (
            id INTEGER PRIMARY KEY,
            account TEXT NOT NULL REFERENCES accounts(id),
            requested_at TEXT NOT NULL,
            requested_by TEXT,
            reason TEXT NOT NULL,
            deadline TEXT,
            closed_at TEXT,
            closed_by TEXT,
            result TEXT,
            cancelled_at TEXT
        );
        CREATE INDEX gov_closings_account ON gov_closings(account);
        CREATE TABLE gov_account_stats (
            account TEXT NOT NULL REFERENCES accounts(id),
            on_date TEXT NOT NULL,
            followers INTEGER NOT NULL,
            recorded_by TEXT,
            recorded_at TEXT NOT NULL,
            PRIMARY KEY (account, on_date)
        );
        CREATE TABLE gov_post_stats (
            draft_id TEXT NOT NULL REFERENCES drafts(id),
            account TEXT NOT NULL,
            on_date TEXT NOT NULL,
            reads INTEGER NOT NULL,
            likes INTEGER,
            recorded_by TEXT,
            recorded_at TEXT NOT NULL,
            PRIMARY KEY (draft_id, on_date)
        );
        CREATE INDEX gov_post_stats_account ON gov_post_stats(account);
        CREATE TABLE gov_directives (
            id TEXT PRIMARY KEY,
            topic TEXT NOT NULL,
            terms TEXT NOT NULL,
            starts_on TEXT NOT NULL,
            ends_on TEXT NOT NULL,
            accounts TEXT,
            created_by TEXT,
            created_at TEXT NOT NULL
        );
        CREATE TABLE gov_annual_reviews (
            account TEXT NOT NULL REFERENCES accounts(id),
            year INTEGER NOT NULL,
            result TEXT NOT NULL CHECK (result IN ('pass', 'fail')),
            note TEXT NOT NULL DEFAULT '',
            recorded_by TEXT,
            recorded_at TEXT NOT NULL,
            PRIMARY KEY (account, year)
        )
        """,
    ),
    (
        "gov_0002_closing_audit_seq",
        """
        ALTER TABLE gov_closings ADD COLUMN audit_seq INTEGER
        """,
    ),
    # Console: a session remembers the token it was opened with, so revoking the token ends it.
    (
        "console_0002_session_token",
        """
        ALTER TABLE console_sessions ADD COLUMN token_hash TEXT
        """,
    ),
    # Image registry: a bounded display copy of each registered picture, for the
    # console's side-by-side view. Its own table so listing registrations never
    # reads the blobs; rows registered before this migration simply have none.
    (
        "images_0002_pictures",
        """
        CREATE TABLE registered_image_pictures (
            image_id TEXT PRIMARY KEY REFERENCES registered_images(id) ON DELETE CASCADE,
            mime TEXT NOT NULL,
            width INTEGER NOT NULL,
            height INTEGER NOT NULL,
            data BLOB NOT NULL
        )
        """,
    ),
]


class Store:
    """The gateway's database. Use ``await store.call(fn, ...)`` from async code."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="draftgate-db")
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.execute("PRAGMA foreign_keys=ON")
        self._conn.execute("PRAGMA busy_timeout=5000")
        self.db = sqlite_utils.Database(self._conn)
        self.migrate()

    # -- plumbing ----------------------------------------------------------

    def migrate(self) -> list[str]:
        """Apply every migration not yet applied; returns the names applied."""
        with self._lock:
            self._conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)"
            )
            done = {r[0] for r in self._conn.execute("SELECT name FROM schema_migrations")}
            applied = []
            for name, sql in MIGRATIONS:
                if name in done:
                    continue
                with self.transaction():
                    for statement in _split_sql(sql):
                        self._conn.execute(statement)
                    self._conn.execute(
                        "INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)", (name, utcnow())
                    )
                applied.append(name)
            return applied

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (BEGIN IMMEDIATE … COMMIT), re-entrant."""
        with self._lock:
            if self._conn.in_transaction:
                yield self._conn
                return
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            else:
                self._conn.execute("COMMIT")

    def query(self, sql: str, params: tuple | dict = ()) -> list[dict[str, Any]]:
        with self._lock:
            cur = self._conn.execute(sql, params)
            cols = [c[0] for c in cur.description or ()]
            return [dict(zip(cols, row)) for row in cur.fetchall()]

    def query_one(self, sql: str, params: tuple | dict = ()) -> dict[str, Any] | None:
        rows = self.query(sql, params)
        return rows[0] if rows else None

    def execute(self, sql: str, params: tuple | dict = ()) -> sqlite3.Cursor:
        with self._lock:
            return self._conn.execute(sql, params)

    async def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``fn(*args, **kwargs)`` on the database thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, lambda: fn(*args, **kwargs))

    def close(self) -> None:
        self._executor.shutdown(wait=True)
        with self._lock:
            try:
                self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.Error:
                pass
            self._conn.close()


def _split_sql(sql: str) -> list[str]:
    return [s.strip() for s in sql.split(";") if s.strip()]
