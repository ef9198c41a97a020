"""/metrics in Prometheus text format, and /healthz."""

from __future__ import annotations

from conftest import World
from prometheus_client.parser import text_string_to_metric_families


async def test_metrics_cover_requests_verdicts_checkers_and_queue(world: World) -> None:
    await world.submit(body="clean")
    await world.submit(body="REVIEWME")
    await world.submit(body="CRASHME")
    status, text = await world.call("GET", "/metrics", "admin")
    assert status == 200
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for fam in text_string_to_metric_families(text) for s in fam.samples}
    assert samples[("draftgate_drafts_screened_total", (("status", "passed"),))] == 1
    assert samples[("draftgate_drafts_screened_total", (("status", "flagged"),))] == 2
    assert samples[("draftgate_checker_failures_total", (("checker", "terms"), ("reason", "error")))] == 1
    assert samples[("draftgate_checker_duration_seconds_count", (("checker", "terms"),))] == 3
    assert samples[("draftgate_http_requests_total", (("method", "POST"), ("route", "/v1/drafts"), ("status", "201")))] == 3
    assert any(name == "draftgate_publish_queue_depth" for name, _ in samples)
    assert any(name == "draftgate_http_request_duration_seconds_bucket" for name, _ in samples)


async def test_metrics_need_a_token_but_healthz_does_not(world: World) -> None:
    assert (await world.client.get("/metrics")).status == 401
    resp = await world.client.get("/healthz")
    body = await resp.json()
    assert resp.status == 200 and body["ok"] is True and "terms" in body["checkers"]
