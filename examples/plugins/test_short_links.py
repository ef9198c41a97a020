"""Tests for the example plugin, loaded the way an admin loads it: from a plugins directory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gateway import auth
from gateway.app import create_app
from gateway.appkeys import GATEWAY
from gateway.config import Config

HERE = Path(__file__).parent


async def test_short_link_is_held_for_review_and_plain_link_passes(aiohttp_client: Any, tmp_path: Path) -> None:
    config = Config(db_path=str(tmp_path / "g.db"), plugins_dirs=(str(HERE),), publish_enabled=False)
    app = await create_app(config)
    client = await aiohttp_client(app)
    store = app[GATEWAY].store
    _, admin = auth.create_user(store, id="admin", name="A", kind="staff", admin=True)
    auth.create_user(store, id="resp", name="R", kind="staff")
    _, op = auth.create_user(store, id="op", name="O", kind="student")
    resp = await client.post("/v1/accounts", headers={"Authorization": f"Bearer {admin}"}, json={
        "id": "acc", "name": "学院", "platform": "weibo", "unit": "u", "responsible": "resp", "operators": ["op"]})
    assert resp.status == 201
    resp = await client.get("/v1/checkers", headers={"Authorization": f"Bearer {admin}"})
    assert "short_links" in [c["name"] for c in (await resp.json())["checkers"]]

    async def submit(body: str) -> dict[str, Any]:
        resp = await client.post("/v1/drafts", headers={"Authorization": f"Bearer {op}"},
                                 json={"account": "acc", "title": "讲座通知", "body": body})
        assert resp.status == 201
        return (await resp.json())["draft"]

    held = await submit("讲座回放见 http://t.cn/A6abcd")
    assert held["status"] == "flagged"
    assert [f["checker"] for f in held["findings"]] == ["short_links"]
    plain = await submit("讲座回放见 https://www.pku.edu.cn/replay")
    assert plain["status"] == "passed"


async def test_checker_finds_every_shortened_link_with_offsets() -> None:
    from gateway.model import Account, Content, Draft

    from short_links import ShortLinkChecker  # type: ignore[import-not-found]

    body = "报名请点 http://t.cn/A6abc 或 https://www.pku.edu.cn/x，详情 https://bit.ly/3xyz"
    draft = Draft("d1", 1, Account("a", "n", "weibo", "u", "r"), Content("标题", body), "op", "now")
    findings = ShortLinkChecker().check(draft)
    assert [f.evidence["term"] for f in findings] == ["t.cn", "bit.ly"]
    for f in findings:
        assert draft.screened_text[f.evidence["start"]:f.evidence["end"]].startswith("http")
