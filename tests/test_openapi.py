"""/v1/openapi.json describes every endpoint and validates as OpenAPI 3."""

from __future__ import annotations

import asyncio
from typing import Any

import schemathesis
from conftest import World
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from openapi_spec_validator import validate
from schemathesis.checks import not_a_server_error


async def test_document_is_valid_openapi_3(world: World) -> None:
    status, doc = await world.call("GET", "/v1/openapi.json", "op")
    assert status == 200
    validate(doc)
    assert doc["openapi"].startswith("3.")


async def test_every_route_is_described(world: World) -> None:
    _, doc = await world.call("GET", "/v1/openapi.json", "op")
    served = set()
    for resource in world.app.router.resources():
        info = resource.get_info()
        path = info.get("path") or info.get("formatter")
        if path and (path.startswith("/v1/") or path in ("/healthz", "/metrics")):
            for route in resource:
                if route.method != "HEAD":
                    served.add((path, route.method.lower()))
    described = {(p, m) for p, ops in doc["paths"].items() for m in ops}
    assert served <= described, served - described


async def test_request_schemas_come_from_the_validators(world: World) -> None:
    _, doc = await world.call("GET", "/v1/openapi.json", "op")
    schemas = doc["components"]["schemas"]
    assert set(schemas["DraftIn"]["required"]) >= {"account", "title", "body"}
    assert schemas["DecisionIn"]["properties"]["decision"]["enum"] == ["approve", "reject"]
    post = doc["paths"]["/v1/drafts"]["post"]
    assert {"201", "400", "401", "413", "422"} <= set(post["responses"])


async def test_every_operation_with_a_body_documents_the_body_errors(world: World) -> None:
    # Any JSON body may be malformed (400), too large (413) or invalid (422); a client must see all three listed.
    _, doc = await world.call("GET", "/v1/openapi.json", "op")
    missing = [(m.upper(), p) for p, ops in doc["paths"].items() for m, op in ops.items()
               if "requestBody" in op and not {"400", "413", "422"} <= set(op["responses"])]
    assert missing == []


def _fuzz(doc: dict[str, Any], base_url: str, token: str, examples: int) -> int:
    """Call every operation with schemathesis' generated cases, valid and invalid; returns how many calls it made."""
    calls = 0
    schema = schemathesis.openapi.from_dict(doc)
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in schemathesis.GenerationMode:

            # derandomize: the same cases every run, so a failure here is reproducible and never flaky.
            @settings(max_examples=examples, deadline=None, database=None, derandomize=True,
                      phases=[Phase.generate], suppress_health_check=list(HealthCheck))
            @given(operation.as_strategy(generation_mode=mode))
            def call(case: schemathesis.Case) -> None:
                nonlocal calls
                calls += 1
                response = case.call(base_url=base_url, headers={"Authorization": f"Bearer {token}"})
                case.validate_response(response, checks=(not_a_server_error,))
                if response.status_code >= 400:
                    error = response.json()["error"]
                    assert error["code"] and error["message"], (case.method, case.formatted_path, response.text)

            try:
                call()
            except Unsatisfiable:
                # An operation without parameters or body (GET /healthz) has no invalid request to make.
                if mode is not schemathesis.GenerationMode.NEGATIVE:
                    raise
    return calls


async def test_generated_requests_never_crash_the_server(world: World) -> None:
    _, doc = await world.call("GET", "/v1/openapi.json", "op")
    base_url = str(world.client.make_url("/")).rstrip("/")
    for who in ("op", "admin"):
        # A worker thread: the synchronous client must not block the loop that serves its requests.
        calls = await asyncio.to_thread(_fuzz, doc, base_url, world.tokens[who], 4)
        assert calls > 300
    status, _ = await world.submit()
    assert status == 201, "the server keeps serving"
