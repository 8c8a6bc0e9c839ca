"""What the emulator's HTTP layers share: JSON in, tagged JSON out."""

from __future__ import annotations

import re
from typing import Any

from flask import Response, jsonify, request

from .errors import ApiError, bad_request


def json_body(*, optional: bool = False) -> dict[str, Any]:
    """The request's JSON object; ``@error/BadRequest`` for anything else (an empty body is
    ``{}`` when ``optional``)."""
    if optional and not request.get_data(cache=True):
        return {}
    try:
        data = request.get_json(force=True, silent=False)
    except Exception:  # noqa: BLE001 - any undecodable body (bad JSON, encoding, nesting)
        data = None
    if not isinstance(data, dict):
        raise bad_request("Expected a JSON object")
    return data


def pick(body: dict[str, Any], *names: str) -> dict[str, Any]:
    """``body``'s ``names`` (``None`` when absent) as snake_case keyword arguments."""
    return {re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower(): body.get(name) for name in names}


def bearer_token() -> str:
    header = request.headers.get("Authorization", "")
    return header[7:] if header.startswith("Bearer ") else ""


def answer(data: dict[str, Any], status: int = 200) -> Response:
    response = jsonify(data)
    response.status_code = status
    return response


def error_answer(error: ApiError) -> Response:
    return answer(error.body, error.status)
