"""PasslockClient against the emulator as a real loopback HTTP server."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from datetime import timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from flask_passlock import (
    Forbidden,
    InvalidCode,
    MalformedResponse,
    NotFound,
    PasslockClient,
    PasslockUnavailable,
    Principal,
)
from flask_passlock.client import MAX_CODE_LENGTH, validate_code
from flask_passlock.emulator import Fault, PasslockEmulator


@pytest.fixture
def client(emulator: PasslockEmulator) -> Iterator[PasslockClient]:
    with PasslockClient(emulator.tenancy_id, emulator.api_key, endpoint=emulator.url) as c:
        yield c


def test_exchange_returns_the_principal(emulator: PasslockEmulator, client: PasslockClient):
    issued = emulator.issue_code(username="ada", platform_name="iCloud Keychain")
    principal = client.exchange_code(issued.code)
    assert isinstance(principal, Principal)
    assert principal.authenticator_id == issued.authenticator_id
    assert principal.user_id == issued.user_id
    assert principal.authenticator_type == "passkey"
    assert principal.user_verified is True
    assert principal.platform_name == "iCloud Keychain"
    assert principal.created_at.tzinfo is timezone.utc
    assert principal.expires_at > principal.created_at


def test_exchange_sends_bearer_key_to_the_documented_path(emulator, client):
    issued = emulator.issue_code()
    client.exchange_code(issued.code)
    assert emulator.requests[-1] == ("GET", f"/{emulator.tenancy_id}/principal/{issued.code}")


def test_code_is_single_use(emulator, client):
    issued = emulator.issue_code()
    client.exchange_code(issued.code)
    with pytest.raises(InvalidCode):
        client.exchange_code(issued.code)


def test_unknown_code_is_invalid(client):
    with pytest.raises(InvalidCode) as info:
        client.exchange_code("no-such-code")
    assert info.value.status_code == 400


def test_expired_code_is_invalid():
    with PasslockEmulator(code_ttl=-1) as emu:
        with PasslockClient(emu.tenancy_id, emu.api_key, endpoint=emu.url) as c:
            with pytest.raises(InvalidCode):
                c.exchange_code(emu.issue_code().code)


def test_wrong_api_key_is_forbidden(emulator):
    issued = emulator.issue_code()
    with PasslockClient(emulator.tenancy_id, "wrong-key", endpoint=emulator.url) as c:
        with pytest.raises(Forbidden) as info:
            c.exchange_code(issued.code)
    assert "wrong-key" not in str(info.value)


def test_wrong_tenancy_is_forbidden(emulator):
    issued = emulator.issue_code()
    with PasslockClient("other-tenancy", emulator.api_key, endpoint=emulator.url) as c:
        with pytest.raises(Forbidden):
            c.exchange_code(issued.code)


def test_exchange_reuses_one_connection(emulator, client):
    codes = [emulator.issue_code().code for _ in range(5)]
    start = len(emulator.peers)
    for code in codes:
        client.exchange_code(code)
    assert len(set(emulator.peers[start:])) == 1


def test_api_key_is_not_in_repr(emulator, client):
    assert emulator.api_key not in repr(client)
    assert emulator.api_key not in str(vars(client).get("tenancy_id"))


def test_endpoint_path_is_dropped(emulator):
    issued = emulator.issue_code()
    with PasslockClient(
        emulator.tenancy_id, emulator.api_key, endpoint=emulator.url + "some/path/"
    ) as c:
        assert c.exchange_code(issued.code).authenticator_id == issued.authenticator_id


@pytest.mark.parametrize("endpoint", ["", "ftp://x", "not a url", "http://"])
def test_bad_endpoint_is_refused(endpoint):
    with pytest.raises(ValueError):
        PasslockClient("t", "k", endpoint=endpoint)


# -- faults -------------------------------------------------------------------------------------

FAULTS = {
    "500 html": Fault(500, b"<html><h1>Internal error</h1></html>"),
    "502 empty": Fault(502, b""),
    "503 retry-after": Fault(503, b"busy", "text/plain", headers={"Retry-After": "30"}),
    "200 html": Fault(200, b"<html>maintenance</html>"),
    "200 truncated json": Fault(200, b'{"_tag": "ExtendedPrincipal", "id": "x', "application/json"),
    "200 empty": Fault(200, b"", "application/json"),
    "500 json unknown tag": Fault(
        500, b'{"_tag": "@error/Internal", "message": "x"}', "application/json"
    ),
    "connection reset": Fault(reset=True),
}


@pytest.mark.parametrize("fault", FAULTS.values(), ids=FAULTS.keys())
def test_faults_are_unavailable(emulator, client, fault):
    issued = emulator.issue_code()
    emulator.inject(fault)
    with pytest.raises(PasslockUnavailable) as info:
        client.exchange_code(issued.code)
    assert info.value.status_code == 503
    assert issued.code not in str(info.value)
    assert emulator.api_key not in str(info.value)


MALFORMED = {
    "json array": b"[1, 2]",
    "no tag": b'{"id": "x"}',
    "other tag": b'{"_tag": "Passkey", "id": "x"}',
    "missing authenticatorId": json.dumps(
        {
            "_tag": "ExtendedPrincipal",
            "id": "p",
            "authenticatorType": "passkey",
            "createdAt": 1,
            "expiresAt": 2,
            "userId": "u",
            "metadata": {},
        }
    ).encode(),
    "wrong types": json.dumps(
        {
            "_tag": "ExtendedPrincipal",
            "id": "p",
            "authenticatorId": 5,
            "authenticatorType": "passkey",
            "createdAt": "yesterday",
            "expiresAt": 2,
            "userId": "u",
            "metadata": {},
        }
    ).encode(),
    "missing metadata": json.dumps(
        {
            "_tag": "ExtendedPrincipal",
            "id": "p",
            "authenticatorId": "a",
            "authenticatorType": "passkey",
            "createdAt": 1,
            "expiresAt": 2,
            "userId": "u",
        }
    ).encode(),
    "passkey not an object": json.dumps(
        {
            "_tag": "ExtendedPrincipal",
            "id": "p",
            "authenticatorId": "a",
            "authenticatorType": "passkey",
            "createdAt": 1,
            "expiresAt": 2,
            "userId": "u",
            "metadata": {},
            "passkey": "yes",
        }
    ).encode(),
}


@pytest.mark.parametrize("body", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_principal(emulator, client, body):
    emulator.inject(Fault(200, body, "application/json"))
    with pytest.raises(MalformedResponse) as info:
        client.exchange_code(emulator.issue_code().code)
    assert info.value.status_code == 502


def test_huge_body_is_refused(emulator, client):
    emulator.inject(
        Fault(200, b'{"_tag": "' + b"x" * (2 * 1024 * 1024) + b'"}', "application/json")
    )
    with pytest.raises(PasslockUnavailable):
        client.exchange_code(emulator.issue_code().code)


def test_unknown_fields_are_tolerated(emulator, client):
    body = {
        "_tag": "ExtendedPrincipal",
        "id": "p",
        "authenticatorId": "a",
        "authenticatorType": "passkey",
        "createdAt": 1700000000000,
        "expiresAt": 1700000300000,
        "userId": "u",
        "metadata": {"ipAddress": "::1"},
        "somethingNew": {"nested": True},
    }
    emulator.inject(Fault(200, json.dumps(body).encode(), "application/json"))
    principal = client.exchange_code(emulator.issue_code().code)
    assert principal.authenticator_id == "a"
    assert principal.passkey is None
    assert principal.ip_address == "::1"
    assert principal.raw["somethingNew"] == {"nested": True}


def test_read_timeout_is_unavailable(emulator):
    emulator.inject(Fault(200, b"{}", "application/json", delay=0.6))
    with PasslockClient(
        emulator.tenancy_id, emulator.api_key, endpoint=emulator.url, timeout=(1.0, 0.2)
    ) as c:
        with pytest.raises(PasslockUnavailable, match="deadline passed|no answer in time"):
            c.exchange_code(emulator.issue_code().code)


def test_connection_refused_is_unavailable():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with PasslockClient("t", "k", endpoint=f"http://127.0.0.1:{port}") as c:
        with pytest.raises(PasslockUnavailable) as info:
            c.exchange_code("some-code")
    assert info.value.reason == "could not be reached"


def test_exchange_is_never_retried(emulator, client):
    emulator.inject(Fault(503, b"busy", "text/plain"), times=1)
    issued = emulator.issue_code()
    before = len(emulator.requests)
    with pytest.raises(PasslockUnavailable):
        client.exchange_code(issued.code)
    assert len(emulator.requests) == before + 1


# -- code validation ---------------------------------------------------------------------------

BAD_CODES = {
    "empty": "",
    "dot-dot slash": "../x",
    "slash": "a/b",
    "query": "a?b",
    "fragment": "a#b",
    "encoded dots": "%2e%2e",
    "dot-dot": "..",
    "dot": ".",
    "backslash": "a\\b",
    "space": "a b",
    "newline": "a\nb",
    "nul": "a\x00b",
    "non-ascii": "café",
    "emoji": "🔑",
    "10 KB": "a" * 10_240,
    "one too long": "a" * (MAX_CODE_LENGTH + 1),
}


@pytest.mark.parametrize("code", BAD_CODES.values(), ids=BAD_CODES.keys())
def test_bad_codes_never_reach_passlock(emulator, client, code):
    before = len(emulator.requests)
    with pytest.raises(InvalidCode):
        client.exchange_code(code)
    assert len(emulator.requests) == before


@pytest.mark.parametrize("code", [None, 5, ["a"], {"a": 1}])
def test_non_string_codes_are_invalid(code):
    with pytest.raises(InvalidCode):
        validate_code(code)


def test_longest_code_is_accepted():
    assert validate_code("a" * MAX_CODE_LENGTH)


def test_odd_but_valid_codes_stay_in_their_segment(emulator, client):
    for code in ("a.b", "...x", "~-_."):
        with pytest.raises(InvalidCode):  # unknown, but sent where it belongs
            client.exchange_code(code)
        assert emulator.requests[-1] == ("GET", f"/{emulator.tenancy_id}/principal/{code}")


# -- management calls --------------------------------------------------------------------------


def test_get_update_delete_passkey(emulator, client):
    issued = emulator.issue_code(username="ada")
    record = client.get_passkey(issued.authenticator_id)
    assert record["_tag"] == "Passkey"
    assert record["credential"]["username"] == "ada"
    updated = client.update_passkey(issued.authenticator_id, user_id="local-7")
    assert updated["userId"] == "local-7"
    deleted = client.delete_passkey(issued.authenticator_id)
    assert deleted["id"] == issued.authenticator_id
    with pytest.raises(NotFound):
        client.get_passkey(issued.authenticator_id)


@pytest.mark.parametrize("passkey_id", ["", "../x", "a/b", "a?b"])
def test_bad_passkey_ids_are_not_found_locally(emulator, client, passkey_id):
    before = len(emulator.requests)
    with pytest.raises(NotFound):
        client.delete_passkey(passkey_id)
    assert len(emulator.requests) == before


class _SlowAcceptServer(ThreadingHTTPServer):
    daemon_threads = True


def test_non_json_error_page_from_a_proxy():
    """A proxy in front of Passlock answering its own HTML page."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            body = b"<html><body>502 Bad Gateway</body></html>"
            self.send_response(502)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = _SlowAcceptServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with PasslockClient("t", "k", endpoint=f"http://127.0.0.1:{server.server_port}") as c:
            with pytest.raises(PasslockUnavailable, match="502"):
                c.exchange_code("abc")
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("module_name", ["flask_passlock", "flask_passlock.client"])
def test_the_old_spelling_of_passlock_unavailable_still_resolves_with_a_warning(module_name):
    import importlib

    module = importlib.import_module(module_name)
    with pytest.warns(DeprecationWarning, match="'PassLockUnavailable' is deprecated"):
        assert module.PassLockUnavailable is PasslockUnavailable
    with pytest.raises(AttributeError, match=f"module '{module_name}' has no attribute 'Nope'"):
        module.Nope  # noqa: B018
