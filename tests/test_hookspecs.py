"""Meta-test, datasette style: every hook is documented and exercised by a test."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from gateway import hookspecs

ROOT = Path(__file__).resolve().parent.parent
HOOKS = sorted(name for name, fn in inspect.getmembers(hookspecs, inspect.isfunction)
               if hasattr(fn, "draftgate_spec"))


def test_there_are_hooks() -> None:
    assert {"startup", "shutdown", "register_checkers", "publish_targets", "register_routes"} <= set(HOOKS)


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_is_documented(hook: str) -> None:
    docs = (ROOT / "docs" / "plugins.md").read_text(encoding="utf-8")
    assert re.search(rf"^### `{hook}\(", docs, re.M), f"docs/plugins.md has no section for {hook}"
    assert (getattr(hookspecs, hook).__doc__ or "").strip(), f"{hook} has no docstring"


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_has_a_test(hook: str) -> None:
    pattern = re.compile(rf"def {hook}\(")
    tests = [p for p in (ROOT / "tests").glob("test_*.py") if p.name != "test_hookspecs.py"]
    tests += list((ROOT / "tests").glob("conftest.py"))
    assert any(pattern.search(p.read_text(encoding="utf-8")) for p in tests), f"no test implements {hook}"
