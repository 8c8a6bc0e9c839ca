"""Request parsing, content negotiation and error answers shared by the blueprint's routes and
the step-up decorators."""

from __future__ import annotations

from typing import Any

from flask import current_app, flash, jsonify, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from jinja2 import TemplateError
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException
from werkzeug.routing import BuildError

from . import config as cfg
from .exceptions import BadRequest, NotSignedIn, PasslockError, PayloadTooLarge
from .messages import DEFAULT_MESSAGES, message
from .redirects import safe_next

#: Largest request body read, in bytes: a code is at most 512 characters, an id_token a few KB.
MAX_BODY = 64 * 1024

#: Most notices kept for the next page: a client that never loads one (a script posting JSON)
#: must not grow the signed session cookie until a browser drops it.
MAX_NOTICES = 5

#: The action a page's endpoint stands for (the error page's ``title.<action>``).
_ACTIONS = {
    "register_page": "register",
    "login_options": "login",
    "signup_page": "signup",
    "verify_page": "verify",
    "list_passkeys": "list",
}

#: The page to go back to after a failed action, by endpoint.
_BACK = {
    "passlock.register": "passlock.register_page",
    "passlock.login": "passlock.login_page",
    "passlock.login_options": "passlock.login_page",
    "passlock.signup": "passlock.signup_page",
    "passlock.verify": "passlock.verify_page",
    "passlock.rename": "passlock.list_passkeys",
    "passlock.delete": "passlock.list_passkeys",
}


def notify(text: str, category: str = "success") -> None:
    """Flash ``text`` for the next page, unless the same notice is already waiting or
    ``MAX_NOTICES`` are."""
    waiting = session.get("_flashes", [])
    if len(waiting) < MAX_NOTICES and (category, text) not in waiting:
        flash(text, category)


def wants_json() -> bool:
    """Whether to answer JSON: a JSON body, or ``Accept`` preferring JSON to HTML."""
    if request.is_json:
        return True
    accept = request.accept_mimetypes
    return accept["application/json"] > accept["text/html"]


def read_body() -> dict[str, Any]:
    """The POST body as a dict: a JSON object, or the form fields.

    :raises PayloadTooLarge: over :data:`MAX_BODY` (chunked bodies included).
    :raises BadRequest: not a JSON object, invalid or too deeply nested JSON.
    """
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    request.max_content_length = MAX_BODY if limit is None else min(limit, MAX_BODY)
    if (request.content_length or 0) > MAX_BODY:
        raise PayloadTooLarge()
    try:
        request.get_data(cache=True)
        # A chunked body has no Content-Length: werkzeug stops reading at the limit without
        # a word, and only a read past it tells that there was more.
        request.stream.read(1)
        if not request.is_json:
            return request.form.to_dict()
        data = request.get_json()
        if not isinstance(data, dict):
            raise BadRequest(reason="the body is not a JSON object")
        if _has_surrogate(data):
            raise BadRequest(reason="a string of the body is not text (lone surrogate)")
        return data
    except RecursionError:
        raise BadRequest(reason="JSON nested too deeply") from None
    except HTTPException as error:
        if error.code == 413:
            raise PayloadTooLarge() from None
        raise BadRequest(reason=f"unreadable body ({error.code})") from None


def _has_surrogate(data: object) -> bool:
    """Whether any string (key or value) anywhere in parsed JSON holds a lone surrogate."""
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")  # refuses a lone surrogate, at C speed
            except UnicodeEncodeError:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def string_field(data: dict[str, Any], name: str, *, required: bool = True) -> str | None:
    """A string field of the body; :class:`BadRequest` if missing (when required) or not a
    string."""
    value = data.get(name)
    if value is None or value == "":
        if required:
            raise BadRequest(reason=f"the '{name}' field is missing")
        return None
    if not isinstance(value, str):
        raise BadRequest(reason=f"the '{name}' field is not a string")
    return value


def next_target(data: dict[str, Any] | None = None) -> str | None:
    """The request's safe ``next`` (query string first, then the body), or ``None``."""
    candidate = request.args.get("next")
    if candidate is None and data is not None:
        candidate = data.get("next")
    return safe_next(candidate)


def current_path() -> str:
    """This request's path and query string: the ``next`` to come back to."""
    return request.full_path.rstrip("?")


def login_url() -> str | None:
    """The sign-in page for an anonymous visitor, with ``next`` back here:
    ``PASSLOCK_LOGIN_VIEW``, else Flask-Login's ``login_view``, else the blueprint's page."""
    endpoint = current_app.config.get(cfg.LOGIN_VIEW)
    if endpoint is None:
        manager = getattr(current_app, "login_manager", None)
        endpoint = getattr(manager, "login_view", None) or "passlock.login_page"
    try:
        return url_for(endpoint, next=current_path())
    except BuildError:
        return None


def done(target: str, status: int = 200, **payload: Any) -> ResponseReturnValue:
    """A success: JSON with ``redirect`` (and ``payload``), or a 303 to ``target``."""
    if wants_json():
        return jsonify(redirect=target, **payload), status
    return redirect(target, 303)


def back_url() -> str | None:
    """Where the error page's "Try again" goes after a failed action: the page it came from
    (a safe Referer), else the action's own page. ``None`` for a page that failed."""
    if request.method == "GET":
        return None
    came_from = safe_next(request.referrer)
    if came_from:
        return came_from
    endpoint = _BACK.get(request.endpoint or "")
    if endpoint is None:
        return None
    target = next_target()
    try:
        return url_for(endpoint, next=target) if target else url_for(endpoint)
    except BuildError:
        return None


def error_response(error: PasslockError) -> ResponseReturnValue:
    """The answer for ``error``: ``{"code", "detail", ...}`` JSON, a redirect to the sign-in
    page (a page needing a user, asked for without one), or the error page."""
    if wants_json():
        return jsonify(error.answer()), error.status_code, retry_after_headers(error)
    if isinstance(error, NotSignedIn) and request.method == "GET":
        target = login_url()
        if target:
            return redirect(target)
    return error_page(error.status_code, error.code, error.detail, retry_after_headers(error))


def error_page(
    status: int, code: str, detail: str, headers: dict[str, str] | None = None
) -> ResponseReturnValue:
    """The package's error page: what happened (the title), why (``detail``), a way back."""
    endpoint = (request.endpoint or "").rpartition(".")[2]
    key = "title." + _ACTIONS.get(endpoint, endpoint)
    if status == 405:
        key = "title.method_not_allowed"
    if key not in DEFAULT_MESSAGES:
        key = "title.page_not_found" if status == 404 else "title.default"
    context = {
        "error": {"code": code, "status_code": status},
        "message": detail,
        "title": message(key),
    }
    try:
        page = render_template("passlock/error.html", back_url=back_url(), **context)
    except (SQLAlchemyError, TemplateError, RuntimeError):
        # The app's layout or context processors failed too (its database is down, say:
        # Flask-Login's loads the user): the package's own page, without them.
        template = current_app.jinja_env.get_template("passlock/error_plain.html")
        page = template.render(back_url=None, **context)
    return page, status, headers or {}


def retry_after_headers(error: PasslockError) -> dict[str, str]:
    """``Retry-After`` for an error that says when to try again (a rate limit)."""
    retry_after = getattr(error, "retry_after", None)
    return {"Retry-After": str(retry_after)} if retry_after else {}
