"""The ``Gateway`` object handed to every hook: config, storage and shared services.

Plugins get what they need from here (the store, the executor for CPU work,
the blocklists, the image registry, the embargoes) instead of importing the
core's internals.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import TYPE_CHECKING, Any, Callable, TypeVar

import pluggy

from gateway.config import Config
from gateway.store import Store

if TYPE_CHECKING:
    from gateway.hookspecs import Checker, PublishTarget
    from gateway.metrics import Metrics

T = TypeVar("T")


class Gateway:
    """Shared state of one running gateway (one per app; tests build many)."""

    def __init__(self, config: Config, store: Store, pm: pluggy.PluginManager, metrics: "Metrics") -> None:
        self.config = config
        self.store = store
        self.pm = pm
        self.metrics = metrics
        self.executor = ThreadPoolExecutor(max_workers=config.executor_workers, thread_name_prefix="draftgate-cpu")
        self.checkers: dict[str, Checker] = {}
        self.publish_targets: dict[str, PublishTarget] = {}
        # Feature services register themselves here by name (e.g. "blocklists").
        self.services: dict[str, Any] = {}
        self.publish_wakeup: asyncio.Event | None = None

    def plugin_settings(self, plugin: str) -> dict[str, Any]:
        return dict(self.config.plugin_settings.get(plugin, {}))

    async def run_cpu(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run CPU-heavy ``fn`` in the app's executor, off the event loop."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, partial(fn, *args, **kwargs))

    def close(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)
