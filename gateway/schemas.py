"""Request bodies of the HTTP API, validated by pydantic.

pydantic gives us strict type checks, a precise location for every error
(``images[2].data``) and JSON Schema for the OpenAPI document from one
declaration, which hand-written validation would have to repeat three times.
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema

ID_PATTERN = r"^[\w.\-]{1,64}$"
TITLE_MAX = 512
BODY_MAX = 500_000
COMMENT_MAX = 5_000
NAME_MAX = 200

Id = Annotated[str, Field(pattern=ID_PATTERN, description="identifier: letters, digits, _ . -; at most 64")]


def _b64(value: Any) -> bytes:
    if not isinstance(value, str):
        raise ValueError("must be a base64 string")
    # Data URLs are what a browser's FileReader produces; accept them.
    if value.startswith("data:") and "," in value:
        value = value.split(",", 1)[1]
    try:
        return base64.b64decode("".join(value.split()), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("is not valid base64") from None


Base64Bytes = Annotated[
    bytes,
    BeforeValidator(_b64),
    WithJsonSchema({"type": "string", "format": "byte", "description": "base64-encoded bytes"}),
]


class Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")


class UserIn(Strict):
    id: Id
    name: Annotated[str, Field(min_length=1, max_length=NAME_MAX)]
    kind: Literal["staff", "student"]
    admin: bool = False


class PermitsIn(Strict):
    commercial: bool = False
    school_marks: bool = False
    school_marks_ref: Annotated[str, Field(max_length=NAME_MAX)] | None = None


class PublishIn(BaseModel):
    """``{target: "outbox"}``, ``{target: "webhook", url, secret?}`` or a plugin target's own fields."""

    model_config = ConfigDict(strict=True, extra="allow")
    target: Annotated[str, Field(min_length=1, max_length=64)]
    url: Annotated[str, Field(max_length=2000)] | None = None
    secret: Annotated[str, Field(max_length=4096)] | None = None


class AccountIn(Strict):
    id: Id
    name: Annotated[str, Field(min_length=1, max_length=NAME_MAX)]
    platform: Literal["wechat", "weibo", "other"]
    unit: Annotated[str, Field(min_length=1, max_length=NAME_MAX)]
    responsible: Id
    operators: Annotated[list[Id], Field(max_length=200)] = []
    official: bool = False
    permits: PermitsIn = PermitsIn()
    review_policy: Literal["flagged", "all"] = "flagged"
    publish: PublishIn = PublishIn(target="outbox")


class AccountPatch(Strict):
    name: Annotated[str, Field(min_length=1, max_length=NAME_MAX)] | None = None
    unit: Annotated[str, Field(min_length=1, max_length=NAME_MAX)] | None = None
    responsible: Id | None = None
    operators: Annotated[list[Id], Field(max_length=200)] | None = None
    official: bool | None = None
    permits: PermitsIn | None = None
    review_policy: Literal["flagged", "all"] | None = None
    publish: PublishIn | None = None
    status: Literal["active", "suspended", "closed"] | None = None
    reason: Annotated[str, Field(max_length=COMMENT_MAX)] | None = None


class ImageIn(Strict):
    name: Annotated[str, Field(min_length=1, max_length=NAME_MAX)]
    data: Base64Bytes


class ContentIn(Strict):
    title: Annotated[str, Field(min_length=1, max_length=TITLE_MAX)]
    body: Annotated[str, Field(max_length=BODY_MAX)]
    body_format: Literal["text", "html"] = "text"
    images: Annotated[list[ImageIn], Field(max_length=50)] = []


class DraftIn(ContentIn):
    account: Id


class RevisionIn(ContentIn):
    pass


class DecisionIn(Strict):
    decision: Literal["approve", "reject"]
    comment: Annotated[str, Field(max_length=COMMENT_MAX)] = ""
    revision: Annotated[int, Field(ge=1, description="the revision the reviewer read; 409 if a newer one arrived")] | None = None
