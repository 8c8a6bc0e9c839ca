"""The emulator's HTTP server and in-memory state."""

from __future__ import annotations

import hmac
import json
import secrets
import ssl
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

import jwt
import webauthn
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask, Response, abort, g, jsonify, request
from webauthn.helpers import bytes_to_base64url
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from .wsgi import RESET_KEY, make_server, serve_in_thread

#: How long a code, a ceremony session and an id_token live, in seconds (as Passlock).
CODE_TTL = 300

#: Names Passlock shows for well-known authenticator AAGUIDs.
PLATFORM_NAMES = {
    "fbfc3007-154e-4ecc-8c0b-6e020557d7bd": "iCloud Keychain",
    "dd4ec289-e01d-41c9-bb89-70fa845d4bf2": "iCloud Keychain (Managed)",
    "ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4": "Google Password Manager",
    "adce0002-35bc-c60a-648b-0b25f1f05503": "Chrome on Mac",
    "08987058-cadc-4b81-b6e1-30de50dcbe96": "Windows Hello",
    "bada5566-a7aa-401f-bd96-45619a55120d": "1Password",
    "d548826e-79b4-db40-a3d8-11116f7e8349": "Bitwarden",
}


@dataclass
class Fault:
    """A failure the emulator answers with instead of the next REST call(s).

    :param status: HTTP status to answer with.
    :param body: raw body bytes.
    :param content_type: ``Content-Type`` of the answer.
    :param delay: seconds to wait first (past the client's read timeout, say).
    :param reset: drop the connection (TCP RST) instead of answering.
    :param headers: extra headers, e.g. ``{"Retry-After": "30"}``.
    """

    status: int = 500
    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    delay: float = 0.0
    reset: bool = False
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class IssuedCode:
    """A code minted by :meth:`PasslockEmulator.issue_code`, as the browser would get it."""

    code: str
    id_token: str
    authenticator_id: str
    user_id: str
    principal: dict[str, Any]


def _now_ms() -> int:
    return int(time.time() * 1000)


def _error(tag: str, message: str, status: int, **extra: Any) -> Response:
    response = jsonify({"_tag": tag, "message": message, **extra})
    response.status_code = status
    return response


