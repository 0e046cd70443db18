"""POST /login's body: JSON `{username, password, totp?}` (the original contract) or the OAuth2
password form that /docs' Authorize button posts. FastAPI can declare one body type per
route, so the route reads the body through this dependency and describes both in OpenAPI."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from app.schemas import LoginIn

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")

# The route's requestBody in OpenAPI, since FastAPI sees no body parameter.
LOGIN_OPENAPI: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": LoginIn.model_json_schema()},
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "required": ["username", "password"],
                    "properties": {
                        "username": {"type": "string"},
                        "password": {"type": "string", "format": "password"},
                        "totp": {"type": "string", "description": "Two-factor code"},
                    },
                }
            },
        },
    }
}


async def read_login_body(request: Request) -> LoginIn:
    """The body as LoginIn; a 422 naming `body.<field>` as FastAPI's own validation does.
    JSON is parsed as FastAPI parses other bodies (the standard library's parser), so a
    field holding text that can't be stored is refused by that field's rules, with its
    name, rather than as unparsable JSON."""
    try:
        if request.headers.get("content-type", "").startswith(FORM_TYPES):
            form = await request.form()
            code = form.get("totp")
            return LoginIn(
                username=str(form.get("username", "")),
                password=str(form.get("password", "")),
                totp=str(code) if code else None,
            )
        return LoginIn.model_validate(_json_body(await request.body()))
    except ValidationError as exc:
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]
        ) from exc


def _json_body(raw: bytes) -> object:
    try:
        return json.loads(raw)
    except ValueError as exc:  # JSONDecodeError, or bytes that aren't UTF-8
        raise RequestValidationError(
            [{"type": "json_invalid", "loc": ("body",), "msg": "JSON decode error"}]
        ) from exc


LoginBody = Annotated[LoginIn, Depends(read_login_body)]
