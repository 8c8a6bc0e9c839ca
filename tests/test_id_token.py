"""PASSLOCK_VERIFY_ID_TOKEN: local id_token verification instead of the code exchange."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import time
from contextlib import contextmanager

import jwt
import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from flask_passlock import signals

from .helpers import app_parts, build_app, claims_for, listen_to, statements_sent


@pytest.fixture
def parts(emulator, database_url):
    with app_parts(emulator, database_url, PASSLOCK_VERIFY_ID_TOKEN=True) as built:
        yield built


@pytest.fixture
def passkey_id(parts, emulator):
    _, _, (passkey_id,) = parts.user_with_passkeys(emulator, "ada", field="id_token")
    return passkey_id


def sign(emulator, claims, *, kid=None, key=None, alg="RS256"):
    current_kid, current_key = emulator.signing_key()
    return jwt.encode(
        claims, key or current_key, algorithm=alg, headers={"kid": kid or current_kid}
    )


def login(parts, token, **extra):
    return parts.app.test_client().post("/passkey/login", json={"id_token": token, **extra})


def refused(parts, token, status=400, code="invalid_id_token"):
    """The reason a refused sign-in was refused for (logged, never shown to the user)."""
    with listen_to(signals.exchange_failed) as heard:
        response = login(parts, token)
    assert response.status_code == status, response.get_json()
    assert response.get_json()["code"] == code
    (event,) = heard
    assert event["action"] == "login" and event["error"].code == code
    return event["error"].reason


def principal_calls(emulator):
    return sum(1 for _, uri in emulator.requests if "/principal/" in uri)


def jwks_calls(emulator):
    return sum(1 for _, uri in emulator.requests if uri.endswith("/jwks.json"))


def test_good_token_signs_in_without_calling_passlock(parts, emulator, passkey_id):
    login(parts, sign(emulator, claims_for(emulator, passkey_id)))  # warms the JWKS cache
    before = len(emulator.requests)
    response = login(parts, emulator.issue_code(authenticator_id=passkey_id).id_token)
    assert response.status_code == 200, response.get_json()
    assert len(emulator.requests) == before  # no call to Passlock at all


def test_code_still_works_without_id_token(parts, emulator, passkey_id):
    before = principal_calls(emulator)
    code = emulator.issue_code(authenticator_id=passkey_id).code
    response = parts.app.test_client().post("/passkey/login", json={"code": code})
    assert response.status_code == 200
    assert principal_calls(emulator) == before + 1


def test_replayed_jti(parts, emulator, passkey_id):
    token = emulator.issue_code(authenticator_id=passkey_id).id_token
    assert login(parts, token).status_code == 200
    again = login(parts, token)
    assert again.status_code == 400
    assert again.get_json()["code"] == "id_token_replayed"


@contextmanager
def writes_seen(parts):
    """The SQL statements the block sends (their first words) and the ORM flushes it makes."""
    with parts.app.app_context():
        session_class = parts.db.session.session_factory.class_
    seen = {"sql": [], "flushes": 0}

    def flushed(session, context):
        seen["flushes"] += 1

    sa.event.listen(session_class, "after_flush", flushed)
    try:
        with statements_sent(parts) as sent:
            yield seen
    finally:
        sa.event.remove(session_class, "after_flush", flushed)
    for sql in sent:
        words = sql.split()
        seen["sql"].append(" ".join(words[:3] if words[0] == "INSERT" else words[:1]))


def test_the_hot_paths_write_in_one_flush(parts, emulator, passkey_id):
    """Register and sign-in by id_token: the statements of the bare recipe and one ORM flush;
    the one-use row is a plain INSERT (nothing reads it back in the request)."""
    client = parts.app.test_client(user=parts.create_user("bob"))
    register_token = emulator.issue_code().id_token
    login_token = emulator.issue_code(authenticator_id=passkey_id).id_token
    with writes_seen(parts) as seen:
        assert (
            client.post("/passkey/register", json={"id_token": register_token}).status_code == 201
        )
    assert seen == {
        "sql": [
            "SELECT",  # the signed-in user (Flask-Login)
            "INSERT INTO passlock_authenticator",
            "INSERT INTO passlock_used_token",
        ],
        "flushes": 1,
    }
    with writes_seen(parts) as seen:
        assert login(parts, login_token).status_code == 200
    assert seen == {
        "sql": ["SELECT", "UPDATE", "INSERT INTO passlock_used_token"],  # last use, then the row
        "flushes": 1,
    }


BAD_CLAIMS = {
    "wrong aud": ({"aud": "another-tenancy"}, "InvalidAudienceError"),
    "wrong iss": ({"iss": "evil.example"}, "InvalidIssuerError"),
    "expired": ({"exp": int(time.time()) - 3600, "iat": int(time.time()) - 4000}, "expired"),
    "no jti": ({"jti": None}, "MissingRequiredClaimError"),
    "no a:id": ({"a:id": None}, "MissingRequiredClaimError"),
    "no a:typ": ({"a:typ": None}, "MissingRequiredClaimError"),
    "pk:uv not a boolean": ({"pk:uv": "yes"}, "claim 'pk:uv' malformed"),
}


@pytest.mark.parametrize("overrides, reason", BAD_CLAIMS.values(), ids=BAD_CLAIMS.keys())
def test_bad_claims(parts, emulator, passkey_id, overrides, reason):
    claims = {
        k: v for k, v in claims_for(emulator, passkey_id, **overrides).items() if v is not None
    }
    assert refused(parts, sign(emulator, claims)) == reason


def test_a_token_of_another_authenticator_type_is_not_a_passkey(parts, emulator, passkey_id):
    token = sign(emulator, claims_for(emulator, passkey_id, **{"a:typ": "password"}))
    response = login(parts, token)
    assert response.status_code == 400
    assert response.get_json()["code"] == "not_a_passkey"


@pytest.mark.parametrize("uv, status", [(False, 403), (True, 200)])
def test_step_up_reads_user_verification_from_the_token(parts, emulator, passkey_id, uv, status):
    with parts.app.test_client() as client:
        signed_in = client.post(
            "/passkey/login", json={"id_token": sign(emulator, claims_for(emulator, passkey_id))}
        )
        assert signed_in.status_code == 200
        token = sign(emulator, claims_for(emulator, passkey_id, **{"pk:uv": uv}))
        response = client.post("/passkey/verify", json={"id_token": token})
    assert response.status_code == status, response.get_json()
    if not uv:
        assert response.get_json()["code"] == "user_not_verified"


def test_the_key_set_download_has_the_deadline(emulator, tmp_path):
    silent = socket.create_server(("127.0.0.1", 0))  # takes the connection, never answers
    with (
        silent,
        app_parts(
            emulator,
            f"sqlite:///{tmp_path / 'slow.sqlite'}",
            PASSLOCK_VERIFY_ID_TOKEN=True,
            PASSLOCK_TIMEOUT=0.3,
            PASSLOCK_ENDPOINT=f"http://127.0.0.1:{silent.getsockname()[1]}",
        ) as slow,
    ):
        token = sign(emulator, claims_for(emulator, "p"))
        started = time.monotonic()
        reason = refused(slow, token, 503, "passlock_unavailable")
        assert time.monotonic() - started < 2
        assert reason == "deadline passed"


def test_bad_signature(parts, emulator, passkey_id):
    token = sign(emulator, claims_for(emulator, passkey_id))
    header, payload, signature = token.split(".")
    forged = json.loads(base64.urlsafe_b64decode(payload + "=="))
    forged["a:id"] = "someone-else"
    payload = base64.urlsafe_b64encode(json.dumps(forged).encode()).rstrip(b"=").decode()
    assert refused(parts, f"{header}.{payload}.{signature}") == "InvalidSignatureError"


def test_signed_by_another_key_with_a_known_kid(parts, emulator, passkey_id):
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = sign(emulator, claims_for(emulator, passkey_id), key=other)
    assert refused(parts, token) == "InvalidSignatureError"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_alg_none(parts, emulator, passkey_id):
    kid = emulator.signing_key()[0]
    header = b64(json.dumps({"alg": "none", "typ": "JWT", "kid": kid}).encode())
    payload = b64(json.dumps(claims_for(emulator, passkey_id)).encode())
    assert refused(parts, f"{header}.{payload}.") == "algorithm 'none' not allowed"
    assert refused(parts, f"{header}.{payload}") == "not a JWT"


def test_hs256_with_the_public_key_as_secret(parts, emulator, passkey_id):
    kid, key = emulator.signing_key()
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode())
    payload = b64(json.dumps(claims_for(emulator, passkey_id)).encode())
    signature = b64(hmac.new(public_pem, f"{header}.{payload}".encode(), hashlib.sha256).digest())
    token = f"{header}.{payload}.{signature}"
    assert refused(parts, token) == "algorithm 'HS256' not allowed"


def test_unknown_kid_refreshes_once_then_refuses(parts, emulator, passkey_id):
    login(parts, emulator.issue_code(authenticator_id=passkey_id).id_token)  # JWKS cached
    before = jwks_calls(emulator)
    token = sign(emulator, claims_for(emulator, passkey_id), kid="no-such-kid")
    assert refused(parts, token) == "unknown kid"
    assert jwks_calls(emulator) == before + 1
    assert refused(parts, token) == "unknown kid"
    assert jwks_calls(emulator) == before + 1  # not again within PASSLOCK_JWKS_MIN_REFRESH


def test_key_rotation_is_picked_up(parts, emulator, passkey_id):
    login(parts, emulator.issue_code(authenticator_id=passkey_id).id_token)
    emulator.rotate_keys()
    response = login(parts, emulator.issue_code(authenticator_id=passkey_id).id_token)
    assert response.status_code == 200, response.get_json()


@pytest.mark.parametrize(
    "token, reason", [("abc", "not a JWT"), ("a.b.c", "not a JWT"), ("x" * 9000, "not a token")]
)
def test_garbage_tokens(parts, emulator, passkey_id, token, reason):
    assert refused(parts, token) == reason


@pytest.mark.parametrize("token", ["", 5])
def test_no_token(parts, emulator, passkey_id, token):
    response = login(parts, token)
    assert response.status_code == 400
    assert response.get_json()["code"] == "bad_request"


def test_hmac_algorithms_cannot_be_configured(emulator, tmp_path):
    with pytest.raises(RuntimeError, match="asymmetric"):
        build_app(
            emulator,
            f"sqlite:///{tmp_path / 'x.sqlite'}",
            PASSLOCK_VERIFY_ID_TOKEN=True,
            PASSLOCK_ID_TOKEN_ALGORITHMS=["RS256", "HS256"],
        )
