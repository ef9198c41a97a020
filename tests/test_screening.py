"""Screening runs checkers concurrently, within budget, and fails closed."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from conftest import MarkerPlugin, TermChecker, World, build_world

from gateway.hookspecs import hookimpl
from gateway.model import Draft, Finding, Severity


async def test_a_crashing_checker_holds_the_draft_for_review(world: World) -> None:
    status, body = await world.submit(body="CRASHME please")
    assert status == 201
    draft = body["draft"]
    assert draft["status"] == "flagged"
    [finding] = draft["findings"]
    assert finding["checker"] == "gateway" and finding["rule"] == "checker_error"
    assert finding["evidence"]["failed_checker"] == "terms" and "boom" in finding["evidence"]["detail"]


async def test_a_slow_checker_times_out_and_holds_the_draft(aiohttp_client: Any, tmp_path: Path) -> None:
    world = await build_world(aiohttp_client, tmp_path, plugin=MarkerPlugin(TermChecker(sleep=3.0)), checker_timeout=0.3)
    started = time.monotonic()
    status, body = await world.submit(body="SLOWME")
    elapsed = time.monotonic() - started
    assert status == 201 and body["draft"]["status"] == "flagged"
    assert body["draft"]["findings"][0]["rule"] == "checker_timeout"
    assert elapsed < 2.5, "the request must not wait for the slow checker"


class AsyncSlow:
    name = "async_slow"
    version = "1"
    description = "sleeps on the loop"

    async def check(self, draft: Draft) -> list[Finding]:
        await asyncio.sleep(10)
        return []


class BadReturn:
    name = "bad_return"
    version = "1"
    description = "returns strings instead of findings"

    def check(self, draft: Draft) -> list[Any]:
        return ["not a finding"]


class Blocker:
    name = "blocker"
    version = "1"
    description = "blocks everything, asynchronously"

    async def check(self, draft: Draft) -> list[Finding]:
        return [Finding("blocker", "always", Severity.BLOCK, "blocked")]


class ExtraCheckers:
    name = "extra_checkers"

    def __init__(self, *checkers: Any) -> None:
        self.checkers = checkers

    @hookimpl
    async def register_checkers(self, gateway: Any) -> list[Any]:
        return list(self.checkers)


async def test_async_timeout_and_bad_return_fail_closed(aiohttp_client: Any, tmp_path: Path) -> None:
    world = await build_world(aiohttp_client, tmp_path, checker_timeout=0.2,
                              extra_plugins=(ExtraCheckers(AsyncSlow(), BadReturn()),))
    status, body = await world.submit(body="hello")
    rules = sorted((f["evidence"]["failed_checker"], f["rule"]) for f in body["draft"]["findings"])
    assert rules == [("async_slow", "checker_timeout"), ("bad_return", "checker_error")]
    assert body["draft"]["status"] == "flagged"


async def test_checkers_run_concurrently_and_worst_severity_wins(aiohttp_client: Any, tmp_path: Path) -> None:
    world = await build_world(aiohttp_client, tmp_path, extra_plugins=(ExtraCheckers(Blocker()),))
    _, body = await world.submit(body="REVIEWME and CRASHME")
    severities = sorted(f["severity"] for f in body["draft"]["findings"])
    assert severities == ["block", "review"]
    assert body["draft"]["status"] == "blocked"


async def test_findings_are_stored_with_their_revision(world: World) -> None:
    _, body = await world.submit(body="BLOCKME")
    draft_id = body["draft"]["id"]
    await world.call("POST", f"/v1/drafts/{draft_id}/revisions", "op", json={"title": "t", "body": "REVIEWME"})
    rows = world.gateway.store.query("SELECT revision, rule FROM findings WHERE draft_id = ? ORDER BY revision", (draft_id,))
    assert rows == [{"revision": 1, "rule": "blockme"}, {"revision": 2, "rule": "reviewme"}]


async def test_text_findings_give_offsets_into_the_screened_text(world: World) -> None:
    _, body = await world.submit(title="标题", body="<p>前文 <b>REVIEWME</b></p>", body_format="html")
    finding = body["draft"]["findings"][0]
    start, end = finding["evidence"]["start"], finding["evidence"]["end"]
    assert finding["evidence"]["matched"] == "REVIEWME" and end - start == len("REVIEWME")
    assert "REVIEWME" in finding["evidence"]["snippet"]


async def test_disabled_checker_does_not_run(aiohttp_client: Any, tmp_path: Path) -> None:
    world = await build_world(aiohttp_client, tmp_path, disabled_plugins=("terms",))
    _, body = await world.submit(body="BLOCKME")
    assert body["draft"]["status"] == "passed"
    _, listing = await world.call("GET", "/v1/checkers", "admin")
    by_name = {c["name"]: c for c in listing["checkers"]}
    assert by_name["terms"]["enabled"] is False
