"""The plugin manager: entry points, plugin directories, disabling by name, every hook called."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from aiohttp import web
from conftest import World, build_world

from gateway.hookspecs import hookimpl
from gateway.plugins import await_me_maybe, loaded_plugin_names, make_plugin_manager


async def test_await_me_maybe_takes_values_and_awaitables() -> None:
    async def later() -> int:
        return 2

    assert await await_me_maybe(1) == 1
    assert await await_me_maybe(later()) == 2
    assert await await_me_maybe(asyncio.sleep(0, result=3)) == 3


def test_built_in_plugins_come_through_entry_points() -> None:
    pm = make_plugin_manager()
    names = set(loaded_plugin_names(pm))
    assert {"outbox", "webhook"} <= names


def test_plugins_can_be_disabled_by_name(tmp_path: Path) -> None:
    (tmp_path / "mine.py").write_text("from gateway.hookspecs import hookimpl\n\n@hookimpl\ndef startup(gateway):\n    pass\n")
    pm = make_plugin_manager(plugins_dirs=[tmp_path], disabled=["webhook", "mine"])
    names = set(loaded_plugin_names(pm))
    assert "webhook" not in names and "mine" not in names and "outbox" in names


def test_plugins_dir_modules_are_loaded(tmp_path: Path) -> None:
    (tmp_path / "mine.py").write_text("from gateway.hookspecs import hookimpl\n\n@hookimpl\ndef startup(gateway):\n    pass\n")
    (tmp_path / "_private.py").write_text("raise RuntimeError('never imported')\n")
    pm = make_plugin_manager(plugins_dirs=[tmp_path], load_entry_points=False)
    assert loaded_plugin_names(pm) == ["mine"]


class Recorder:
    """A plugin implementing the life-cycle, notification and route hooks, recording calls."""

    name = "recorder"

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    @hookimpl
    async def startup(self, gateway: Any) -> None:
        self.calls.append(("startup", sorted(gateway.publish_targets)))

    @hookimpl
    def shutdown(self, gateway: Any) -> None:
        self.calls.append(("shutdown", None))

    @hookimpl
    async def draft_screened(self, gateway: Any, draft: Any, verdict: Any, status: str) -> None:
        self.calls.append(("draft_screened", (draft.id, status, len(verdict.findings))))

    @hookimpl
    def register_routes(self, gateway: Any, app: web.Application) -> None:
        async def hello(request: web.Request) -> web.Response:
            return web.json_response({"hello": "from a plugin"})

        app.router.add_get("/plugins/recorder/hello", hello)

    @hookimpl
    def validate_publish_config(self, target: str, config: dict[str, Any]) -> str | None:
        if target == "outbox" and config.get("forbid"):
            return "publish.forbid: the recorder forbids this"
        return None


async def test_every_life_cycle_hook_is_called(aiohttp_client: Any, tmp_path: Path) -> None:
    recorder = Recorder()
    world = await build_world(aiohttp_client, tmp_path, extra_plugins=(recorder,))
    assert recorder.calls[0][0] == "startup"
    _, body = await world.submit(body="REVIEWME")
    assert ("draft_screened", (body["draft"]["id"], "flagged", 1)) in recorder.calls
    resp = await world.client.get("/plugins/recorder/hello")
    assert (await resp.json()) == {"hello": "from a plugin"}
    status, err = await world.call("PATCH", "/v1/accounts/acc", "admin", json={"publish": {"target": "outbox", "forbid": True}})
    assert status == 422 and err["error"]["field"] == "publish.forbid"
    await world.client.close()
    assert recorder.calls[-1] == ("shutdown", None)


async def test_register_checkers_and_publish_targets_feed_the_gateway(world: World) -> None:
    assert "terms" in world.gateway.checkers
    assert {"flaky", "outbox", "webhook"} <= set(world.gateway.publish_targets)
    _, listing = await world.call("GET", "/v1/checkers", "admin")
    terms = next(c for c in listing["checkers"] if c["name"] == "terms")
    assert terms == {"name": "terms", "version": "1.0", "description": "test checker keyed on marker words",
                     "enabled": True, "timeout": 1.0}
