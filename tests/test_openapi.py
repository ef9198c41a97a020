"""/v1/openapi.json describes every endpoint and validates as OpenAPI 3."""

from __future__ import annotations

from conftest import World
from openapi_spec_validator import validate


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
