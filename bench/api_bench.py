"""End-to-end submission benchmark: drafts/s and latency through the real HTTP API.

Starts the gateway on 127.0.0.1 (built-in plugins, a fresh SQLite file in a
temp dir), submits a bounded number of realistic drafts with a few concurrent
clients, and prints throughput and latency percentiles, plus how long the
publish queue took to drain them.

    .venv/bin/python bench/api_bench.py [--drafts 400] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import tempfile
import time
from pathlib import Path

import aiohttp
from aiohttp import web

from gateway import auth
from gateway.app import create_app
from gateway.appkeys import GATEWAY
from gateway.config import Config

PARAGRAPH = (
    "<p>本周五晚七点，物理学院将在英杰交流中心举办迎新晚会。晚会包括学生原创节目、师生合唱和抽奖环节，"
    "欢迎全体新同学和家属参加。活动期间请注意保管个人物品，遵守会场秩序。</p>"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def main(drafts: int, concurrency: int, body_chars: int) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="draftgate-bench-"))
    config = Config(db_path=str(tmp / "bench.db"), publish_poll_interval=0.05)
    app = await create_app(config)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    store = app[GATEWAY].store
    _, admin = auth.create_user(store, id="admin", name="A", kind="staff", admin=True)
    auth.create_user(store, id="resp", name="R", kind="staff")
    _, op = auth.create_user(store, id="op", name="O", kind="student")
    base = f"http://127.0.0.1:{port}"
    body = (PARAGRAPH * (body_chars // len(PARAGRAPH) + 1))[:body_chars]
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{base}/v1/accounts", headers={"Authorization": f"Bearer {admin}"}, json={
                "id": "acc", "name": "物理学院", "platform": "wechat", "unit": "物理学院", "responsible": "resp",
                "operators": ["op"]}) as resp:
            assert resp.status == 201, await resp.text()
        queue: asyncio.Queue[int] = asyncio.Queue()
        for i in range(drafts):
            queue.put_nowait(i)

        async def worker() -> None:
            while not queue.empty():
                i = queue.get_nowait()
                started = time.perf_counter()
                async with session.post(f"{base}/v1/drafts", headers={"Authorization": f"Bearer {op}"}, json={
                        "account": "acc", "title": f"迎新晚会通知 {i}", "body": body, "body_format": "html"}) as resp:
                    data = await resp.json()
                latencies.append(time.perf_counter() - started)
                status = data["draft"]["status"] if resp.status == 201 else str(resp.status)
                statuses[status] = statuses.get(status, 0) + 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
        drained_at = time.perf_counter()
        while store.query_one("SELECT count(*) AS n FROM publications WHERE state = 'queued'")["n"]:
            await asyncio.sleep(0.02)
        drain = time.perf_counter() - drained_at
    await runner.cleanup()
    latencies.sort()
    q = statistics.quantiles(latencies, n=100)
    print(f"drafts: {drafts} ({body_chars}-char HTML bodies), concurrency {concurrency}, built-in checkers on")
    print(f"statuses: {statuses}")
    print(f"throughput: {drafts / elapsed:.1f} drafts/s (submit, screen, commit, 201)")
    print(f"latency: median {q[49] * 1000:.1f} ms, p90 {q[89] * 1000:.1f} ms, p99 {q[98] * 1000:.1f} ms")
    print(f"publish queue drained {drain:.2f} s after the last 201")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--drafts", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--body-chars", type=int, default=2000)
    args = parser.parse_args()
    asyncio.run(main(args.drafts, args.concurrency, args.body_chars))
