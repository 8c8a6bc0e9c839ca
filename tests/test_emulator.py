"""The emulator's own surface: CORS, error bodies, JWKS and id_tokens, the command line."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import jwt
import pytest
import requests

from flask_passlock.emulator import PasslockEmulator


def call(emulator, method, path, *, key=None, tenancy=None, **kwargs) -> requests.Response:
    """A REST call to ``{url}{tenancy}/{path}`` with the Bearer API key (or ``key``)."""
    headers = {"Authorization": f"Bearer {key or emulator.api_key}", **kwargs.pop("headers", {})}
    url = f"{emulator.url}{tenancy or emulator.tenancy_id}/{path}"
    kwargs.setdefault("timeout", 10)
    return requests.request(method, url, headers=headers, **kwargs)


def test_development_defaults_are_fixed():
    emulator = PasslockEmulator()
    assert (emulator.tenancy_id, emulator.api_key) == ("emulator", "emulator-api-key")
    assert emulator.app_config()["PASSLOCK_API_KEY"] == "emulator-api-key"
    assert PasslockEmulator(api_key="mine").api_key == "mine"


def test_cors_preflight_and_headers(emulator):
    url = f"{emulator.url}{emulator.tenancy_id}/passkey/registration/options"
    preflight = requests.options(
        url,
        headers={
            "Origin": "http://localhost:5000",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
        timeout=5,
    )
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == "*"
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    assert "content-type" in preflight.headers["Access-Control-Allow-Headers"]
    answer = requests.post(url, json={"username": "ada"}, timeout=5)
    assert answer.headers["Access-Control-Allow-Origin"] == "*"
    body = answer.json()
    assert body["sessionToken"] and body["optionsJSON"]["rp"]["id"] == "localhost"
    assert body["optionsJSON"]["authenticatorSelection"]["residentKey"] == "required"


@pytest.mark.parametrize(
    "path, body",
    [
        ("passkey/registration/options", {}),
        ("passkey/registration/options", {"username": ""}),
        ("passkey/registration/verification", {"sessionToken": "nope", "response": {}}),
        ("passkey/authentication/verification", {"sessionToken": "nope", "response": {}}),
    ],
)
def test_error_bodies_are_tagged_json(emulator, path, body):
    answer = requests.post(f"{emulator.url}{emulator.tenancy_id}/{path}", json=body, timeout=5)
    assert answer.status_code == 400
    assert answer.headers["Content-Type"] == "application/json"
    assert isinstance(answer.json()["_tag"], str) and isinstance(answer.json()["message"], str)


def test_id_token_claims_verify_with_the_jwks(emulator):
    issued = emulator.issue_code(username="ada")
    keys = requests.get(emulator.url + ".well-known/jwks.json", timeout=5).json()["keys"]
    kid = jwt.get_unverified_header(issued.id_token)["kid"]
    key = jwt.PyJWK(next(k for k in keys if k["kid"] == kid))
    claims = jwt.decode(
        issued.id_token,
        key.key,
        algorithms=["RS256"],
        audience=emulator.tenancy_id,
        issuer="passlock.dev",
    )
    assert claims["a:id"] == issued.authenticator_id and claims["sub"] == issued.user_id
    assert claims["jti"] == issued.principal["id"] and claims["a:typ"] == "passkey"
    assert claims["exp"] - claims["iat"] == 300


def test_client_module_exports_the_client_functions(emulator):
    source = requests.get(emulator.client_url, timeout=5)
    assert source.headers["Content-Type"].startswith("text/javascript")
    for name in ("registerPasskey", "authenticatePasskey", "deletePasskey", "updatePasskey"):
        assert f"export async function {name}(" in source.text


def test_signal_helper_endpoints(emulator):
    issued = emulator.issue_code()
    one = requests.get(
        f"{emulator.url}{emulator.tenancy_id}/credential/{issued.authenticator_id}", timeout=5
    )
    assert set(one.json()) == {"credentialId", "userId", "rpId"}
    many = requests.get(
        f"{emulator.url}{emulator.tenancy_id}/credentials/{issued.authenticator_id}", timeout=5
    )
    assert many.json()["allAcceptedCredentialIds"] == [one.json()["credentialId"]]


def test_mint_codes_over_http(emulator):
    url = f"{emulator.url}{emulator.tenancy_id}/_emulator/codes"
    assert requests.post(url, json={}, timeout=5).status_code == 403
    minted = requests.post(
        url,
        json={"username": "ada"},
        timeout=5,
        headers={"Authorization": f"Bearer {emulator.api_key}"},
    )
    assert minted.status_code == 201 and minted.json()["code"]


@pytest.mark.parametrize(
    "args, key", [([], "emulator-api-key"), (["--api-key", "cli-key"], "cli-key")]
)
def test_command_line(tmp_path, args, key):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "flask_passlock.emulator", "--port", str(port), *args],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        first = process.stdout.readline()
        assert f"127.0.0.1:{port}" in first
        printed = [process.stdout.readline() for _ in range(4)]
        assert f"  PASSLOCK_API_KEY={key}\n" in printed
        for _ in range(50):
            try:
                answer = requests.get(
                    f"http://127.0.0.1:{port}/emulator/passkeys/",
                    timeout=2,
                    headers={"Authorization": f"Bearer {key}"},
                )
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        assert answer.json()["_tag"] == "FindAllPasskeys"
    finally:
        process.terminate()
        process.wait(10)
        process.stdout.close()
