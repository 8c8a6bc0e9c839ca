"""Faults: tagged errors, real answers shaped (delayed, dripped, extra headers), resets, and
idle keep-alive connections closed by the server."""

from __future__ import annotations

import json
import socket
import time

import pytest
import requests

from flask_passlock.emulator import Fault, PasslockEmulator

from .test_emulator import call


@pytest.fixture
def emu():
    with PasslockEmulator() as emulator:
        yield emulator


def test_error_builds_passlocks_tagged_body():
    fault = Fault.error("@error/ChallengeRateLimited", 429, retryAfterSeconds=30)
    assert (fault.status, fault.content_type) == (429, "application/json")
    assert json.loads(fault.body) == {
        "_tag": "@error/ChallengeRateLimited",
        "message": "Too many challenges requested",
        "retryAfterSeconds": 30,
    }
    assert Fault.error("@error/InvalidCode").status == 404
    assert json.loads(Fault.error("@error/Forbidden", message="No").body)["message"] == "No"


@pytest.mark.parametrize(
    "tag, fields",
    [("@error/ChallengeRateLimited", {}), ("@error/PasskeyNotFound", {"rpId": "x"})],
)
def test_error_refuses_a_body_missing_a_required_field(tag, fields):
    with pytest.raises(ValueError, match=tag):
        Fault.error(tag, **fields)


@pytest.mark.parametrize(
    "method, path",
    [
        ("GET", "principal/x"),
        ("POST", "principal/x"),
        ("GET", "passkeys/"),
        ("DELETE", "passkeys/p"),
        ("PATCH", "users/u/passkeys/"),
        ("POST", "challenges"),
        ("POST", "challenges/verify"),
        ("GET", "challenges/c"),
    ],
)
def test_an_injected_error_answers_any_rest_route(emu, method, path):
    emu.inject(Fault.error("@error/ChallengeAttemptsExceeded"))
    answer = call(emu, method, path)
    assert answer.status_code == 429 and answer.headers["Content-Type"] == "application/json"
    assert answer.json()["_tag"] == "@error/ChallengeAttemptsExceeded"
    assert call(emu, "GET", "passkeys/").status_code == 200  # used once


def test_a_fault_without_status_or_body_shapes_the_real_answer(emu):
    emu.inject(Fault(delay=0.3, headers={"Retry-After": "7"}))
    started = time.monotonic()
    answer = call(emu, "GET", "passkeys/")
    assert time.monotonic() - started >= 0.3
    assert answer.json()["_tag"] == "FindAllPasskeys" and answer.headers["Retry-After"] == "7"


def test_drip_sends_the_body_a_byte_at_a_time(emu):
    """Each read is quick, the whole answer slow: only a total deadline catches it."""
    size = len(call(emu, "GET", "passkeys/").content)
    emu.inject(Fault(drip=0.02))
    started = time.monotonic()
    answer = call(emu, "GET", "passkeys/", stream=True, timeout=(2, 0.5))
    headers_after = time.monotonic() - started
    body = answer.content
    total = time.monotonic() - started
    assert json.loads(body)["_tag"] == "FindAllPasskeys"
    assert headers_after < 0.5 and total >= size * 0.02 * 0.9


def test_drip_with_a_canned_answer(emu):
    emu.inject(Fault(200, b'{"_tag": "x"}', "application/json", drip=0.02))
    started = time.monotonic()
    assert call(emu, "GET", "passkeys/").json() == {"_tag": "x"}
    assert time.monotonic() - started >= 12 * 0.02


def test_a_reset_serves_nothing(emu):
    issued = emu.issue_code()
    emu.inject(Fault(reset=True))
    with pytest.raises(requests.ConnectionError):
        call(emu, "GET", f"principal/{issued.code}")
    assert call(emu, "GET", f"principal/{issued.code}").json()["_tag"] == "ExtendedPrincipal"


def test_clear_faults(emu):
    emu.inject(Fault(503, b""), times=3)
    assert len(emu.backend.faults) == 3
    emu.clear_faults()
    assert emu.backend.faults == [] and call(emu, "GET", "passkeys/").ok


def _get(sock: socket.socket, path: str) -> bytes:
    sock.sendall(
        f"GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer emulator-api-key\r\n\r\n".encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(1)
    length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
    body = b""
    while len(body) < length:
        body += sock.recv(length - len(body))
    return head + body


def test_an_idle_keep_alive_connection_is_closed_after_idle_timeout():
    with PasslockEmulator(idle_timeout=0.4) as emulator:
        with socket.create_connection(("127.0.0.1", emulator.port), timeout=5) as sock:
            assert b"FindAllPasskeys" in _get(sock, "/emulator/passkeys/")
            time.sleep(0.1)
            assert b"FindAllPasskeys" in _get(sock, "/emulator/passkeys/")  # still open
            started = time.monotonic()
            assert sock.recv(1) == b""  # closed by the server
            assert 0.3 <= time.monotonic() - started < 2
        assert len({port for _, port in emulator.peers}) == 1


def test_a_fault_travels_as_json_unchanged():
    fault = Fault(
        503, b"x" * 3_000_000, "text/plain", delay=0.5, reset=False, headers={"A": "1"}, drip=0.1
    )
    assert Fault.from_json(fault.as_json()) == fault
    assert len(str(fault.as_json())) < 20_000  # a 3 MB body travels gzipped
    assert Fault.from_json({"status": "x", "delay": -1, "reset": "yes"}) == Fault()


def test_faults_reach_an_emulator_in_another_process():
    from flask_passlock import PasslockClient, PasslockUnavailable
    from flask_passlock.emulator import EmulatorProcess

    with EmulatorProcess() as emulator:
        issued = emulator.issue_code(username="ada")
        assert issued.authenticator_id in emulator.passkeys
        emulator.inject(Fault(503, b""), times=2)
        with PasslockClient(emulator.tenancy_id, emulator.api_key, endpoint=emulator.url) as c:
            with pytest.raises(PasslockUnavailable):
                c.exchange_code(issued.code)
            emulator.clear_faults()
            assert c.exchange_code(issued.code).authenticator_id == issued.authenticator_id
