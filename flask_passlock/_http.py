"""Request parsing and content negotiation shared by the blueprint's routes."""

from __future__ import annotations

from typing import Any

from flask import request
from werkzeug.exceptions import BadRequest as HTTPBadRequest

from .exceptions import BadRequest, PayloadTooLarge

#: Largest request body read, in bytes: a code is at most 512 characters, an id_token a few KB.
MAX_BODY = 64 * 1024


def wants_json() -> bool:
    """Whether to answer JSON: a JSON body, or ``Accept`` preferring JSON to HTML."""
    if request.is_json:
        return True
    accept = request.accept_mimetypes
    return accept["application/json"] > accept["text/html"]


def read_body() -> dict[str, Any]:
    """The POST body as a dict: a JSON object, or the form fields."""
    if (request.content_length or 0) > MAX_BODY:
        raise PayloadTooLarge()
    if request.is_json:
        try:
            data = request.get_json()
        except HTTPBadRequest:
            raise BadRequest("The request body is not valid JSON.") from None
        if not isinstance(data, dict):
            raise BadRequest("The request body must be a JSON object.")
        return data
    return request.form.to_dict()


def string_field(data: dict[str, Any], name: str, *, required: bool = True) -> str | None:
    """A string field of the body; :class:`BadRequest` if missing (when required) or not a
    string."""
    value = data.get(name)
    if value is None or value == "":
        if required:
            raise BadRequest(f"The '{name}' field is missing.")
        return None
    if not isinstance(value, str):
        raise BadRequest(f"The '{name}' field must be a string.")
    return value


def clean_text(value: str, *, field: str, max_length: int) -> str:
    """Strip ``value``; refuse it empty, too long, or with control characters."""
    value = value.strip()
    if not value or len(value) > max_length:
        raise BadRequest(f"The '{field}' must be 1 to {max_length} characters.")
    if any(ord(ch) < 0x20 or 0x7F <= ord(ch) < 0xA0 for ch in value):
        raise BadRequest(f"The '{field}' must not contain control characters.")
    return value
