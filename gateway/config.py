"""Gateway configuration: defaults, an optional TOML file, environment, CLI flags."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

DEFAULT_DB = "./var/draftgate.db"


@dataclass(frozen=True)
class Config:
    db_path: str = DEFAULT_DB
    host: str = "127.0.0.1"
    port: int = 8080
    plugins_dirs: tuple[str, ...] = ()
    disabled_plugins: tuple[str, ...] = ()
    load_entry_points: bool = True
    # Screening
    checker_timeout: float = 5.0
    max_body_bytes: int = 32 * 1024 * 1024
    max_string_chars: int = 200_000
    max_images: int = 50
    executor_workers: int = 4
    # Publishing: first retry within retry_base seconds, doubling up to retry_cap
    publish_retry_base: float = 1.0
    publish_retry_cap: float = 300.0
    publish_poll_interval: float = 1.0
    publish_timeout: float = 30.0
    publish_enabled: bool = True
    # Free-form settings for plugins, keyed by plugin name
    plugin_settings: dict[str, dict[str, Any]] = field(default_factory=dict)

    def with_overrides(self, **overrides: Any) -> "Config":
        known = {f.name for f in fields(self)}
        clean = {k: v for k, v in overrides.items() if v is not None and k in known}
        return replace(self, **clean)


def db_path_from_env(cli_value: str | None) -> str:
    """``--db`` wins, then ``DRAFTGATE_DB``, then ``./var/draftgate.db``."""
    return cli_value or os.environ.get("DRAFTGATE_DB") or DEFAULT_DB


def load_config(path: str | Path | None = None, **overrides: Any) -> Config:
    """Read a TOML config file (optional) and apply overrides on top."""
    cfg = Config()
    if path:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        plugin_settings = data.pop("plugins", {})
        for key in ("plugins_dirs", "disabled_plugins"):
            if key in data:
                data[key] = tuple(data[key])
        cfg = cfg.with_overrides(**data)
        if plugin_settings:
            cfg = replace(cfg, plugin_settings=plugin_settings)
    return cfg.with_overrides(**overrides)
