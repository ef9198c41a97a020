"""Runs every checker on a revision, concurrently, each within its time budget.

Fail closed: a checker that raises, returns something that is not a list of
findings, or overruns its budget contributes a ``review`` finding from the
gateway naming it, so the draft is held for a person and never passes unseen.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from typing import Any

from gateway.hookspecs import Checker
from gateway.model import Draft, Finding, Verdict
from gateway.services import Gateway

log = logging.getLogger("draftgate.screening")


def checker_timeout(gateway: Gateway, checker: Checker) -> float:
    settings = gateway.plugin_settings(checker.name)
    return float(settings.get("timeout") or getattr(checker, "timeout", None) or gateway.config.checker_timeout)


def checker_listing(gateway: Gateway, disabled_note: str = "disabled in the configuration") -> list[dict[str, Any]]:
    """What ``GET /v1/checkers`` lists: loaded checkers, then those disabled by name."""
    rows: list[dict[str, Any]] = [
        {
            "name": c.name,
            "version": getattr(c, "version", ""),
            "description": getattr(c, "description", ""),
            "enabled": True,
            "timeout": checker_timeout(gateway, c),
        }
        for c in sorted(gateway.checkers.values(), key=lambda c: c.name)
    ]
    rows += [
        {"name": name, "version": "", "description": disabled_note, "enabled": False, "timeout": None}
        for name in sorted(gateway.config.disabled_plugins) if name not in gateway.checkers
    ]
    return rows


def _collect(value: Any, name: str) -> list[Finding]:
    if value is None:
        return []
    if isinstance(value, Finding):
        return [value]
    findings = list(value)
    for f in findings:
        if not isinstance(f, Finding):
            raise TypeError(f"checker {name!r} returned {type(f).__name__}, not Finding")
    return findings


async def _run_one(gateway: Gateway, checker: Checker, draft: Draft) -> list[Finding]:
    name = checker.name
    budget = checker_timeout(gateway, checker)
    started = time.perf_counter()
    loop = asyncio.get_running_loop()

    async def invoke() -> Any:
        if inspect.iscoroutinefunction(checker.check):
            result = await checker.check(draft)
        else:
            # Sync checkers run in the app's executor: CPU work stays off the loop.
            result = await loop.run_in_executor(gateway.executor, lambda: _materialise(checker.check(draft)))
        if inspect.isawaitable(result):
            result = await result
        return result

    try:
        findings = _collect(await asyncio.wait_for(invoke(), budget), name)
    except asyncio.TimeoutError:
        gateway.metrics.checker_failures.labels(name, "timeout").inc()
        log.warning("checker timed out", extra={"draft_id": draft.id, "checker": name, "budget_s": budget})
        findings = [Finding.checker_failed(name, "timeout", f"no answer within {budget:g} s")]
    except Exception as exc:  # noqa: BLE001 — any failure must hold the draft, whatever it is
        gateway.metrics.checker_failures.labels(name, "error").inc()
        log.exception("checker failed", extra={"draft_id": draft.id, "checker": name})
        findings = [Finding.checker_failed(name, "error", f"{type(exc).__name__}: {exc}")]
    gateway.metrics.checker_duration.labels(name).observe(time.perf_counter() - started)
    return findings


def _materialise(value: Any) -> Any:
    # A generator must be consumed in the worker thread, not on the loop.
    if inspect.isgenerator(value):
        return list(value)
    return value


async def screen(gateway: Gateway, draft: Draft) -> Verdict:
    """Screen one revision with every enabled checker; the verdict holds all findings."""
    chosen = list(gateway.checkers.values())
    # The screened text is derived once here so checkers running in threads share it.
    await gateway.run_cpu(lambda: draft.screened_text)
    results = await asyncio.gather(*(_run_one(gateway, c, draft) for c in chosen))
    return Verdict(tuple(f for group in results for f in group))
