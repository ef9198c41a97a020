"""Plumbing shared by the platform publish targets (``wechat``, ``weibo``).

- ``PlatformError``: a platform's own error answer, classified as a token
  problem, a transient one (rate limit, system busy: retried with a delay) or
  permanent (the publication fails with the platform's code and message).
- ``Job``: the per-revision platform job in ``platform_jobs``, keyed by the
  idempotency key, so a restart resumes where the last attempt stopped
  (uploaded images, created draft, submitted publish id) instead of repeating
  a step that would publish twice.
- ``TokenCache``: access tokens kept in memory and, sealed, in the database;
  refreshed before they expire and when the platform says they went bad, one
  refresh per account at a time.
- ``Credentials are missing``: ``NoCredentials``, retried, so publishing
  resumes once an admin sets them.
- ``call_with_token``: one platform call, repeated once with a fresh token
  when the platform refuses the one it got.
- ``PUBLISH_ERRORS`` / ``error_result``: how a target's ``publish()`` turns
  these exceptions (and network failures) into a ``PublishResult``.
- ``credential_key_problem``: the ``validate_publish_config`` answer for
  credentials put in the publish config instead of the credentials API.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import time
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Mapping

import aiohttp

from gateway.model import PublishItem, PublishResult
from gateway.secrets import load_credentials, load_token, save_token
from gateway.store import Store, utcnow


class PlatformError(Exception):
    """An error answer from a platform API call."""

    def __init__(self, platform: str, api: str, code: int, message: str, *, token_error: bool = False,
                 retry_after: float | None = None) -> None:
        super().__init__(f"{platform} {api}: error {code}: {message}")
        self.platform, self.api, self.code, self.message = platform, api, code, message
        self.token_error = token_error
        self.retry_after = retry_after  # None: permanent

    def result(self, stage: str) -> PublishResult:
        remote = {"platform": self.platform, "api": self.api, "errcode": self.code, "errmsg": self.message, "stage": stage}
        text = f"{self.platform} {self.api} answered error {self.code}: {self.message}"
        if self.retry_after is not None:
            return PublishResult.retry(text, self.retry_after, **remote)
        return PublishResult.fail(text, **remote)


class NoCredentials(Exception):
    """No platform credentials are set for the account (an admin sets them)."""


class UnknownOutcome(Exception):
    """A non-repeatable request was sent but its answer was lost: repeating it could publish twice."""


@dataclass
class Job:
    """One revision's progress on a platform; ``data`` is whatever the target needs to resume."""

    key: str
    stage: str = "new"
    data: dict[str, Any] = field(default_factory=dict)


def load_job(store: Store, key: str) -> Job:
    row = store.query_one("SELECT stage, data FROM platform_jobs WHERE idempotency_key = ?", (key,))
    return Job(key, row["stage"], json.loads(row["data"])) if row else Job(key)


def save_job(store: Store, item: PublishItem, target: str, job: Job) -> None:
    now = utcnow()
    with store.transaction() as conn:
        conn.execute(
            "INSERT INTO platform_jobs (idempotency_key, target, account, draft_id, revision, stage, data, created_at, updated_at)"
            " VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT(idempotency_key) DO UPDATE SET stage=excluded.stage,"
            " data=excluded.data, updated_at=excluded.updated_at",
            (job.key, target, item.account.id, item.draft_id, item.revision, job.stage,
             json.dumps(job.data, ensure_ascii=False, sort_keys=True), now, now),
        )


async def credentials(store: Store, account_id: str, platform: str, required: tuple[str, ...]) -> dict[str, Any]:
    creds = await store.call(load_credentials, store, account_id)
    if not creds or any(not creds.get(k) for k in required):
        raise NoCredentials(
            f"no {platform} credentials ({', '.join(required)}) are set for account {account_id!r}: "
            f"an admin sets them with PUT /v1/accounts/{account_id}/credentials"
        )
    return creds


def fingerprint(*parts: str) -> str:
    """Tells credentials apart in memory without keeping them as dictionary keys."""
    return hashlib.sha256("\x00".join(parts).encode("utf-8")).hexdigest()[:16]


Fetch = Callable[[], Awaitable[tuple[str, float]]]


