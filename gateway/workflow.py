"""The draft state machine: submit, revise, decide; who may do what, and when.

States: ``passed`` and ``approved`` go on to the publish queue; ``flagged``
waits for the account's responsible person; ``blocked`` and ``rejected`` wait
for a new revision, which is screened afresh (earlier approvals do not carry
over: a decision approves one revision's content hash, nothing else).
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import sqlite3
import time
from typing import Any

from gateway import audit
from gateway.accounts import get_account
from gateway.auth import User, is_operator
from gateway.drafts import draft_json, get_draft_row, load_content
from gateway.errors import conflict, forbidden, invalid, not_found, unknown_account
from gateway.images import DEFAULT_MAX_BYTES, DEFAULT_MAX_PIXELS, ImageError, inspect_image
from gateway.model import Account, Content, Draft, DraftStatus, ImageInput, Verdict
from gateway.plugins import call_hook_collect
from gateway.schemas import ContentIn, DecisionIn, DraftIn
from gateway.screening import screen
from gateway.services import Gateway
from gateway.store import Store, dumps, utcnow

log = logging.getLogger("draftgate.workflow")

OPEN_FOR_REVISION = {DraftStatus.BLOCKED.value, DraftStatus.REJECTED.value, DraftStatus.FLAGGED.value}


def new_draft_id() -> str:
    # Time-ordered prefix keeps ids roughly sortable; the random part makes them unguessable.
    return f"d{int(time.time() * 1000):x}{secrets.token_hex(5)}"


def request_hash(account_id: str, content: Content) -> str:
    """What an idempotent retry must repeat exactly: the account and the content."""
    return hashlib.sha256(f"{account_id}\n{content.content_hash()}".encode("utf-8")).hexdigest()


def content_of(payload: ContentIn) -> Content:
    return Content(
        title=payload.title,
        body=payload.body,
        body_format=payload.body_format,
        images=tuple(ImageInput(i, img.name, img.data) for i, img in enumerate(payload.images)),
    )


async def validate_images(gateway: Gateway, content: Content) -> None:
    """Every image must decode safely before any checker sees it: 422 naming the image otherwise."""
    if not content.images:
        return
    settings = gateway.plugin_settings("images")
    max_bytes = int(settings.get("max_bytes", DEFAULT_MAX_BYTES))
    max_pixels = int(settings.get("max_pixels", DEFAULT_MAX_PIXELS))
    for image in content.images:
        try:
            # The digest travels with the image so the hashes cached here serve the checker too.
            await gateway.run_cpu(lambda i=image: inspect_image(i.data, max_bytes=max_bytes, max_pixels=max_pixels, sha256=i.sha256))
        except ImageError as e:
            raise invalid(f"images[{image.index}]", f"{image.name!r}: {e}", code="invalid_image") from None


def _check_submitter(user: User, account: Account) -> None:
    if not is_operator(user, account):
        raise forbidden(f"{user.id!r} is not an operator of account {account.id!r}")
    if account.status != "active":
        raise conflict("account_inactive", f"account {account.id!r} is {account.status}: it accepts no drafts")


def _account_for_submission(store: Store, account_id: str, user: User, *, field: str = "account") -> Account:
    account = get_account(store, account_id)
    if account is None:
        raise unknown_account(field, account_id)
    _check_submitter(user, account)
    return account


def _existing_for_key(store: Store, user: User, key: str, req_hash: str) -> dict[str, Any] | None:
    row = store.query_one(
        "SELECT id, request_hash FROM drafts WHERE created_by = ? AND idempotency_key = ?", (user.id, key)
    )
    if row is None:
        return None
    if row["request_hash"] != req_hash:
        raise conflict("idempotency_key_reused", "Idempotency-Key was already used for a different draft")
    return draft_json(store, row["id"])


# -- persistence (runs on the database thread, one transaction each) --------


def _insert_revision(store: Store, draft: Draft, verdict: Verdict, status: DraftStatus, screened_ms: float) -> None:
    conn = store._conn
    c = draft.content
    content_hash = c.content_hash()
    conn.execute(
        "INSERT INTO revisions (draft_id, revision, title, body, body_format, content_hash, submitted_by, submitted_at, status, screened_ms)"
        " VALUES (?,?,?,?,?,?,?,?,?,?)",
        (draft.id, draft.revision, c.title, c.body, c.body_format, content_hash, draft.submitted_by,
         draft.submitted_at, status.value, screened_ms),
    )
    conn.executemany(
        "INSERT INTO revision_images (draft_id, revision, idx, name, sha256, data) VALUES (?,?,?,?,?,?)",
        [(draft.id, draft.revision, i.index, i.name, i.sha256, i.data) for i in c.images],
    )
    conn.executemany(
        "INSERT INTO findings (draft_id, revision, checker, rule, severity, message, evidence) VALUES (?,?,?,?,?,?,?)",
        [(draft.id, draft.revision, f.checker, f.rule, f.severity.value, f.message, dumps(dict(f.evidence)))
         for f in verdict.findings],
    )
    audit.append(
        store, draft.submitted_by, "draft.submitted" if draft.revision == 1 else "draft.revised", draft.id,
        {"revision": draft.revision, "account": draft.account.id, "content_hash": content_hash, "title": c.title},
    )
    audit.append(
        store, "gateway", "draft.screened", draft.id,
        {"revision": draft.revision, "status": status.value,
         "findings": [{"checker": f.checker, "rule": f.rule, "severity": f.severity.value} for f in verdict.findings]},
    )
    if status is DraftStatus.PASSED:
        enqueue(store, draft.id, draft.revision, draft.account.id, content_hash, None)


def enqueue(store: Store, draft_id: str, revision: int, account_id: str, content_hash: str, approved_by: str | None) -> None:
    """Queue one revision (its stored ``content_hash``) for publishing; the idempotency key is stable for that revision."""
    acc = store.query_one("SELECT publish FROM accounts WHERE id = ?", (account_id,))
    target = json.loads(acc["publish"]).get("target", "outbox") if acc else "outbox"
    key = f"draftgate-{draft_id}-r{revision}"
    now = utcnow()
    store._conn.execute(
        "INSERT OR IGNORE INTO publications (draft_id, revision, account, target, state, attempts, next_attempt_at,"
        " idempotency_key, content_hash, approved_by, created_at, updated_at) VALUES (?,?,?,?,?,0,?,?,?,?,?,?)",
        (draft_id, revision, account_id, target, "queued", time.time(), key, content_hash, approved_by, now, now),
    )
    audit.append(store, "gateway", "publication.queued", draft_id, {"revision": revision, "target": target, "idempotency_key": key})


def _persist_new(store: Store, draft: Draft, verdict: Verdict, status: DraftStatus, key: str | None, req_hash: str, ms: float) -> None:
    with store.transaction() as conn:
        conn.execute(
            "INSERT INTO drafts (id, account, status, revision, created_by, created_at, updated_at, idempotency_key, request_hash)"
            " VALUES (?,?,?,?,?,?,?,?,?)",
            (draft.id, draft.account.id, status.value, 1, draft.submitted_by, draft.submitted_at, draft.submitted_at, key, req_hash),
        )
        _insert_revision(store, draft, verdict, status, ms)


def _persist_revision(store: Store, draft: Draft, verdict: Verdict, status: DraftStatus, ms: float) -> None:
    with store.transaction() as conn:
        row = get_draft_row(store, draft.id)
        if row is None or row["revision"] != draft.revision - 1 or row["status"] not in OPEN_FOR_REVISION:
            raise conflict("draft_changed", "the draft changed while this revision was screened; fetch it and try again")
        conn.execute(
            "UPDATE drafts SET revision = ?, status = ?, updated_at = ? WHERE id = ?",
            (draft.revision, status.value, draft.submitted_at, draft.id),
        )
        _insert_revision(store, draft, verdict, status, ms)


# -- the actions -----------------------------------------------------------


async def _screen_and_time(gateway: Gateway, draft: Draft) -> tuple[Verdict, DraftStatus, float]:
    started = time.perf_counter()
    verdict = await screen(gateway, draft)
    ms = (time.perf_counter() - started) * 1000
    status = verdict.status_for(draft.account.review_policy)
    gateway.metrics.drafts.labels(status.value).inc()
    log.info(
        "draft screened",
        extra={"draft_id": draft.id, "revision": draft.revision, "account": draft.account.id, "status": status.value,
               "findings": len(verdict.findings), "screen_ms": round(ms, 2)},
    )
    return verdict, status, ms


async def _after_screening(gateway: Gateway, draft: Draft, verdict: Verdict, status: DraftStatus) -> None:
    if status is DraftStatus.PASSED and gateway.publish_wakeup is not None:
        gateway.publish_wakeup.set()
    try:
        await call_hook_collect(gateway.pm.hook.draft_screened, gateway=gateway, draft=draft, verdict=verdict, status=status.value)
    except Exception:  # noqa: BLE001 — a notification plugin must not undo a committed draft
        log.exception("draft_screened hook failed", extra={"draft_id": draft.id})


async def submit(gateway: Gateway, user: User, payload: DraftIn, idempotency_key: str | None) -> tuple[dict[str, Any], bool]:
    """Screen and store a new draft. Returns (draft JSON, created?)."""
    store = gateway.store
    if idempotency_key is not None and not (1 <= len(idempotency_key) <= 200):
        raise invalid("Idempotency-Key", "must be 1 to 200 characters")
    account = await store.call(_account_for_submission, store, payload.account, user)
    content = content_of(payload)
    # Off the event loop: hashing images (up to 20 MB each) is CPU work; the
    # digests are cached on the images for everything after.
    req_hash = await gateway.run_cpu(request_hash, payload.account, content)
    if idempotency_key:
        existing = await store.call(_existing_for_key, store, user, idempotency_key, req_hash)
        if existing:
            return existing, False
    await validate_images(gateway, content)
    draft = Draft(new_draft_id(), 1, account, content, user.id, utcnow())
    verdict, status, ms = await _screen_and_time(gateway, draft)
    try:
        await store.call(_persist_new, store, draft, verdict, status, idempotency_key, req_hash, ms)
    except sqlite3.IntegrityError:
        # A concurrent retry with the same key won the race: answer with its draft.
        existing = await store.call(_existing_for_key, store, user, idempotency_key or "", req_hash) if idempotency_key else None
        if existing:
            return existing, False
        raise
    await _after_screening(gateway, draft, verdict, status)
    result = await store.call(draft_json, store, draft.id)
    assert result is not None
    return result, True


async def revise(gateway: Gateway, user: User, draft_id: str, payload: ContentIn) -> dict[str, Any]:
    store = gateway.store
    row = await store.call(get_draft_row, store, draft_id)
    if row is None:
        raise not_found("draft", draft_id)
    account = await store.call(get_account, store, row["account"])
    assert account is not None
    _check_submitter(user, account)
    if row["status"] not in OPEN_FOR_REVISION:
        raise conflict("not_revisable", f"draft {draft_id!r} is {row['status']}; only blocked, flagged or rejected drafts take a revision")
    content = content_of(payload)
    await validate_images(gateway, content)
    draft = Draft(draft_id, row["revision"] + 1, account, content, user.id, utcnow())
    verdict, status, ms = await _screen_and_time(gateway, draft)
    await store.call(_persist_revision, store, draft, verdict, status, ms)
    await _after_screening(gateway, draft, verdict, status)
    result = await store.call(draft_json, store, draft_id)
    assert result is not None
    return result


def _decide(store: Store, user: User, draft_id: str, payload: DecisionIn) -> dict[str, Any]:
    with store.transaction() as conn:
        row = get_draft_row(store, draft_id)
        if row is None:
            raise not_found("draft", draft_id)
        account = get_account(store, row["account"])
        assert account is not None
        if user.id != account.responsible:
            raise forbidden(f"only the responsible person of account {account.id!r} signs off its drafts")
        if account.status != "active":
            raise conflict("account_inactive", f"account {account.id!r} is {account.status}: its drafts are held")
        if not user.is_staff:
            raise forbidden("only staff may sign off drafts")
        rev = store.query_one("SELECT * FROM revisions WHERE draft_id = ? AND revision = ?", (draft_id, row["revision"]))
        assert rev is not None
        if rev["submitted_by"] == user.id:
            raise forbidden("you submitted this revision: someone else must sign it off")
        if row["status"] != DraftStatus.FLAGGED.value:
            raise conflict("not_flagged", f"draft {draft_id!r} is {row['status']}; only flagged drafts take a decision")
        if payload.revision is not None and payload.revision != row["revision"]:
            # Checked inside the transaction: nobody signs off a revision they never read.
            raise conflict("stale_revision", f"revision {payload.revision} was read, but the draft is now at revision {row['revision']}")
        # The hash approved is the hash of the stored content, recomputed, not trusted from the row.
        content_hash = load_content(store, draft_id, row["revision"]).content_hash()
        now = utcnow()
        new_status = DraftStatus.APPROVED if payload.decision == "approve" else DraftStatus.REJECTED
        conn.execute(
            "INSERT INTO decisions (draft_id, revision, decision, decided_by, comment, content_hash, decided_at) VALUES (?,?,?,?,?,?,?)",
            (draft_id, row["revision"], payload.decision, user.id, payload.comment, content_hash, now),
        )
        conn.execute("UPDATE drafts SET status = ?, updated_at = ? WHERE id = ?", (new_status.value, now, draft_id))
        conn.execute("UPDATE revisions SET status = ? WHERE draft_id = ? AND revision = ?", (new_status.value, draft_id, row["revision"]))
        audit.append(
            store, user.id, f"draft.{new_status.value}", draft_id,
            {"revision": row["revision"], "comment": payload.comment, "content_hash": content_hash},
        )
        if new_status is DraftStatus.APPROVED:
            enqueue(store, draft_id, row["revision"], row["account"], rev["content_hash"], user.id)
    result = draft_json(store, draft_id)
    assert result is not None
    return result


async def decide(gateway: Gateway, user: User, draft_id: str, payload: DecisionIn) -> dict[str, Any]:
    result = await gateway.store.call(_decide, gateway.store, user, draft_id, payload)
    log.info("decision", extra={"draft_id": draft_id, "decision": payload.decision, "by": user.id})
    if result["status"] == DraftStatus.APPROVED.value and gateway.publish_wakeup is not None:
        gateway.publish_wakeup.set()
    return result


