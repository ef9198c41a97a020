"""The OpenAPI 3.1 document, built from the routes the app (and its plugins) added.

Request schemas come from the pydantic models the handlers validate with, so
the document cannot drift from what the server accepts.
"""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web
from pydantic import BaseModel

import gateway
from gateway.appkeys import OPENAPI_OPERATIONS

_STR = {"type": "string"}
_OBJ = {"type": "object"}

FINDING = {
    "type": "object",
    "required": ["checker", "rule", "severity", "message", "evidence"],
    "properties": {
        "checker": _STR,
        "rule": _STR,
        "severity": {"type": "string", "enum": ["block", "review", "info"]},
        "message": _STR,
        "evidence": {"type": "object", "description": "term, start, end, snippet for text; index, image_id, label, distance for images"},
    },
}
PUBLICATION = {
    "type": "object",
    "required": ["state", "attempts"],
    "properties": {"state": {"type": "string", "enum": ["none", "queued", "published", "failed"]}, "attempts": {"type": "integer"}},
}
DRAFT = {
    "type": "object",
    "required": ["id", "account", "revision", "title", "status", "findings", "decisions", "publication"],
    "properties": {
        "id": _STR,
        "account": _STR,
        "revision": {"type": "integer"},
        "title": _STR,
        "body": _STR,
        "body_format": {"type": "string", "enum": ["text", "html"]},
        "status": {"type": "string", "enum": ["passed", "flagged", "blocked", "approved", "rejected"]},
        "findings": {"type": "array", "items": {"$ref": "#/components/schemas/Finding"}},
        "decisions": {"type": "array", "items": _OBJ},
        "publication": {"$ref": "#/components/schemas/Publication"},
    },
}
ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {"type": "object", "required": ["code", "message"], "properties": {"code": _STR, "message": _STR, "field": _STR}}
    },
}


def _envelope(key: str, ref: str, many: bool = False) -> dict[str, Any]:
    item = {"$ref": f"#/components/schemas/{ref}"}
    return {"type": "object", "required": [key], "properties": {key: {"type": "array", "items": item} if many else item}}


RESPONSES: dict[str, dict[str, Any]] = {
    "DraftEnvelope": _envelope("draft", "Draft"),
    "Drafts": _envelope("drafts", "Draft", many=True),
    "AccountEnvelope": {"type": "object", "properties": {"account": _OBJ}},
    "Accounts": {"type": "object", "properties": {"accounts": {"type": "array", "items": _OBJ}}},
    "UserWithToken": {"type": "object", "properties": {"user": _OBJ, "token": _STR}},
    "Users": {"type": "object", "properties": {"users": {"type": "array", "items": _OBJ}}},
    "Me": {"type": "object", "properties": {"user": _OBJ, "roles": {"type": "array", "items": _OBJ}}},
    "Checkers": {"type": "object", "properties": {"checkers": {"type": "array", "items": _OBJ}}},
    "AuditEntries": {"type": "object", "properties": {"entries": {"type": "array", "items": _OBJ}}},
    "AuditVerify": {"type": "object", "required": ["ok", "entries"], "properties": {"ok": {"type": "boolean"}, "entries": {"type": "integer"}, "first_bad": _OBJ}},
    "Health": {"type": "object", "properties": {"ok": {"type": "boolean"}}},
}

_ERROR_TEXT = {
    400: "body is not UTF-8 or not JSON", 401: "missing or unknown token", 403: "the caller lacks the right",
    404: "unknown id in the path", 409: "the state forbids the action", 413: "body over the size limit",
    422: "a field is missing, mistyped or invalid (the message names it)",
}


def _model_schema(model: type[BaseModel], components: dict[str, Any]) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, sub in schema.pop("$defs", {}).items():
        components[name] = sub
    components[model.__name__] = schema
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def build_document(app: web.Application) -> dict[str, Any]:
    components: dict[str, Any] = {"Finding": FINDING, "Publication": PUBLICATION, "Draft": DRAFT, "Error": ERROR, **RESPONSES}
    paths: dict[str, Any] = {}
    for op in app[OPENAPI_OPERATIONS]:
        path_params = re.findall(r"{(\w+)}", op["path"])
        operation: dict[str, Any] = {
            "summary": op["summary"],
            "operationId": f"{op['method']}_{re.sub(r'[^a-zA-Z0-9]+', '_', op['path']).strip('_')}",
            "tags": [op["tag"]],
            "parameters": [
                {"name": p, "in": "path", "required": True, "schema": _STR} for p in path_params
            ] + [
                {"name": q, "in": "query", "required": False, "schema": _STR, "description": d} for q, d in op["query"].items()
            ],
            "responses": {},
        }
        if op["body"] is not None:
            operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": _model_schema(op["body"], components)}},
            }
        resp = op["response"]
        if resp == "text":
            content = {"text/plain": {"schema": _STR}}
        elif resp in components:
            content = {"application/json": {"schema": {"$ref": f"#/components/schemas/{resp}"}}}
        else:
            content = {"application/json": {"schema": _OBJ}}
        operation["responses"][str(op["status"])] = {"description": "success", "content": content}
        errors = set(op["errors"]) | ({401} if op["auth"] else set())
        if op["body"] is not None:
            # read_json answers these for any route with a body; no route lists them itself.
            errors |= {400, 413, 422}
        for code in sorted(errors):
            operation["responses"][str(code)] = {
                "description": _ERROR_TEXT.get(code, "error"),
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
            }
        if not op["auth"]:
            operation["security"] = []
        paths.setdefault(op["path"], {})[op["method"]] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": "draftgate", "version": gateway.__version__,
                 "description": "Pre-publication screening gateway for official new-media accounts (API v1)."},
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "components": {"schemas": components, "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "paths": paths,
    }
