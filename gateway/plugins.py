"""The plugin manager factory: built-ins, entry points, plugin directories.

Built-in plugins are registered through the ``draftgate`` entry-point group,
exactly as a third-party package's would be; modules in ``--plugins-dir``
folders are loaded by file. Any plugin can be disabled by name in the config.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import inspect
import logging
import sys
from pathlib import Path
from typing import Any, Awaitable, Iterable, TypeVar

import pluggy

from gateway import hookspecs

log = logging.getLogger("draftgate.plugins")

T = TypeVar("T")

ENTRY_POINT_GROUP = "draftgate"


async def await_me_maybe(value: T | Awaitable[T]) -> T:
    """Return ``value``, awaiting it first if it is awaitable (datasette's idiom)."""
    if inspect.isawaitable(value):
        return await value
    return value


async def call_hook_collect(hook: Any, **kwargs: Any) -> list[Any]:
    """Call a hook, await every result that needs it, drop ``None`` results."""
    results = []
    for value in hook(**kwargs):
        value = await await_me_maybe(value)
        if value is not None:
            results.append(value)
    return results


def flatten(results: Iterable[Iterable[T] | None]) -> list[T]:
    return [item for group in results if group for item in group]


def _load_dir_module(path: Path) -> Any:
    name = f"draftgate_dirplugin_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load plugin file {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def make_plugin_manager(
    *,
    plugins_dirs: Iterable[str | Path] = (),
    disabled: Iterable[str] = (),
    extra_plugins: Iterable[Any] = (),
    load_entry_points: bool = True,
) -> pluggy.PluginManager:
    """Build a fresh plugin manager (never a module global: tests build many).

    Plugins are named: entry points by their entry-point name, directory
    modules by their file stem, ``extra_plugins`` by their ``__name__`` or
    ``name`` attribute. A name in ``disabled`` is blocked before loading.
    """
    pm = pluggy.PluginManager("draftgate")
    pm.add_hookspecs(hookspecs)
    for name in disabled:
        pm.set_blocked(name)

    if load_entry_points:
        for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
            if pm.is_blocked(ep.name) or pm.has_plugin(ep.name):
                continue
            pm.register(ep.load(), name=ep.name)

    for folder in plugins_dirs:
        folder = Path(folder)
        if not folder.is_dir():
            raise FileNotFoundError(f"plugins directory {folder} does not exist")
        for path in sorted(folder.glob("*.py")):
            if path.name.startswith("_") or pm.is_blocked(path.stem):
                continue
            pm.register(_load_dir_module(path), name=path.stem)

    for plugin in extra_plugins:
        name = getattr(plugin, "name", None) or getattr(plugin, "__name__", None) or repr(plugin)
        if not pm.is_blocked(name):
            pm.register(plugin, name=name)

    log.info("plugins loaded", extra={"plugins": loaded_plugin_names(pm)})
    return pm


def loaded_plugin_names(pm: pluggy.PluginManager) -> list[str]:
    """Names of registered plugins (blocked names are listed by pluggy with ``None``)."""
    return sorted(name for name, plugin in pm.list_name_plugin() if plugin is not None)
