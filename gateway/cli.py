"""The ``draftgate`` command: bootstrap users, run the gateway, a demo, audit checks.

``draftgate [--db PATH] users add ID --name NAME --kind staff|student [--admin]``
prints the new token as the last line of stdout. ``--db`` defaults to
``$DRAFTGATE_DB`` or ``./var/draftgate.db``.
"""

from __future__ import annotations

import argparse
import json
import logging
import sqlite3
import sys
from pathlib import Path
from typing import Any, Callable

from aiohttp import web

from gateway import audit, auth
from gateway.accounts import insert_account
from gateway.config import db_path_from_env, load_config
from gateway.logs import setup_logging
from gateway.store import Store

# Subcommands add themselves here: name -> (configure parser, run). Feature
# modules (image import, reports) register through ``register_command``.
COMMANDS: dict[str, tuple[Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace], int]]] = {}


def register_command(name: str, configure: Callable[[argparse.ArgumentParser], None], run: Callable[[argparse.Namespace], int]) -> None:
    COMMANDS[name] = (configure, run)


def _open_store(args: argparse.Namespace) -> Store:
    return Store(db_path_from_env(args.db))


# -- users -------------------------------------------------------------------


def _users_configure(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="users_cmd", required=True)
    add = sub.add_parser("add", help="create a user and print its token (last line)")
    add.add_argument("id")
    add.add_argument("--name", required=True)
    add.add_argument("--kind", required=True, choices=["staff", "student"])
    add.add_argument("--admin", action="store_true")
    tok = sub.add_parser("token", help="issue another token for a user (printed once)")
    tok.add_argument("id")


def _users_run(args: argparse.Namespace) -> int:
    store = _open_store(args)
    try:
        if args.users_cmd == "add":
            try:
                user, token = auth.create_user(store, id=args.id, name=args.name, kind=args.kind, admin=args.admin, actor="cli")
            except sqlite3.IntegrityError:
                print(f"error: user {args.id!r} already exists", file=sys.stderr)
                return 1
            print(f"created user {user.id} ({user.kind}{', admin' if user.admin else ''}); token:")
            print(token)
            return 0
        if auth.get_user(store, args.id) is None:
            print(f"error: no user {args.id!r}", file=sys.stderr)
            return 1
        print(auth.issue_token(store, args.id, actor="cli"))
        return 0
    finally:
        store.close()


# -- serve / demo ------------------------------------------------------------


def _serve_configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default=None)
    p.add_argument("--port", type=int, default=None)
    p.add_argument("--config", help="TOML config file")
    p.add_argument("--plugins-dir", action="append", default=[], help="load every module in this folder as a plugin")
    p.add_argument("--disable", action="append", default=[], help="disable a plugin by name")


def _config_from(args: argparse.Namespace) -> Any:
    cfg = load_config(args.config, db_path=db_path_from_env(args.db), host=args.host, port=args.port)
    if args.plugins_dir:
        cfg = cfg.with_overrides(plugins_dirs=tuple(cfg.plugins_dirs) + tuple(args.plugins_dir))
    if args.disable:
        cfg = cfg.with_overrides(disabled_plugins=tuple(cfg.disabled_plugins) + tuple(args.disable))
    return cfg


def _run_server(cfg: Any) -> int:
    from gateway.app import create_app

    setup_logging()
    from gateway.frontdoor import RedactingAccessLogger

    # The WeChat front door takes tokens in the query string: the access log must never write them.
    web.run_app(create_app(cfg), host=cfg.host, port=cfg.port, print=lambda m: print(m, file=sys.stderr),
                access_log=logging.getLogger("draftgate.access"), access_log_class=RedactingAccessLogger)
    return 0


def _serve_run(args: argparse.Namespace) -> int:
    return _run_server(_config_from(args))


DEMO_PEOPLE = [
    ("admin", "宣传部管理员", "staff", True),
    ("zhang", "张老师 (responsible, staff)", "staff", False),
    ("li", "李同学 (operator, student)", "student", False),
]


def seed_demo(store: Store) -> dict[str, str]:
    """A fresh demo: an admin, a unit's WeChat account, its responsible person and operator."""
    tokens = {}
    for uid, name, kind, admin in DEMO_PEOPLE:
        _, tokens[uid] = auth.create_user(store, id=uid, name=name, kind=kind, admin=admin, actor="demo")
    admin = auth.get_user(store, "admin")
    assert admin is not None
    insert_account(
        store,
        {"id": "physics-wechat", "name": "物理学院学生会", "platform": "wechat", "unit": "物理学院",
         "responsible": "zhang", "operators": ["li"], "publish": {"target": "outbox"}},
        admin,
    )
    return tokens


def _demo_run(args: argparse.Namespace) -> int:
    cfg = _config_from(args)
    if args.db is None and not args.keep:
        cfg = cfg.with_overrides(db_path="./var/demo.db")
    path = Path(cfg.db_path)
    if not args.keep:
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
    store = Store(cfg.db_path)
    tokens = seed_demo(store) if not args.keep else {}
    store.close()
    base = f"http://{cfg.host}:{cfg.port}"
    print(f"draftgate demo: database {cfg.db_path}, listening on {base}")
    for uid, token in tokens.items():
        print(f"  {uid:6s} token: {token}")
    print(f"  review console: {base}/console/ (sign in with a token)")
    if tokens:
        print("\nTry (in another shell):")
        print(f"  export ADMIN={tokens['admin']} RESP={tokens['zhang']} OP={tokens['li']}")
        print(f"  curl -s -X POST {base}/v1/drafts -H \"Authorization: Bearer $OP\" \\")
        print("       -d '{\"account\":\"physics-wechat\",\"title\":\"迎新晚会\",\"body\":\"欢迎新同学！\"}'")
    sys.stdout.flush()
    return _run_server(cfg)


def _demo_configure(p: argparse.ArgumentParser) -> None:
    _serve_configure(p)
    p.add_argument("--keep", action="store_true", help="keep an existing demo database instead of starting fresh")


# -- audit -------------------------------------------------------------------


def _audit_configure(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="audit_cmd", required=True)
    sub.add_parser("verify", help="re-check the whole hash chain")


def _audit_run(args: argparse.Namespace) -> int:
    store = _open_store(args)
    try:
        result = audit.verify(store)
    finally:
        store.close()
    print(json.dumps(result, ensure_ascii=False))
    return 0 if result["ok"] else 1


register_command("users", _users_configure, _users_run)
register_command("serve", _serve_configure, _serve_run)
register_command("demo", _demo_configure, _demo_run)
register_command("audit", _audit_configure, _audit_run)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="draftgate", description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=None, help="SQLite file (default: $DRAFTGATE_DB or ./var/draftgate.db)")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (configure, _) in COMMANDS.items():
        configure(sub.add_parser(name))
    return parser


def main(argv: list[str] | None = None) -> int:
    _load_command_modules()
    args = build_parser().parse_args(argv)
    return COMMANDS[args.command][1](args)


def _load_command_modules() -> None:
    """Import feature modules that register their own subcommands."""
    import importlib

    for module in CLI_MODULES:
        importlib.import_module(module)


# Feature modules with subcommands (each calls register_command at import).
CLI_MODULES: list[str] = []
CLI_MODULES.append("gateway.governance_cli")  # issue 7: report, stats
CLI_MODULES.append("gateway.image_import")  # issue 4: images import / list / remove


if __name__ == "__main__":
    raise SystemExit(main())
