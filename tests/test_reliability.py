"""Fault matrix: every route that calls Passlock, against every fault the emulator can inject.

The emulator runs in a process of its own here (``EmulatorProcess``), as Passlock does: nothing
in the app's process (its threads, its interpreter lock) can hide or cause a failure.

Each case checks: a clear 502/503 in the format asked for (JSON or HTML), no row written or
removed, an ``exchange_failed`` signal or log line without secrets, and the app still serving.
The counts are written to ``test-artifacts/reliability.json`` (see docs/reliability.rst).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from flask_passlock import signals
from flask_passlock.emulator import EmulatorProcess, Fault

from .helpers import listen_to

TIMEOUT = (1.0, 0.3)

FAULTS = {
    "delay past read timeout": (Fault(200, b"{}", "application/json", delay=0.6), 503),
    "connection reset": (Fault(reset=True), 503),
    "500 html": (Fault(500, b"<html><body>Internal Server Error</body></html>"), 503),
    "502 empty": (Fault(502, b""), 503),
    "503 html retry-after": (Fault(503, b"<html>busy</html>", headers={"Retry-After": "30"}), 503),
    "503 empty retry-after": (Fault(503, b"", headers={"Retry-After": "120"}), 503),
    "200 truncated json": (
        Fault(200, b'{"_tag": "ExtendedPrincipal", "id": ', "application/json"),
        503,
    ),
    "200 html": (Fault(200, b"<html>maintenance</html>"), 503),
    "200 json wrong types": (
        Fault(
            200,
            json.dumps(
                {
                    "_tag": "ExtendedPrincipal",
                    "id": 1,
                    "authenticatorId": [],
                    "authenticatorType": "passkey",
                    "createdAt": "x",
                    "expiresAt": None,
                    "userId": {},
                    "metadata": {},
                }
            ).encode(),
            "application/json",
        ),
        502,
    ),
    "200 json missing fields": (
        Fault(200, b'{"_tag": "ExtendedPrincipal"}', "application/json"),
        502,
    ),
    "200 json not an object": (Fault(200, b'["ExtendedPrincipal"]', "application/json"), 502),
    "200 huge body": (
        Fault(200, b'{"pad": "' + b"x" * (3 * 1024 * 1024) + b'"}', "application/json"),
        503,
    ),
    "403 forbidden tag": (Fault(403, b'{"_tag": "@error/Forbidden"}', "application/json"), 502),
    "500 unknown error tag": (
        Fault(500, b'{"_tag": "@error/Boom", "message": "x"}', "application/json"),
        503,
    ),
}

REPORT: dict[str, int] = {
    "cases": 0,
    "http_5xx_from_app_errors": 0,
    "rows_half_written": 0,
    "secrets_leaked": 0,
}


@pytest.fixture(scope="module", autouse=True)
def _write_report():
    yield
    out = Path(__file__).resolve().parents[1] / "test-artifacts"
    out.mkdir(exist_ok=True)
    (out / "reliability.json").write_text(json.dumps(REPORT, indent=2))


@pytest.fixture(scope="module")
def emulator():
    """The emulator out of process, for this module (overrides the shared one)."""
    with EmulatorProcess() as running:
        yield running


@pytest.fixture
def world(parts, emulator):
    """ada, signed in, with one linked passkey; a short read timeout."""
    parts.app.config["PASSLOCK_TIMEOUT"] = TIMEOUT
    parts.app.extensions["passlock"].client.timeout = TIMEOUT
    client, _, (passkey_id,) = parts.user_with_passkeys(emulator, "ada")
    return client, passkey_id


def requests_for(route, emulator, passkey_id):
    """(path, body) for one route; codes minted fresh so only the fault can fail them."""
    if route == "register":
        return "/passkey/register", {"code": emulator.issue_code().code}
    if route == "login":
        return "/passkey/login", {"code": emulator.issue_code(authenticator_id=passkey_id).code}
    if route == "signup":
        return "/passkey/signup", {"username": "newbie", "code": emulator.issue_code().code}
    if route == "verify":
        return "/passkey/verify", {"code": emulator.issue_code(authenticator_id=passkey_id).code}
    return f"/passkey/{passkey_id}/delete", {}


@pytest.mark.parametrize("as_json", [True, False], ids=["json", "html"])
@pytest.mark.parametrize("route", ["register", "login", "signup", "verify", "delete"])
@pytest.mark.parametrize("fault_name", FAULTS)
def test_fault_matrix(parts, emulator, world, caplog, route, fault_name, as_json):
    client, passkey_id = world
    fault, status = FAULTS[fault_name]
    path, body = requests_for(route, emulator, passkey_id)
    before_rows = parts.rows()
    caplog.set_level(logging.DEBUG)
    emulator.inject(fault, times=2 if fault.reset else 1)  # a reset is sent once more
    with listen_to(signals.exchange_failed) as heard:
        if as_json:
            response = client.post(path, json=body)
        else:
            response = client.post(path, data=body, headers={"Accept": "text/html"})
    REPORT["cases"] += 1
    text = response.get_data(as_text=True)
    if response.status_code >= 500 and response.status_code not in (502, 503):
        REPORT["http_5xx_from_app_errors"] += 1
    if parts.rows() != before_rows:
        REPORT["rows_half_written"] += 1
    secrets = [emulator.api_key, body.get("code") or "\0"]
    logs = caplog.text
    if any(s in text or s in logs for s in secrets):
        REPORT["secrets_leaked"] += 1

    assert response.status_code == status, text
    if as_json:
        assert response.get_json()["code"] in (
            "passlock_unavailable",
            "malformed_response",
            "passlock_forbidden",
        )
    else:
        assert response.mimetype == "text/html" and "passlock-error" in text
    assert parts.rows() == before_rows
    assert not any(s in text or s in logs for s in secrets)
    if route != "delete":
        assert heard and heard[0]["action"] == route
        assert not any(s in str(heard[0]["error"]) for s in secrets)
    # and the app still serves
    ok = client.get("/passkey/", headers={"Accept": "application/json"})
    assert ok.status_code == 200


def test_emulator_down_entirely(parts, world):
    client, passkey_id = world
    parts.app.extensions["passlock"].client.origin = "http://127.0.0.1:9"
    for path, body in (
        ("/passkey/register", {"code": "abc"}),
        (f"/passkey/{passkey_id}/delete", {}),
    ):
        response = client.post(path, json=body)
        assert response.status_code == 503
        assert response.get_json()["code"] == "passlock_unavailable"
    assert len(parts.rows()) == 1
