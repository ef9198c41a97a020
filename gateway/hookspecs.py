"""Every extension point of draftgate, in one module.

Each hook may return a plain value or an awaitable; the core awaits either
(see ``gateway.plugins.await_me_maybe``). Full documentation with examples is
in ``docs/plugins.md``; ``tests/test_hookspecs.py`` checks that every hook here
is documented there and exercised by a test.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Awaitable, Iterable, Protocol, runtime_checkable

import pluggy

if TYPE_CHECKING:
    from aiohttp import web

    from gateway.model import Draft, Finding, PublishItem, PublishResult, Verdict
    from gateway.services import Gateway

hookspec = pluggy.HookspecMarker("draftgate")
hookimpl = pluggy.HookimplMarker("draftgate")


@runtime_checkable
class Checker(Protocol):
    """A screening checker. ``check`` may be sync (run in the app's executor) or async.

    A synchronous ``check`` runs in a worker thread, so CPU-heavy work there
    never blocks the event loop; an ``async def check`` runs on the loop and
    must offload its own CPU work (``Gateway.run_cpu``).
    """

    name: str
    version: str
    description: str

    def check(self, draft: Draft) -> Iterable[Finding] | Awaitable[Iterable[Finding]]: ...


@runtime_checkable
class PublishTarget(Protocol):
    """Delivers one approved revision somewhere; must honour ``item.idempotency_key``."""

    name: str

    def publish(self, item: PublishItem) -> PublishResult | Awaitable[PublishResult]: ...


# ---------------------------------------------------------------------------
# Life cycle
# ---------------------------------------------------------------------------


@hookspec
def startup(gateway: Gateway) -> None | Awaitable[None]:
    """Called once when the gateway starts, after storage is open; returns nothing."""


@hookspec
def shutdown(gateway: Gateway) -> None | Awaitable[None]:
    """Called once when the gateway stops, before storage closes; returns nothing."""


# ---------------------------------------------------------------------------
# Screening
# ---------------------------------------------------------------------------


@hookspec
def register_checkers(gateway: Gateway) -> Iterable[Checker] | Awaitable[Iterable[Checker]]:
    """Called at startup; returns the checkers this plugin contributes."""


@hookspec
def draft_screened(gateway: Gateway, draft: Draft, verdict: Verdict, status: str) -> None | Awaitable[None]:
    """Called after a revision is screened and stored; returns nothing (notification only)."""


# ---------------------------------------------------------------------------
# Publishing
# ---------------------------------------------------------------------------


@hookspec
def publish_targets(gateway: Gateway) -> Iterable[PublishTarget] | Awaitable[Iterable[PublishTarget]]:
    """Called at startup; returns publish targets, each under its own ``name``."""


@hookspec
def validate_publish_config(target: str, config: dict[str, Any]) -> str | None:
    """Called when an account's ``publish`` is set; returns an error message, or None if fine."""


# ---------------------------------------------------------------------------
# HTTP
# ---------------------------------------------------------------------------


@hookspec
def register_routes(gateway: Gateway, app: web.Application) -> None:
    """Called while the app is built; adds routes to ``app``; returns nothing."""
