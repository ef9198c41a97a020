"""``/v1/images``: the registry of known images behind the image-reuse checker (admin).

Registration decodes and hashes the upload in the gateway's CPU executor, so
the event loop keeps serving while a large picture is processed.
"""

from __future__ import annotations

from typing import Annotated, Literal

from aiohttp import web
from pydantic import Field

from gateway.api.common import (
    ApiError,
    gateway_of,
    invalid,
    json_response,
    not_found,
    read_json,
    require_admin,
    route,
)
from gateway.image_registry import STATUSES, DuplicateImage, ImageRegistry, RegistryError, get_registry
from gateway.images import ImageError
from gateway.schemas import Base64Bytes, Id, Strict


async def _registry(request: web.Request) -> ImageRegistry:
    # The first call loads every registered hash: off the event loop.
    gw = gateway_of(request)
    return await gw.run_cpu(get_registry, gw)


class ImageRegistrationIn(Strict):
    data: Base64Bytes
    label: Annotated[str, Field(min_length=1, max_length=200)]
    status: Literal["unlicensed", "licensed", "school_mark"]
    licensed_to: list[Id] = Field(default_factory=list, max_length=1000)


async def register_image(request: web.Request) -> web.Response:
    user = require_admin(request)
    body = await read_json(request, ImageRegistrationIn)
    gw = gateway_of(request)
    if body.status != "licensed" and body.licensed_to:
        raise invalid("licensed_to", "is only for status 'licensed'")
    registry = await _registry(request)
    try:
        image = await gw.run_cpu(
            registry.add, body.data, label=body.label, status=body.status, licensed_to=body.licensed_to, actor=user.id
        )
    except ImageError as e:
        raise invalid("data", e.message, code="invalid_image") from None
    except DuplicateImage as e:
        raise ApiError(409, "duplicate_image", str(e), image=e.existing) from None
    except RegistryError as e:
        raise invalid("body", str(e)) from None
    return json_response({"image": image}, status=201)


async def list_images(request: web.Request) -> web.Response:
    require_admin(request)
    status = request.query.get("status")
    if status is not None and status not in STATUSES:
        raise invalid("status", f"must be one of {', '.join(STATUSES)}")
    registry = await _registry(request)
    return json_response({"images": await gateway_of(request).store.call(registry.list, status)})


async def get_image(request: web.Request) -> web.Response:
    require_admin(request)
    registry = await _registry(request)
    image = await gateway_of(request).store.call(registry.get, request.match_info["id"])
    if image is None:
        raise not_found("image", request.match_info["id"])
    return json_response({"image": image})


async def delete_image(request: web.Request) -> web.Response:
    user = require_admin(request)
    registry = await _registry(request)
    image_id = request.match_info["id"]
    image = await gateway_of(request).store.call(registry.remove, image_id, actor=user.id)
    if image is None:
        raise not_found("image", image_id)
    return json_response({"image": image, "removed": True})


async def get_picture(request: web.Request) -> web.Response:
    """The registered picture's display copy (bounded, JPEG or PNG), as the console shows it."""
    require_admin(request)
    registry = await _registry(request)
    image_id = request.match_info["id"]
    found = await gateway_of(request).store.call(registry.picture, image_id)
    if found is None:
        raise not_found("picture of image", image_id)
    mime, data = found
    # Bytes we encoded ourselves, but still never sniffed into something else.
    return web.Response(body=data, content_type=mime,
                        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "private, max-age=300"})


def setup(app: web.Application) -> None:
    route(app, "POST", "/v1/images", register_image, summary="Register a known image (admin)",
          body=ImageRegistrationIn, status=201, errors=(400, 403, 409, 413, 422))
    route(app, "GET", "/v1/images", list_images, summary="Registered images (admin)",
          query={"status": "unlicensed | licensed | school_mark"}, errors=(403, 422))
    route(app, "GET", "/v1/images/{id}", get_image, summary="One registered image (admin)", errors=(403, 404))
    route(app, "GET", "/v1/images/{id}/picture", get_picture,
          summary="A registered image's display copy, longest side at most 512 px (admin)", errors=(403, 404))
    route(app, "DELETE", "/v1/images/{id}", delete_image, summary="Remove a registered image (admin)",
          errors=(403, 404))