class PasslockEmulator:
    """An in-memory Passlock on loopback.

    :param tenancy_id: the tenancy it serves (more with :meth:`add_tenancy`).
    :param api_key: that tenancy's API key; a random one when left out.
    :param host: address to bind. :param port: port to bind; 0 picks a free one.
    :param rp_id: the WebAuthn relying party ID (the app's host name).
    :param public_host: host name in :attr:`url` (default: ``host``).
    :param tls: ``(certfile, keyfile)`` to serve HTTPS instead of HTTP.
    """

    def __init__(
        self,
        tenancy_id: str = "emulator",
        api_key: str | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        rp_id: str = "localhost",
        rp_name: str = "Passlock emulator",
        public_host: str | None = None,
        code_ttl: int = CODE_TTL,
        tls: tuple[str, str] | None = None,
    ) -> None:
        self.tenancy_id = tenancy_id
        self.api_key = api_key or "emulator-" + secrets.token_urlsafe(18)
        self.host = host
        self.port = port
        self.rp_id = rp_id
        self.rp_name = rp_name
        self.code_ttl = code_ttl
        self.public_host = public_host or host
        self.tls = tls
        self._tenancies: dict[str, str] = {tenancy_id: self.api_key}
        self._lock = threading.RLock()
        self._passkeys: dict[str, dict[str, Any]] = {}
        self._sessions: dict[str, dict[str, Any]] = {}
        self._codes: dict[str, tuple[str, dict[str, Any], float]] = {}
        self._faults: list[Fault] = []
        #: Every request served, as ``(method, raw request URI)``.
        self.requests: list[tuple[str, str]] = []
        #: Peer ``(host, port)`` of each REST call (to see connection reuse).
        self.peers: list[tuple[str, int]] = []
        self._keys: list[tuple[str, rsa.RSAPrivateKey]] = []
        self.rotate_keys()
        self.app = self._build_app()
        self._server: Any = None
        self._thread: threading.Thread | None = None

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> PasslockEmulator:
        """Start serving in a background thread; returns ``self``."""
        if self._server is not None:
            return self
        context = None
        if self.tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*self.tls)
        self._server = make_server(self.host, self.port, self.app, context)
        self.port = self._server.server_address[1]
        self._thread = serve_in_thread(self._server, "passlock-emulator")
        return self

    def stop(self) -> None:
        """Stop serving."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def serve_until_interrupted(self, echo: Callable[[str], object] = print) -> None:
        """Start, print the config an app needs, and serve until Ctrl-C (command line use)."""
        self.start()
        echo(f"Passlock emulator on {self.url}; configure your app with:")
        for key, value in self.app_config().items():
            echo(f"  {key}={value}")
        sys.stdout.flush()
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    def __enter__(self) -> PasslockEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Base URL, ending in ``/``."""
        scheme = "https" if self.tls else "http"
        return f"{scheme}://{self.public_host}:{self.port}/"

    @property
    def client_url(self) -> str:
        """URL of the emulator's ES module (the stand-in for ``@passlock/client/safe``)."""
        return self.url + "client.js"

    def app_config(self) -> dict[str, str]:
        """The ``PASSLOCK_*`` config an app needs to use this emulator."""
        return {
            "PASSLOCK_TENANCY_ID": self.tenancy_id,
            "PASSLOCK_API_KEY": self.api_key,
            "PASSLOCK_ENDPOINT": self.url,
            "PASSLOCK_CLIENT_URL": self.client_url,
        }

    # -- test helpers -----------------------------------------------------------------------

    def add_tenancy(self, tenancy_id: str, api_key: str) -> None:
        with self._lock:
            self._tenancies[tenancy_id] = api_key

    def rotate_keys(self) -> str:
        """Start signing id_tokens with a new RSA key (the old one stays in the JWKS);
        returns the new ``kid``."""
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        kid = secrets.token_hex(8)
        with self._lock:
            self._keys.insert(0, (kid, key))
            del self._keys[2:]
        return kid

    def inject(self, fault: Fault, times: int = 1) -> None:
        """Answer the next ``times`` REST calls (``/{t}/principal``, ``/{t}/passkeys``) with
        ``fault`` instead."""
        with self._lock:
            self._faults.extend([fault] * times)

    @property
    def passkeys(self) -> dict[str, dict[str, Any]]:
        """Passkey records by passkey ID (a copy)."""
        with self._lock:
            return {k: dict(v) for k, v in self._passkeys.items()}

    def issue_code(
        self,
        *,
        username: str = "user",
        authenticator_id: str | None = None,
        user_verified: bool = True,
        platform_name: str | None = None,
        tenancy_id: str | None = None,
    ) -> IssuedCode:
        """Mint a code as a finished ceremony would, without a browser: for a new passkey
        (registration), or for ``authenticator_id`` (sign-in with an existing one)."""
        tenancy = tenancy_id or self.tenancy_id
        with self._lock:
            if authenticator_id is None or authenticator_id not in self._passkeys:
                passkey = self._new_passkey(
                    tenancy,
                    passkey_id=authenticator_id,
                    credential_id=secrets.token_bytes(16),
                    public_key=b"",
                    username=username,
                    aaguid="00000000-0000-0000-0000-000000000000",
                    rp_id=self.rp_id,
                    platform_name=platform_name,
                )
            else:
                passkey = self._passkeys[authenticator_id]
            principal, code, id_token = self._complete(tenancy, passkey, user_verified, {})
        return IssuedCode(code, id_token, passkey["id"], passkey["userId"], principal)

    # -- internals --------------------------------------------------------------------------

    def _new_passkey(
        self,
        tenancy: str,
        *,
        credential_id: bytes,
        public_key: bytes,
        username: str,
        aaguid: str,
        rp_id: str,
        passkey_id: str | None = None,
        platform_name: str | None = None,
        backed_up: bool = False,
        device_type: str = "singleDevice",
        transports: list[str] | None = None,
        user_handle: str | None = None,
    ) -> dict[str, Any]:
        passkey_id = passkey_id or secrets.token_urlsafe(16)
        now = _now_ms()
        record: dict[str, Any] = {
            "id": passkey_id,
            "tenancyId": tenancy,
            "userId": passkey_id,
            "credentialId": bytes_to_base64url(credential_id),
            "publicKey": public_key,
            "counter": 0,
            "username": username,
            "userHandle": user_handle or bytes_to_base64url(secrets.token_bytes(16)),
            "aaguid": aaguid,
            "rpId": rp_id,
            "platformName": platform_name or PLATFORM_NAMES.get(aaguid),
            "backedUp": backed_up,
            "deviceType": device_type,
            "transports": transports or [],
            "enabled": True,
            "createdAt": now,
            "updatedAt": now,
            "lastUsed": None,
        }
        self._passkeys[passkey_id] = record
        return record

    def _complete(
        self, tenancy: str, passkey: dict[str, Any], user_verified: bool, metadata: dict[str, Any]
    ) -> tuple[dict[str, Any], str, str]:
        now = _now_ms()
        principal: dict[str, Any] = {
            "_tag": "ExtendedPrincipal",
            "id": secrets.token_urlsafe(16),
            "authenticatorId": passkey["id"],
            "authenticatorType": "passkey",
            "createdAt": now,
            "expiresAt": now + self.code_ttl * 1000,
            "userId": passkey["userId"],
            "passkey": {"userVerified": user_verified, "verified": True},
            "metadata": metadata,
        }
        if passkey.get("platformName"):
            principal["passkey"]["platformName"] = passkey["platformName"]
        code = secrets.token_urlsafe(32)
        self._codes[code] = (tenancy, principal, time.time() + self.code_ttl)
        kid, key = self._keys[0]
        claims = {
            "iss": "passlock.dev",
            "aud": tenancy,
            "sub": passkey["userId"],
            "jti": principal["id"],
            "iat": now // 1000,
            "exp": now // 1000 + self.code_ttl,
            "a:id": passkey["id"],
            "a:typ": "passkey",
            "pk:uv": user_verified,
        }
        id_token = jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})
        return principal, code, id_token

    def _passkey_json(self, p: dict[str, Any]) -> dict[str, Any]:
        record: dict[str, Any] = {
            "_tag": "Passkey",
            "id": p["id"],
            "userId": p["userId"],
            "credential": {
                "id": p["credentialId"],
                "userId": p["userHandle"],
                "username": p["username"],
                "aaguid": p["aaguid"],
                "backedUp": p["backedUp"],
                "counter": p["counter"],
                "deviceType": p["deviceType"],
                "transports": p["transports"],
                "publicKey": bytes_to_base64url(p["publicKey"]),
                "rpId": p["rpId"],
            },
            "enabled": p["enabled"],
            "createdAt": p["createdAt"],
            "updatedAt": p["updatedAt"],
        }
        if p.get("platformName"):
            record["platform"] = {"name": p["platformName"], "icon": None}
        if p.get("lastUsed"):
            record["lastUsed"] = p["lastUsed"]
        return record

    def _build_app(self) -> Flask:
        app = Flask("flask_passlock.emulator")
        _routes(app, self)
        return app


