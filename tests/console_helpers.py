"""Helpers shared by the console tests: sign in through the form, read CSRF tokens from pages."""

from __future__ import annotations

import re
from typing import Any

from aiohttp.test_utils import TestClient

PRE = re.compile(r'name="pre" value="([^"]*)"')
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "page has no CSRF field"
    return found.group(1)


async def sign_in(client: TestClient, token: str, next_path: str = "") -> Any:
    """Sign in through the real form (pre-session CSRF included); returns the final response."""
    page = await client.get("/console/signin" + (f"?next={next_path}" if next_path else ""))
    html = await page.text()
    pre = PRE.search(html)
    assert pre, html
    return await client.post(
        "/console/signin", data={"token": token, "pre": pre.group(1), "next": next_path}, allow_redirects=False
    )


async def page_csrf(client: TestClient, path: str = "/console/drafts") -> str:
    resp = await client.get(path)
    assert resp.status == 200, await resp.text()
    return csrf_of(await resp.text())


def fresh_client_cookies(client: TestClient) -> None:
    client.session.cookie_jar.clear()
