"""Publish target ``outbox``: keeps published posts in the local database.

The default target, so the embedded set-up publishes without any platform.
The outbox row's primary key is the idempotency key: a retried delivery of the
same revision is a no-op, never a second post.
"""

from __future__ import annotations

from gateway.hookspecs import hookimpl
from gateway.model import PublishItem, PublishResult
from gateway.services import Gateway
from gateway.store import Store, dumps, utcnow


class OutboxTarget:
    name = "outbox"

    def __init__(self, store: Store) -> None:
        self.store = store

    def _write(self, item: PublishItem) -> dict[str, object]:
        payload = item.payload()
        with self.store.transaction() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO outbox (idempotency_key, draft_id, revision, account, payload, published_at)"
                " VALUES (?,?,?,?,?,?)",
                (item.idempotency_key, item.draft_id, item.revision, item.account.id, dumps(payload), utcnow()),
            )
        return {"outbox_key": item.idempotency_key}

    async def publish(self, item: PublishItem) -> PublishResult:
        remote = await self.store.call(self._write, item)
        return PublishResult.ok(remote, "kept in the local outbox")


@hookimpl
def publish_targets(gateway: Gateway) -> list[OutboxTarget]:
    return [OutboxTarget(gateway.store)]
