"""Publish target ``webhook``: POSTs the approved post to the account's URL, signed.

Body: ``{draft_id, revision, account, title, body, body_format, images:
[{name, data}], approved_by}``; headers ``Idempotency-Key`` (stable per
revision) and ``X-Draftgate-Signature: sha256=<hex HMAC of the body>`` with
the account's secret. Any 2xx is success; anything else is retried.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from draftgate_plugins._platform import HttpSession
from gateway.hookspecs import hookimpl
from gateway.model import PublishItem, PublishResult
from gateway.services import Gateway


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def payload_bytes(item: PublishItem) -> bytes:
    return json.dumps(item.payload(), ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class WebhookTarget:
    name = "webhook"

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        # The config is frozen, so reading publish_timeout now is what reading it at first use did.
        self.http = HttpSession(gateway.config.publish_timeout)

    async def close(self) -> None:
        await self.http.close()

    async def publish(self, item: PublishItem) -> PublishResult:
        url = item.target_config.get("url")
        if not url:
            return PublishResult.fail("the account's webhook has no url")
        body = payload_bytes(item)
        headers = {"Content-Type": "application/json; charset=utf-8", "Idempotency-Key": item.idempotency_key}
        secret = item.target_config.get("secret")
        if secret:
            headers["X-Draftgate-Signature"] = sign(secret, body)
        try:
            async with self.http.get().post(url, data=body, headers=headers) as resp:
                text = (await resp.text(errors="replace"))[:500]
                if 200 <= resp.status < 300:
                    return PublishResult.ok({"status": resp.status}, "delivered")
                retry_after = _retry_after(resp.headers.get("Retry-After"))
                return PublishResult.retry(f"webhook answered {resp.status}: {text}", retry_after, status=resp.status)
        except aiohttp.ClientError as exc:
            return PublishResult.retry(f"webhook unreachable: {type(exc).__name__}: {exc}")


def _retry_after(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None


@hookimpl
def publish_targets(gateway: Gateway) -> list[WebhookTarget]:
    target = WebhookTarget(gateway)
    gateway.services["webhook_target"] = target
    return [target]


@hookimpl
async def shutdown(gateway: Gateway) -> None:
    target = gateway.services.pop("webhook_target", None)
    if target is not None:
        await target.close()


@hookimpl
def validate_publish_config(target: str, config: dict[str, Any]) -> str | None:
    if target != "webhook":
        return None
    url = config.get("url")
    if not isinstance(url, str) or urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc:
        return "publish.url: a webhook needs an http(s) url"
    return None
