"""The endpoints the browser library calls, unauthenticated and open to every origin (CORS):
the ceremonies, the Signal API helpers and the ES module at ``/client.js``."""

from __future__ import annotations

from importlib import resources
from typing import Any

from flask import Blueprint, Response, request

from .backend import PasslockBackend
from .ceremonies import Ceremonies
from .errors import ApiError, not_found
from .web import answer, json_body


def _metadata() -> dict[str, Any]:
    data = {"ipAddress": request.remote_addr, "userAgent": request.user_agent.string}
    return {k: v for k, v in data.items() if v}


def browser_api(backend: PasslockBackend, rp_name: str) -> Blueprint:
    api = Blueprint("browser", __name__)
    ceremonies = Ceremonies(backend, rp_name)

    @api.before_request
    def known_tenancy() -> None:
        tenancy = (request.view_args or {}).get("tenancy")
        if request.method == "OPTIONS" or tenancy is None:
            return
        if not backend.has_tenancy(tenancy):
            raise ApiError("@error/NotFound", "Unknown tenancy")

    @api.get("/client.js")
    def client_js() -> Response:
        source = resources.files(__package__).joinpath("client.js").read_text("utf-8")
        return Response(source, content_type="text/javascript; charset=utf-8")

    @api.post(
        "/<tenancy>/passkey/<any(registration, authentication):kind>"
        "/<any(options, verification):step>"
    )
    def ceremony(tenancy: str, kind: str, step: str) -> Response:
        """``{kind}/options`` and ``{kind}/verification``."""
        if step == "options":
            return answer(ceremonies.options(kind, tenancy, json_body()))
        origin = request.headers.get("Origin", "")
        return answer(ceremonies.verification(kind, tenancy, json_body(), origin, _metadata()))

    @api.get("/<tenancy>/credential/<passkey_id>")
    def credential(tenancy: str, passkey_id: str) -> Response:
        p = backend.get_record(tenancy, passkey_id)
        return answer(
            {"credentialId": p["credentialId"], "userId": p["userHandle"], "rpId": p["rpId"]}
        )

    @api.get("/<tenancy>/credentials/<ids>")
    def credentials(tenancy: str, ids: str) -> Response:
        found = [backend.get_record(tenancy, i) for i in ids.split(",") if i]
        if not found:
            raise not_found("Passkey not found")
        return answer(
            {
                "rpId": backend.rp_id,
                "userId": found[0]["userHandle"],
                "allAcceptedCredentialIds": [p["credentialId"] for p in found],
            }
        )

    return api