# -- the HTTP API -----------------------------------------------------------------------------


def _routes(app: Flask, emu: PasslockEmulator) -> None:  # noqa: C901 - one route table
    def tenancy_or_404(tenancy: str) -> str:
        if tenancy not in emu._tenancies:
            abort(_error("@error/NotFound", "Unknown tenancy", 404))
        return tenancy

    def require_api_key(tenancy: str) -> None:
        expected = emu._tenancies.get(tenancy)
        header = request.headers.get("Authorization", "")
        given = header[7:] if header.startswith("Bearer ") else ""
        if expected is None or not hmac.compare_digest(given.encode(), expected.encode()):
            abort(_error("@error/Forbidden", "Forbidden", 403))

    def json_body() -> dict[str, Any]:
        data = request.get_json(silent=True)
        if not isinstance(data, dict):
            abort(_error("@error/BadRequest", "Expected a JSON object", 400))
        return data

    def check_origin() -> str:
        origin = request.headers.get("Origin", "")
        host = urlsplit(origin).hostname or ""
        if not (host == emu.rp_id or host.endswith("." + emu.rp_id)):
            abort(_error("@error/BadRequest", f"Origin does not match RP ID {emu.rp_id}", 400))
        return origin

    def maybe_fault() -> Response | None:
        with emu._lock:
            fault = emu._faults.pop(0) if emu._faults else None
        if fault is None:
            return None
        if fault.delay:
            time.sleep(fault.delay)
        if fault.reset:
            request.environ[RESET_KEY] = True
        response = Response(fault.body, status=fault.status, content_type=fault.content_type)
        response.headers.update(fault.headers)
        return response

    @app.before_request
    def record() -> Response | None:
        uri = request.environ.get("REQUEST_URI") or request.full_path
        with emu._lock:
            emu.requests.append((request.method, uri))
        g.rest = False
        return None

    @app.after_request
    def cors(response: Response) -> Response:
        response.headers["Access-Control-Allow-Origin"] = "*"
        if request.method == "OPTIONS":
            response.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
            response.headers["Access-Control-Allow-Headers"] = "content-type"
            response.headers["Access-Control-Max-Age"] = "600"
        return response

    @app.errorhandler(404)
    def not_found(_: Exception) -> Response:
        return _error("@error/NotFound", "Not found", 404)

    @app.errorhandler(405)
    def not_allowed(_: Exception) -> Response:
        return _error("@error/MethodNotAllowed", "Method not allowed", 405)

    @app.get("/client.js")
    def client_js() -> Response:
        source = resources.files(__package__).joinpath("client.js").read_text("utf-8")
        return Response(source, content_type="text/javascript; charset=utf-8")

    @app.get("/.well-known/jwks.json")
    def jwks() -> Response:
        keys = []
        with emu._lock:
            for kid, key in emu._keys:
                jwk = jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
                keys.append({**jwk, "kid": kid, "alg": "RS256", "use": "sig"})
        return jsonify({"keys": keys})

    # -- REST (Bearer API key) --------------------------------------------------------------

    def rest_call(tenancy: str) -> Response | None:
        with emu._lock:
            emu.peers.append(
                (request.environ.get("REMOTE_ADDR", ""), int(request.environ.get("REMOTE_PORT", 0)))
            )
        fault = maybe_fault()
        if fault is not None:
            return fault
        require_api_key(tenancy)
        return None

    @app.route("/<tenancy>/principal/<path:code>", methods=["GET", "POST"])
    def principal(tenancy: str, code: str) -> Response:
        early = rest_call(tenancy)
        if early is not None:
            return early
        with emu._lock:
            entry = emu._codes.pop(code, None)
        if entry is None or entry[0] != tenancy or entry[2] < time.time():
            return _error("@error/InvalidCode", "Invalid code", 404)
        body = request.get_json(silent=True) if request.method == "POST" else None
        if isinstance(body, dict) and isinstance(body.get("userId"), str):
            with emu._lock:
                passkey = emu._passkeys.get(entry[1]["authenticatorId"])
                if passkey is not None:
                    passkey["userId"] = body["userId"]
            return jsonify({**entry[1], "userId": body["userId"]})
        return jsonify(entry[1])

    def find_passkey(tenancy: str, passkey_id: str) -> dict[str, Any]:
        passkey = emu._passkeys.get(passkey_id)
        if passkey is None or passkey["tenancyId"] != tenancy:
            abort(_error("@error/NotFound", "Passkey not found", 404))
        return passkey

    @app.route("/<tenancy>/passkeys/<passkey_id>", methods=["GET", "DELETE", "PATCH"])
    def passkey(tenancy: str, passkey_id: str) -> Response | tuple[Response, int]:
        early = rest_call(tenancy)
        if early is not None:
            return early
        with emu._lock:
            record = find_passkey(tenancy, passkey_id)
            if request.method == "DELETE":
                del emu._passkeys[passkey_id]
                return jsonify(emu._passkey_json(record)), 202
            if request.method == "PATCH":
                body = json_body()
                for key, attr in (("userId", "userId"), ("username", "username")):
                    if isinstance(body.get(key), str):
                        record[attr] = body[key]
                record["updatedAt"] = _now_ms()
            return jsonify(emu._passkey_json(record))

    @app.get("/<tenancy>/passkeys/")
    def passkeys(tenancy: str) -> Response:
        early = rest_call(tenancy)
        if early is not None:
            return early
        with emu._lock:
            records = [
                {
                    "_tag": "PasskeySummary",
                    "id": p["id"],
                    "userId": p["userId"],
                    "credential": {"id": p["credentialId"], "userId": p["userHandle"]},
                    "enabled": p["enabled"],
                    "createdAt": p["createdAt"],
                    **({"lastUsed": p["lastUsed"]} if p["lastUsed"] else {}),
                }
                for p in emu._passkeys.values()
                if p["tenancyId"] == tenancy
            ]
        return jsonify({"_tag": "FindAllPasskeys", "cursor": None, "records": records})

    @app.post("/<tenancy>/_emulator/codes")
    def mint_code(tenancy: str) -> tuple[Response, int]:
        """Emulator only: mint a code without a browser (Bearer API key)."""
        require_api_key(tenancy)
        body = request.get_json(silent=True) or {}
        issued = emu.issue_code(
            username=str(body.get("username") or "user"),
            authenticator_id=body.get("authenticatorId"),
            user_verified=bool(body.get("userVerified", True)),
            platform_name=body.get("platformName"),
            tenancy_id=tenancy,
        )
        return jsonify(
            code=issued.code,
            id_token=issued.id_token,
            authenticatorId=issued.authenticator_id,
            userId=issued.user_id,
        ), 201

    # -- browser endpoints (unauthenticated, CORS) ------------------------------------------

    def descriptors(tenancy: str, ids: Any) -> list[PublicKeyCredentialDescriptor]:
        if not isinstance(ids, list):
            return []
        result = []
        with emu._lock:
            for passkey_id in ids:
                p = emu._passkeys.get(passkey_id) if isinstance(passkey_id, str) else None
                if p is not None and p["tenancyId"] == tenancy:
                    result.append(
                        PublicKeyCredentialDescriptor(
                            id=webauthn.base64url_to_bytes(p["credentialId"])
                        )
                    )
        return result

    def user_verification(body: dict[str, Any]) -> UserVerificationRequirement:
        try:
            return UserVerificationRequirement(body.get("userVerification") or "preferred")
        except ValueError:
            abort(_error("@error/BadRequest", "Invalid userVerification", 400))

    def timeout(body: dict[str, Any]) -> int:
        value = body.get("timeout")
        return value if isinstance(value, int) and 1000 <= value <= 600_000 else 60_000

    def options_answer(options: Any, **session_data: Any) -> Response:
        """Store a ceremony session and answer ``{sessionToken, optionsJSON}``."""
        token = secrets.token_urlsafe(24)
        with emu._lock:
            now = time.time()
            for key in [k for k, s in emu._sessions.items() if s["expires"] < now]:
                del emu._sessions[key]
            emu._sessions[token] = {**session_data, "expires": now + emu.code_ttl}
        return jsonify(
            sessionToken=token, optionsJSON=json.loads(webauthn.options_to_json(options))
        )

    def begin_verification(tenancy: str, kind: str) -> tuple[dict[str, Any], dict[str, Any], str]:
        """The body, the ceremony session it names, and the page origin of a verification."""
        tenancy_or_404(tenancy)
        body = json_body()
        session = take_session(tenancy, body, kind)
        return body, session, check_origin()

    def success(tag: str, passkey: dict[str, Any], id_token: str, code: str) -> Response:
        return jsonify(
            _tag=tag,
            principal={"authenticatorId": passkey["id"], "userId": passkey["userId"]},
            id_token=id_token,
            code=code,
        )

    def take_session(tenancy: str, body: dict[str, Any], kind: str) -> dict[str, Any]:
        token = body.get("sessionToken")
        with emu._lock:
            session = emu._sessions.pop(token, None) if isinstance(token, str) else None
        if (
            session is None
            or session["tenancy"] != tenancy
            or session["kind"] != kind
            or session["expires"] < time.time()
        ):
            abort(_error("@error/BadRequest", "Unknown or expired session", 400))
        return session

    def metadata() -> dict[str, Any]:
        data = {"ipAddress": request.remote_addr, "userAgent": request.user_agent.string}
        return {k: v for k, v in data.items() if v}

    @app.post("/<tenancy>/passkey/registration/options")
    def registration_options(tenancy: str) -> Response:
        tenancy_or_404(tenancy)
        body = json_body()
        username = body.get("username")
        if not isinstance(username, str) or not username.strip():
            return _error("@error/BadRequest", "username is required", 400)
        display_name = body.get("displayName")
        uv = user_verification(body)
        user_handle = secrets.token_bytes(16)
        options = webauthn.generate_registration_options(
            rp_id=emu.rp_id,
            rp_name=emu.rp_name,
            user_name=username,
            user_id=user_handle,
            user_display_name=display_name if isinstance(display_name, str) else username,
            timeout=timeout(body),
            authenticator_selection=AuthenticatorSelectionCriteria(
                resident_key=ResidentKeyRequirement.REQUIRED, user_verification=uv
            ),
            exclude_credentials=descriptors(tenancy, body.get("excludeCredentials")),
        )
        return options_answer(
            options,
            kind="registration",
            tenancy=tenancy,
            challenge=options.challenge,
            username=username,
            user_handle=bytes_to_base64url(user_handle),
            uv=uv,
        )

    @app.post("/<tenancy>/passkey/registration/verification")
    def registration_verification(tenancy: str) -> Response:
        body, session, origin = begin_verification(tenancy, "registration")
        try:
            verified = webauthn.verify_registration_response(
                credential=body.get("response"),  # type: ignore[arg-type]
                expected_challenge=session["challenge"],
                expected_rp_id=emu.rp_id,
                expected_origin=origin,
                require_user_verification=session["uv"] == UserVerificationRequirement.REQUIRED,
            )
        except (WebAuthnException, ValueError, TypeError, KeyError) as exc:
            return _error("@error/VerificationFailure", f"Registration not verified: {exc}", 400)
        response = body["response"]
        transports = (
            response.get("response", {}).get("transports") if isinstance(response, dict) else None
        )
        with emu._lock:
            passkey = emu._new_passkey(
                tenancy,
                credential_id=verified.credential_id,
                public_key=verified.credential_public_key,
                username=session["username"],
                aaguid=verified.aaguid,
                rp_id=emu.rp_id,
                backed_up=verified.credential_backed_up,
                device_type="multiDevice"
                if verified.credential_device_type == "multi_device"
                else "singleDevice",
                transports=transports if isinstance(transports, list) else [],
                user_handle=session["user_handle"],
            )
            passkey["counter"] = verified.sign_count
            principal, code, id_token = emu._complete(
                tenancy, passkey, verified.user_verified, metadata()
            )
        return success("RegistrationSuccess", passkey, id_token, code)

    @app.post("/<tenancy>/passkey/authentication/options")
    def authentication_options(tenancy: str) -> Response:
        tenancy_or_404(tenancy)
        body = json_body()
        allowed = descriptors(tenancy, body.get("allowCredentials"))
        uv = user_verification(body)
        options = webauthn.generate_authentication_options(
            rp_id=emu.rp_id,
            timeout=timeout(body),
            allow_credentials=allowed,
            user_verification=uv,
        )
        return options_answer(
            options,
            kind="authentication",
            tenancy=tenancy,
            challenge=options.challenge,
            allowed=[bytes_to_base64url(d.id) for d in allowed],
            uv=uv,
        )

    @app.post("/<tenancy>/passkey/authentication/verification")
    def authentication_verification(tenancy: str) -> Response:
        body, session, origin = begin_verification(tenancy, "authentication")
        response = body.get("response")
        credential_id = response.get("id") if isinstance(response, dict) else None
        with emu._lock:
            passkey = next(
                (
                    p
                    for p in emu._passkeys.values()
                    if p["tenancyId"] == tenancy and p["credentialId"] == credential_id
                ),
                None,
            )
        if passkey is None:
            return _error(
                "@error/PasskeyNotFound",
                "Passkey not found",
                400,
                credentialId=credential_id if isinstance(credential_id, str) else "",
                rpId=emu.rp_id,
            )
        if session["allowed"] and passkey["credentialId"] not in session["allowed"]:
            return _error("@error/VerificationFailure", "Credential not allowed", 400)
        try:
            verified = webauthn.verify_authentication_response(
                credential=response,  # type: ignore[arg-type]
                expected_challenge=session["challenge"],
                expected_rp_id=emu.rp_id,
                expected_origin=origin,
                credential_public_key=passkey["publicKey"],
                credential_current_sign_count=passkey["counter"],
                require_user_verification=session["uv"] == UserVerificationRequirement.REQUIRED,
            )
        except (WebAuthnException, ValueError, TypeError, KeyError) as exc:
            return _error("@error/VerificationFailure", f"Authentication not verified: {exc}", 400)
        with emu._lock:
            passkey["counter"] = verified.new_sign_count
            passkey["lastUsed"] = _now_ms()
            principal, code, id_token = emu._complete(
                tenancy, passkey, verified.user_verified, metadata()
            )
        return success("AuthenticationSuccess", passkey, id_token, code)

    # -- signal helpers (unauthenticated) ---------------------------------------------------

    @app.get("/<tenancy>/credential/<passkey_id>")
    def credential(tenancy: str, passkey_id: str) -> Response:
        tenancy_or_404(tenancy)
        with emu._lock:
            p = find_passkey(tenancy, passkey_id)
            return jsonify(credentialId=p["credentialId"], userId=p["userHandle"], rpId=p["rpId"])

    @app.get("/<tenancy>/credentials/<ids>")
    def credentials(tenancy: str, ids: str) -> Response:
        tenancy_or_404(tenancy)
        with emu._lock:
            found = [find_passkey(tenancy, i) for i in ids.split(",") if i]
        if not found:
            return _error("@error/NotFound", "Passkey not found", 404)
        return jsonify(
            rpId=emu.rp_id,
            userId=found[0]["userHandle"],
            allAcceptedCredentialIds=[p["credentialId"] for p in found],
        )
