"""Passlock's REST API (Bearer API key): code exchange, passkeys, users, mailbox challenges.
Each route is one backend call; injected faults replace or shape the answers."""

from __future__ import annotations

import time

from flask import Blueprint, Response, g, request

from .backend import PasslockBackend
from .errors import bad_request
from .web import answer, bearer_token, json_body, pick
from .wsgi import DRIP_KEY, RESET_KEY


def rest_api(backend: PasslockBackend) -> Blueprint:
    api = Blueprint("rest", __name__)

    @api.before_request
    def before() -> Response | None:
        """Log the caller, answer with an injected fault, else check the API key."""
        if request.method == "OPTIONS":
            return None
        peer = (request.environ.get("REMOTE_ADDR", ""), int(request.environ.get("REMOTE_PORT", 0)))
        backend.record_peer(*peer)
        fault = backend.next_fault()
        if fault is not None:
            time.sleep(fault.delay)
            request.environ[DRIP_KEY] = fault.drip
            request.environ[RESET_KEY] = fault.reset
            g.fault_headers = fault.headers
            if fault.replaces_answer:
                status = 500 if fault.status is None else fault.status
                return Response(fault.body or b"", status, content_type=fault.content_type)
        tenancy = (request.view_args or {}).get("tenancy")
        if tenancy is not None:
            backend.check_api_key(tenancy, bearer_token())
        return None

    @api.after_request
    def after(response: Response) -> Response:
        response.headers.update(g.get("fault_headers", {}))
        return response

    @api.route("/<tenancy>/principal/<path:code>", methods=["GET", "POST"])
    def principal(tenancy: str, code: str) -> Response:
        user_id = json_body().get("userId") if request.method == "POST" else None
        return answer(backend.exchange_code(tenancy, code, user_id))

    @api.route("/<tenancy>/passkeys/<passkey_id>", methods=["GET", "PATCH", "DELETE"])
    def passkey(tenancy: str, passkey_id: str) -> Response:
        if request.method == "DELETE":
            return answer(backend.delete_passkey(tenancy, passkey_id), 202)
        if request.method == "PATCH":
            body = json_body()
            return answer(
                backend.update_passkey(
                    tenancy, passkey_id, user_id=body.get("userId"), username=body.get("username")
                )
            )
        return answer(backend.get_passkey(tenancy, passkey_id))

    @api.get("/<tenancy>/passkeys/", strict_slashes=False)
    def passkeys(tenancy: str) -> Response:
        records, cursor = backend.list_passkeys(tenancy, request.args.get("cursor") or None)
        return answer({"_tag": "FindAllPasskeys", "cursor": cursor, "records": records})

    @api.route(
        "/<tenancy>/users/<user_id>/passkeys/", methods=["PATCH", "DELETE"], strict_slashes=False
    )
    def user_passkeys(tenancy: str, user_id: str) -> Response:
        body = json_body(optional=request.method == "DELETE")
        if body.get("userId", user_id) != user_id:
            raise bad_request("The userId in the body is not the one in the path")
        if request.method == "DELETE":
            deleted = backend.delete_user_passkeys(tenancy, user_id)
            return answer({"_tag": "DeletedPasskeys", "deleted": deleted}, 202)
        updated = backend.update_user_passkeys(tenancy, user_id, body.get("username"))
        return answer({"_tag": "UpdatedPasskeys", "updated": updated})

    @api.post("/<tenancy>/challenges")
    def create_challenge(tenancy: str) -> Response:
        body = json_body()
        options = pick(
            body, "email", "purpose", "userId", "metadata", "invalidateOthers", "skipRateLimit"
        )
        challenge = backend.create_challenge(tenancy, **options)
        return answer({"_tag": "ChallengeCreated", "challenge": challenge}, 201)

    @api.post("/<tenancy>/challenges/verify")
    def verify_challenge(tenancy: str) -> Response:
        body = json_body()
        challenge = backend.verify_challenge(
            tenancy, body.get("challengeId"), body.get("secret"), body.get("code")
        )
        return answer({"_tag": "ChallengeVerified", "challenge": challenge})

    @api.route("/<tenancy>/challenges/<challenge_id>", methods=["GET", "DELETE"])
    def challenge(tenancy: str, challenge_id: str) -> Response:
        if request.method == "DELETE":
            backend.delete_challenge(tenancy, challenge_id)
            return answer({"_tag": "ChallengeDeleted"}, 202)
        return answer(backend.get_challenge(tenancy, challenge_id))

    return api