class TokenCache:
    """Access tokens per account: memory first, then the sealed copy in the database, then the platform."""

    def __init__(self, store: Store, platform: str, margin: float) -> None:
        self.store = store
        self.platform = platform
        self.margin = margin
        self._mem: dict[str, tuple[str, float, str]] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        # Tokens the platform refused: never handed out again (a stale copy may linger elsewhere).
        self._refused: set[str] = set()

    def refused(self, token: str) -> bool:
        return token in self._refused

    def _fresh(self, entry: tuple[str, float, str] | None, fp: str) -> str | None:
        # A refused token (``get``'s ``bad`` included: it is added to ``_refused`` first) is never fresh.
        if entry and entry[2] == fp and entry[0] not in self._refused and entry[1] - self.margin > time.time():
            return entry[0]
        return None

    async def get(self, account_id: str, fp: str, fetch: Fetch, *, bad: str | None = None) -> str:
        """A usable token; ``bad`` is one the platform just refused (never handed out again)."""
        if bad:
            self._refused.add(bad)
        token = self._fresh(self._mem.get(account_id), fp)
        if token:
            return token
        lock = self._locks.setdefault(account_id, asyncio.Lock())
        async with lock:
            # Whoever held the lock before us may already have refreshed it.
            token = self._fresh(self._mem.get(account_id), fp)
            if token:
                return token
            stored = await self.store.call(load_token, self.store, account_id, self.platform)
            if stored:
                value, expires_at = stored
                entry = (str(value.get("token", "")), expires_at, str(value.get("fp", "")))
                token = self._fresh(entry, fp)
                if token:
                    self._mem[account_id] = entry
                    return token
            token, expires_at = await fetch()
            self._mem[account_id] = (token, expires_at, fp)
            await self.store.call(save_token, self.store, account_id, self.platform, {"token": token, "fp": fp}, expires_at)
            return token


class HttpSession:
    """One lazily created client session per target (``webhook`` uses it too), closed at shutdown."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._session: aiohttp.ClientSession | None = None

    def get(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout))
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


def image_ext(data: bytes) -> tuple[str, str]:
    """File extension and MIME type from the bytes (the operator's file name may say anything)."""
    if data.startswith(b"\x89PNG"):
        return "png", "image/png"
    if data.startswith(b"\xff\xd8"):
        return "jpg", "image/jpeg"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "gif", "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp", "image/webp"
    return "bin", "application/octet-stream"


_SECRET_IN_URL = re.compile(r"\b(access_token|secret|client_secret|refresh_token)=[^&\s'\"]+")


def scrub(text: str) -> str:
    """Masks credentials a URL in an error message may carry (the platforms put tokens in query strings)."""
    return _SECRET_IN_URL.sub(r"\1=***", text)


def transport_result(platform: str, stage: str, exc: BaseException) -> PublishResult:
    """A network-level failure: retried. The message is shown to API clients and logged: no tokens in it."""
    return PublishResult.retry(scrub(f"{platform} unreachable during {stage}: {type(exc).__name__}: {exc}"),
                               platform=platform, stage=stage)


Answer = dict[str, Any]


async def call_with_token(token: Callable[[str | None], Awaitable[str]],
                          call: Callable[[str], Awaitable[Answer]]) -> Answer:
    """``call`` with a token from ``token(None)``; if the platform refuses it, once more with ``token(refused)``.

    A second refusal is re-raised, retried in 30 s: a token fetched just now and refused at once is a
    problem on the platform's side, and asking again at once would only repeat it.
    """
    first = await token(None)
    try:
        return await call(first)
    except PlatformError as e:
        if not e.token_error:
            raise
    try:
        return await call(await token(first))
    except PlatformError as e:
        if e.token_error:
            e.retry_after = 30.0
        raise


# What a platform target's ``publish()`` turns into a result with ``error_result``; anything else propagates.
PUBLISH_ERRORS = (PlatformError, NoCredentials, UnknownOutcome, aiohttp.ClientError, asyncio.TimeoutError)


def error_result(platform: str, exc: BaseException, stage: str, *, lost_stage: str, **lost: Any) -> PublishResult:
    """The result for one of ``PUBLISH_ERRORS`` raised during ``stage``.

    A platform error fails or retries as the platform's code says; missing credentials wait for an admin;
    a lost answer to a step that must not be repeated (``lost_stage``, with ``lost`` added to the result)
    fails; a network failure is retried.
    """
    if isinstance(exc, PlatformError):
        return exc.result(stage)
    if isinstance(exc, NoCredentials):
        return PublishResult.retry(str(exc), 300.0, platform=platform, stage="credentials")
    if isinstance(exc, UnknownOutcome):
        return PublishResult.fail(str(exc), platform=platform, stage=lost_stage, **lost)
    return transport_result(platform, stage, exc)


def credential_key_problem(config: Mapping[str, Any], keys: tuple[str, ...]) -> str | None:
    """The ``validate_publish_config`` answer when a publish config carries credentials (they are sealed elsewhere)."""
    for key in keys:
        if key in config:
            return f"publish.{key}: platform credentials are set with PUT /v1/accounts/{{id}}/credentials, not here"
    return None
