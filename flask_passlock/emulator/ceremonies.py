"""The WebAuthn ceremonies behind the browser endpoints, verified for real with ``webauthn``."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

import webauthn
from webauthn.helpers import bytes_to_base64url
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from .backend import PasslockBackend
from .codes import IssuedCode
from .errors import ApiError, bad_request

VERIFY_ERRORS = (WebAuthnException, ValueError, TypeError, KeyError)
T = TypeVar("T")


def _user_verification(body: dict[str, Any]) -> UserVerificationRequirement:
    try:
        return UserVerificationRequirement(body.get("userVerification") or "preferred")
    except ValueError:
        raise bad_request("Invalid userVerification") from None


def _timeout(body: dict[str, Any]) -> int:
    value = body.get("timeout")
    return value if isinstance(value, int) and 1000 <= value <= 600_000 else 60_000


def _verified(what: str, verify: Callable[..., T], **arguments: Any) -> T:
    """``verify(**arguments)``; any failure is ``@error/VerificationFailure``."""
    try:
        return verify(**arguments)
    except VERIFY_ERRORS as exc:
        raise ApiError("@error/VerificationFailure", f"{what} not verified: {exc}") from None


def success(tag: str, issued: IssuedCode) -> dict[str, Any]:
    """``{_tag, principal: {authenticatorId, userId}, id_token, code}``."""
    return {
        "_tag": tag,
        "principal": {"authenticatorId": issued.authenticator_id, "userId": issued.user_id},
        "id_token": issued.id_token,
        "code": issued.code,
    }


class Ceremonies:
    """Registration and authentication for the tenancies of ``backend``."""

    def options(self, kind: str, tenancy: str, body: dict[str, Any]) -> dict[str, Any]:
        """``POST /{t}/passkey/{kind}/options``."""
        if kind == "registration":
            return self.registration_options(tenancy, body)
        return self.authentication_options(tenancy, body)

    def verification(
        self, kind: str, tenancy: str, body: dict[str, Any], origin: str, metadata: dict[str, Any]
    ) -> dict[str, Any]:
        """``POST /{t}/passkey/{kind}/verification``."""
        if kind == "registration":
            return self.registration_verification(tenancy, body, origin, metadata)
        return self.authentication_verification(tenancy, body, origin, metadata)

    def __init__(self, backend: PasslockBackend, rp_name: str) -> None:
        self.backend = backend
        self.rp_name = rp_name

    def check_origin(self, origin: str) -> str:
        """The page origin, refused unless its host is the RP ID or below it."""
        host = urlsplit(origin).hostname or ""
        rp_id = self.backend.rp_id
        if not (host == rp_id or host.endswith("." + rp_id)):
            raise bad_request(f"Origin does not match RP ID {rp_id}")
        return origin

    def _descriptors(self, tenancy: str, ids: Any) -> list[PublicKeyCredentialDescriptor]:
        return [
            PublicKeyCredentialDescriptor(id=webauthn.base64url_to_bytes(credential_id))
            for credential_id in self.backend.credential_ids(tenancy, ids)
        ]

    def _begin(
        self, tenancy: str, kind: str, body: dict[str, Any], origin: str
    ) -> tuple[dict[str, Any], Any]:
        """The ceremony's session (used up) and the browser's response, from a page at an
        origin of the RP ID."""
        session = self.backend.take_session(tenancy, kind, body.get("sessionToken"))
        self.check_origin(origin)
        return session, body.get("response")

    def _expected(self, session: dict[str, Any], origin: str) -> dict[str, Any]:
        """What a ceremony's answer must match: its challenge, RP ID, origin and UV rule."""
        return {
            "expected_challenge": session["challenge"],
            "expected_rp_id": self.backend.rp_id,
            "expected_origin": origin,
            "require_user_verification": session["uv"] == UserVerificationRequirement.REQUIRED,
        }

    def _options(self, tenancy: str, kind: str, options: Any, **session: Any) -> dict[str, Any]:
        token = self.backend.open_session(tenancy, kind, challenge=options.challenge, **session)
        return {"sessionToken": token, "optionsJSON": json.loads(webauthn.options_to_json(options))}

    def registration_options(self, tenancy: str, body: dict[str, Any]) -> dict[str, Any]:
        username = body.get("username")
        if not isinstance(username, str) or not username.strip():
            raise bad_request("username is required")
        display_name = body.get("displayName")
        uv = _user_verification(body)
        user_handle = secrets.token_bytes(16)
        options = webauthn.generate_registration_options(
            rp_id=self.backend.rp_id,
            rp_name=self.rp_name,
            user_name=username,
            user_id=user_handle,
            user_display_name=display_name if isinstance(display_name, str) else username,
            timeout=_timeout(body),
            authenticator_selection=AuthenticatorSelectionCriteria(
                resident_key=ResidentKeyRequirement.REQUIRED, user_verification=uv
            ),
            exclude_credentials=self._descriptors(tenancy, body.get("excludeCredentials")),
        )
        return self._options(
            tenancy,
            "registration",
            options,
            username=username,
            user_handle=bytes_to_base64url(user_handle),
            uv=uv,
        )

    def registration_verification(
        self, tenancy: str, body: dict[str, Any], origin: str, metadata: dict[str, Any]
    ) -> dict[str, Any]:
        session, response = self._begin(tenancy, "registration", body, origin)
        verified = _verified(
            "Registration",
            webauthn.verify_registration_response,
            credential=response,
            **self._expected(session, origin),
        )
        assert isinstance(response, dict)
        transports = (response.get("response") or {}).get("transports")
        issued = self.backend.register_passkey(
            tenancy,
            user_verified=verified.user_verified,
            metadata=metadata,
            credential_id=verified.credential_id,
            public_key=verified.credential_public_key,
            username=session["username"],
            user_handle=session["user_handle"],
            aaguid=verified.aaguid,
            rp_id=self.backend.rp_id,
            backed_up=verified.credential_backed_up,
            device_type="multiDevice"
            if verified.credential_device_type == "multi_device"
            else "singleDevice",
            transports=transports if isinstance(transports, list) else [],
            counter=verified.sign_count,
        )
        return success("RegistrationSuccess", issued)

    def authentication_options(self, tenancy: str, body: dict[str, Any]) -> dict[str, Any]:
        allowed = self._descriptors(tenancy, body.get("allowCredentials"))
        uv = _user_verification(body)
        options = webauthn.generate_authentication_options(
            rp_id=self.backend.rp_id,
            timeout=_timeout(body),
            allow_credentials=allowed,
            user_verification=uv,
        )
        return self._options(
            tenancy,
            "authentication",
            options,
            allowed=[bytes_to_base64url(d.id) for d in allowed],
            uv=uv,
        )

    def authentication_verification(
        self, tenancy: str, body: dict[str, Any], origin: str, metadata: dict[str, Any]
    ) -> dict[str, Any]:
        session, response = self._begin(tenancy, "authentication", body, origin)
        credential_id = response.get("id") if isinstance(response, dict) else None
        passkey = self.backend.find_by_credential(tenancy, credential_id)
        if passkey is None:
            raise ApiError(
                "@error/PasskeyNotFound",
                credentialId=credential_id if isinstance(credential_id, str) else "",
                rpId=self.backend.rp_id,
            )
        if session["allowed"] and passkey["credentialId"] not in session["allowed"]:
            raise ApiError("@error/VerificationFailure", "Credential not allowed")
        verified = _verified(
            "Authentication",
            webauthn.verify_authentication_response,
            credential=response,
            credential_public_key=passkey["publicKey"],
            credential_current_sign_count=passkey["counter"],
            **self._expected(session, origin),
        )
        issued = self.backend.authenticate_passkey(
            tenancy,
            passkey["id"],
            user_verified=verified.user_verified,
            metadata=metadata,
            counter=verified.new_sign_count,
        )
        return success("AuthenticationSuccess", issued)
