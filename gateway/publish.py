"""The durable publish queue: hand queued revisions to their targets until they land.

Rows in ``publications`` are the queue, so a restart loses nothing. Each
attempt sends exactly the approved content (its hash is checked before
sending) with an idempotency key stable for that revision; a target that
fails is retried with exponential backoff (first retry within
``publish_retry_base`` seconds, doubling, capped at ``publish_retry_cap``).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from typing import Any

from gateway import audit
from gateway.accounts import get_account, publish_config
from gateway.drafts import load_content
from gateway.model import PublishItem, PublishResult
from gateway.plugins import await_me_maybe
from gateway.services import Gateway
from gateway.store import Store, dumps, utcnow

log = logging.getLogger("draftgate.publish")


def backoff_delay(attempts: int, base: float, cap: float) -> float:
    """Delay before the next try after ``attempts`` failures (jittered down, never up)."""
    delay = min(cap, base * (2 ** max(0, attempts - 1)))
    return delay * random.uniform(0.8, 1.0)


def due_items(store: Store, now: float, limit: int) -> list[dict[str, Any]]:
    # A suspended or closed account's publications stay queued, untouched, until it is active again.
    return store.query(
        "SELECT p.* FROM publications p JOIN accounts a ON a.id = p.account"
        " WHERE p.state = 'queued' AND p.next_attempt_at <= ? AND a.status = 'active'"
        " ORDER BY p.next_attempt_at LIMIT ?",
        (now, limit),
    )


def queue_depth(store: Store) -> dict[tuple[str, ...], float]:
    rows = store.query("SELECT state, count(*) AS n FROM publications GROUP BY state")
    depth = {(s,): 0.0 for s in ("queued", "published", "failed")}
    depth.update({(r["state"],): float(r["n"]) for r in rows})
    return depth


def build_item(store: Store, pub: dict[str, Any]) -> PublishItem:
    content = load_content(store, pub["draft_id"], pub["revision"])
    account = get_account(store, pub["account"])
    assert account is not None
    return PublishItem(
        draft_id=pub["draft_id"],
        revision=pub["revision"],
        account=account,
        content=content,
        content_hash=pub["content_hash"],
        approved_by=pub["approved_by"],
        idempotency_key=pub["idempotency_key"],
        attempt=pub["attempts"] + 1,
        target_config=publish_config(store, pub["account"]),
    )


def record_result(store: Store, pub: dict[str, Any], result: PublishResult, base: float, cap: float) -> str:
    attempts = pub["attempts"] + 1
    now = utcnow()
    with store.transaction() as conn:
        current = store.query_one("SELECT state FROM publications WHERE id = ?", (pub["id"],))
        if current is None or current["state"] != "queued":
            return current["state"] if current else "missing"
        if result.state == "published":
            conn.execute(
                "UPDATE publications SET state='published', attempts=?, remote=?, last_error=NULL, updated_at=?, published_at=? WHERE id=?",
                (attempts, dumps(dict(result.remote)), now, now, pub["id"]),
            )
            state = "published"
        elif result.state == "failed":
            conn.execute(
                "UPDATE publications SET state='failed', attempts=?, remote=?, last_error=?, updated_at=? WHERE id=?",
                (attempts, dumps(dict(result.remote)), result.message, now, pub["id"]),
            )
            state = "failed"
        else:
            delay = backoff_delay(attempts, base, cap)
            if result.retry_after:
                delay = min(cap, max(delay, result.retry_after))
            conn.execute(
                "UPDATE publications SET attempts=?, last_error=?, remote=?, next_attempt_at=?, updated_at=? WHERE id=?",
                (attempts, result.message, dumps(dict(result.remote)), time.time() + delay, now, pub["id"]),
            )
            state = "retry"
        audit.append(
            store, "gateway", f"publication.{'attempt_failed' if state == 'retry' else state}", pub["draft_id"],
            {"revision": pub["revision"], "target": pub["target"], "attempt": attempts, "message": result.message,
             "remote": dict(result.remote)},
        )
    return state


class Publisher:
    """One background task per gateway that drains the queue."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self.wakeup = asyncio.Event()
        gateway.publish_wakeup = self.wakeup
        self._task: asyncio.Task[None] | None = None
        self._inflight: set[int] = set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="draftgate-publisher")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass

    async def _run(self) -> None:
        cfg = self.gateway.config
        while True:
            try:
                await self.drain()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 — the loop must survive a bad item or a busy database
                log.exception("publisher pass failed")
            try:
                await asyncio.wait_for(self.wakeup.wait(), cfg.publish_poll_interval)
            except asyncio.TimeoutError:
                pass
            self.wakeup.clear()

    async def drain(self) -> int:
        """Deliver every due item once; returns how many were attempted."""
        store = self.gateway.store
        items = [p for p in await store.call(due_items, store, time.time(), 20) if p["id"] not in self._inflight]
        await asyncio.gather(*(self.deliver(p) for p in items))
        return len(items)

    async def deliver(self, pub: dict[str, Any]) -> str:
        gw, store, cfg = self.gateway, self.gateway.store, self.gateway.config
        self._inflight.add(pub["id"])
        try:
            item = await store.call(build_item, store, pub)
            target = gw.publish_targets.get(pub["target"])
            if target is None:
                result = PublishResult.fail(f"no publish target named {pub['target']!r} is loaded")
            elif item.content.content_hash() != item.content_hash:
                # Never publish anything but the exact content that was screened and approved.
                result = PublishResult.fail("stored content no longer matches the approved content hash")
            else:
                try:
                    result = await asyncio.wait_for(await_me_maybe(target.publish(item)), cfg.publish_timeout)
                except asyncio.TimeoutError:
                    result = PublishResult.retry(f"target {pub['target']!r} did not answer within {cfg.publish_timeout:g} s")
                except Exception as exc:  # noqa: BLE001 — a crashing target is retried, not fatal
                    log.exception("publish target raised", extra={"draft_id": pub["draft_id"]})
                    result = PublishResult.retry(f"{type(exc).__name__}: {exc}")
            gw.metrics.publish_attempts.labels(pub["target"], result.state).inc()
            state = await store.call(record_result, store, pub, result, cfg.publish_retry_base, cfg.publish_retry_cap)
            log.info(
                "publish attempt",
                extra={"draft_id": pub["draft_id"], "revision": pub["revision"], "target": pub["target"],
                       "attempt": pub["attempts"] + 1, "state": state, "detail": result.message},
            )
            return state
        finally:
            self._inflight.discard(pub["id"])

