"""The API's middlewares: JSON errors, bearer-token authentication, metrics."""

from __future__ import annotations

import logging
import time

from aiohttp import web

from gateway.api.common import USER_KEY, ApiError, gateway_of, json_response
from gateway.auth import user_for_token

log = logging.getLogger("draftgate.api")

# Paths that need a bearer token: the whole API and the metrics (the contract:
# every call but /healthz). The console has its own cookie sessions.
AUTH_PREFIXES = ("/v1/", "/metrics")


@web.middleware
async def error_middleware(request: web.Request, handler):  # type: ignore[no-untyped-def]
    try:
        return await handler(request)
    except ApiError as e:
        return json_response(e.to_json(), status=e.status)
    except web.HTTPRequestEntityTooLarge:
        limit = gateway_of(request).config.max_body_bytes
        return json_response(
            {"error": {"code": "body_too_large", "message": f"body: larger than the limit of {limit} bytes"}}, 413
        )
    except web.HTTPException as e:
        if e.status < 400:
            raise
        code = {404: "not_found", 405: "method_not_allowed"}.get(e.status, "http_error")
        response = json_response({"error": {"code": code, "message": f"{request.method} {request.path}: {e.reason}"}}, e.status)
        if "Allow" in e.headers:  # RFC 9110: a 405 lists the methods the resource does accept
            response.headers["Allow"] = e.headers["Allow"]
        return response
    except Exception:
        log.exception("unhandled error", extra={"path": request.path, "method": request.method})
        return json_response({"error": {"code": "internal", "message": "internal error; it has been logged"}}, 500)


@web.middleware
async def auth_middleware(request: web.Request, handler):  # type: ignore[no-untyped-def]
    if request.path.startswith(AUTH_PREFIXES):
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(401, "unauthorized", "Authorization: missing bearer token")
        store = gateway_of(request).store
        user = await store.call(user_for_token, store, token.strip())
        if user is None:
            raise ApiError(401, "unauthorized", "Authorization: unknown or revoked token")
        request[USER_KEY] = user
    return await handler(request)


@web.middleware
async def metrics_middleware(request: web.Request, handler):  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    finally:
        info = request.match_info.route.resource
        route = info.canonical if info is not None else "unmatched"
        metrics = gateway_of(request).metrics
        metrics.requests.labels(request.method, route, str(status)).inc()
        metrics.latency.labels(route).observe(time.perf_counter() - started)
