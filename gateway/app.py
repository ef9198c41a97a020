"""``create_app(config)``: the aiohttp application with storage, plugins and the queue.

Resources are owned by ``cleanup_ctx``: the store opens first and closes
last; plugins' ``startup`` runs once storage and the feature services exist;
the publisher starts after the checkers and targets are known.
"""

from __future__ import annotations

import logging
from typing import Any, AsyncIterator, Callable

from aiohttp import web

from gateway import api
from gateway import blocklists as text_blocklists, embargoes as text_embargoes
from gateway.api.middleware import auth_middleware, error_middleware, metrics_middleware
from gateway.appkeys import GATEWAY, OPENAPI_OPERATIONS
from gateway.config import Config
from gateway.metrics import Metrics
from gateway.plugins import await_me_maybe, call_hook_collect, flatten, make_plugin_manager
from gateway.publish import Publisher, queue_depth
from gateway.services import Gateway
from gateway.store import Store

log = logging.getLogger("draftgate.app")

# Feature services the core offers plugins (blocklists, image registry, …):
# each entry is ``fn(gateway)`` run at startup before the plugins' hooks.
FEATURES: list[Callable[[Gateway], Any]] = []
FEATURES += [text_blocklists.setup_service, text_embargoes.setup_service]


async def _load_plugins(gw: Gateway) -> None:
    checkers = flatten(await call_hook_collect(gw.pm.hook.register_checkers, gateway=gw))
    for checker in checkers:
        if checker.name in gw.config.disabled_plugins:
            continue
        if checker.name in gw.checkers:
            raise RuntimeError(f"two checkers are named {checker.name!r}")
        gw.checkers[checker.name] = checker
    targets = flatten(await call_hook_collect(gw.pm.hook.publish_targets, gateway=gw))
    for target in targets:
        gw.publish_targets[target.name] = target


async def create_app(config: Config, *, extra_plugins: list[Any] | None = None) -> web.Application:
    """Build the gateway's application; ``extra_plugins`` are plugin objects registered directly (tests)."""
    app = web.Application(
        client_max_size=config.max_body_bytes,
        middlewares=[metrics_middleware, error_middleware, auth_middleware],
    )
    pm = make_plugin_manager(
        plugins_dirs=config.plugins_dirs,
        disabled=config.disabled_plugins,
        extra_plugins=extra_plugins or (),
        load_entry_points=config.load_entry_points,
    )
    store = Store(config.db_path)
    metrics = Metrics()
    gw = Gateway(config, store, pm, metrics)
    metrics.add_queue_gauge(lambda: queue_depth(store))
    app[GATEWAY] = gw
    app[OPENAPI_OPERATIONS] = []
    api.setup_routes(app)
    pm.hook.register_routes(gateway=gw, app=app)

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        for feature in FEATURES:
            await await_me_maybe(feature(gw))
        await call_hook_collect(pm.hook.startup, gateway=gw)
        await _load_plugins(gw)
        publisher = Publisher(gw)
        if config.publish_enabled:
            publisher.start()
        log.info("gateway started", extra={"db": config.db_path, "checkers": sorted(gw.checkers),
                                           "targets": sorted(gw.publish_targets)})
        try:
            yield
        finally:
            await publisher.stop()
            await call_hook_collect(pm.hook.shutdown, gateway=gw)
            gw.close()
            store.close()

    app.cleanup_ctx.append(lifecycle)
    return app

