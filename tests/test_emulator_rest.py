"""The emulator's REST API: cursor pages, a user's passkeys, the exchange with a userId, and
tagged JSON error bodies on every route."""

from __future__ import annotations

import socket

import pytest
import requests

from flask_passlock.emulator import PasslockEmulator
from flask_passlock.emulator.errors import REQUIRED_FIELDS

from .test_emulator import call


@pytest.fixture
def fresh():
    """An emulator of its own, two passkeys a page."""
    with PasslockEmulator(page_size=2) as emulator:
        yield emulator


def walk(emulator):
    """Every page of GET /{t}/passkeys/, as lists of ids."""
    pages, cursor = [], None
    while True:
        params = {"cursor": cursor} if cursor else {}
        answer = call(emulator, "GET", "passkeys/", params=params).json()
        assert answer["_tag"] == "FindAllPasskeys"
        pages.append([r["id"] for r in answer["records"]])
        cursor = answer["cursor"]
        if cursor is None:
            return pages


def test_pages_list_every_passkey_once_oldest_first(fresh):
    ids = [fresh.issue_code().authenticator_id for _ in range(5)]
    assert walk(fresh) == [ids[0:2], ids[2:4], ids[4:5]]


def test_an_empty_tenancy_is_one_empty_page(fresh):
    assert walk(fresh) == [[]]


def test_a_cursor_survives_deletion_of_the_passkey_it_points_at(fresh):
    ids = [fresh.issue_code().authenticator_id for _ in range(4)]
    first = call(fresh, "GET", "passkeys/").json()
    fresh.backend.delete_passkey(fresh.tenancy_id, ids[1])
    second = call(fresh, "GET", "passkeys/", params={"cursor": first["cursor"]}).json()
    assert [r["id"] for r in second["records"]] == ids[2:4] and second["cursor"] is None


@pytest.mark.parametrize("cursor", ["not-base64!", "e30", "eyJhZnRlciI6ICJ4In0"])
def test_a_bad_cursor_is_a_bad_request(fresh, cursor):
    answer = call(fresh, "GET", "passkeys/", params={"cursor": cursor})
    assert answer.status_code == 400 and answer.json()["_tag"] == "@error/BadRequest"


def test_summaries_and_records_send_no_nulls(fresh):
    with_platform = fresh.issue_code(platform_name="iCloud Keychain").authenticator_id
    without = fresh.issue_code().authenticator_id
    record = call(fresh, "GET", f"passkeys/{with_platform}").json()
    assert record["platform"] == {"name": "iCloud Keychain"}
    assert "platform" not in call(fresh, "GET", f"passkeys/{without}").json()
    summaries = call(fresh, "GET", "passkeys/").json()["records"]
    for answer in [record, *summaries]:
        assert "lastUsed" not in answer and None not in answer.values()


def own_user(emulator, user_id, count, tenancy=None):
    ids = [emulator.issue_code(tenancy_id=tenancy).authenticator_id for _ in range(count)]
    for passkey_id in ids:
        emulator.backend.update_passkey(tenancy or emulator.tenancy_id, passkey_id, user_id=user_id)
    return ids


def test_rename_a_users_passkeys(fresh):
    ids = own_user(fresh, "u-1", 2)
    other = own_user(fresh, "u-2", 1)
    answer = call(fresh, "PATCH", "users/u-1/passkeys/", json={"userId": "u-1", "username": "ada"})
    assert answer.status_code == 200
    body = answer.json()
    assert body["_tag"] == "UpdatedPasskeys"
    assert [(p["_tag"], p["id"], p["credential"]["username"]) for p in body["updated"]] == [
        ("Passkey", i, "ada") for i in ids
    ]
    assert fresh.passkeys[other[0]]["username"] == "user"


def test_delete_a_users_passkeys(fresh):
    fresh.add_tenancy("other", "other-key")
    ids = own_user(fresh, "u-1", 2)
    elsewhere = own_user(fresh, "u-1", 1, tenancy="other")
    answer = call(fresh, "DELETE", "users/u-1/passkeys/", json={"userId": "u-1"})
    assert answer.status_code == 202
    assert answer.json()["_tag"] == "DeletedPasskeys"
    assert [p["id"] for p in answer.json()["deleted"]] == ids
    assert set(fresh.passkeys) == set(elsewhere)
    again = call(fresh, "DELETE", "users/u-1/passkeys/", json={"userId": "u-1"})
    assert again.status_code == 404 and again.json()["_tag"] == "@error/NotFound"


@pytest.mark.parametrize(
    "body",
    [{"userId": "u-2", "username": "x"}, {"userId": "u-1"}, {"userId": "u-1", "username": 5}],
    ids=["other userId", "no username", "username not a string"],
)
def test_rename_refuses_a_bad_body(fresh, body):
    own_user(fresh, "u-1", 1)
    answer = call(fresh, "PATCH", "users/u-1/passkeys/", json=body)
    assert answer.status_code == 400 and answer.json()["_tag"] == "@error/BadRequest"


def test_exchange_by_post_assigns_the_user_id(fresh):
    issued = fresh.issue_code()
    answer = call(fresh, "POST", f"principal/{issued.code}", json={"userId": "app-7"})
    assert answer.status_code == 200
    principal = answer.json()
    assert principal["_tag"] == "ExtendedPrincipal" and principal["userId"] == "app-7"
    assert principal["authenticatorId"] == issued.authenticator_id
    assert fresh.passkeys[issued.authenticator_id]["userId"] == "app-7"
    assert call(fresh, "GET", f"principal/{issued.code}").json()["_tag"] == "@error/InvalidCode"


@pytest.mark.parametrize(
    "body", [{"userId": 7}, {"userId": ""}, None], ids=["int", "empty", "none"]
)
def test_a_refused_post_exchange_leaves_the_code_usable(fresh, body):
    issued = fresh.issue_code()
    answer = call(fresh, "POST", f"principal/{issued.code}", json=body)
    assert answer.status_code == 400 and answer.json()["_tag"] == "@error/BadRequest"
    assert call(fresh, "GET", f"principal/{issued.code}").json()["userId"] == issued.user_id


# -- error bodies on every route ---------------------------------------------------------------

ERRORS = [
    ("GET", "principal/nope", {}, 404, "@error/InvalidCode"),
    ("POST", "principal/nope", {"json": {"userId": "u"}}, 404, "@error/InvalidCode"),
    ("GET", "principal/nope", {"key": "wrong"}, 403, "@error/Forbidden"),
    ("GET", "passkeys/nope", {}, 404, "@error/NotFound"),
    ("PATCH", "passkeys/nope", {"json": {"username": "x"}}, 404, "@error/NotFound"),
    ("PATCH", "passkeys/nope", {"data": "{not json"}, 400, "@error/BadRequest"),
    ("DELETE", "passkeys/nope", {}, 404, "@error/NotFound"),
    ("GET", "passkeys/", {"key": "wrong"}, 403, "@error/Forbidden"),
    ("GET", "passkeys/", {"tenancy": "no-such-tenancy"}, 403, "@error/Forbidden"),
    ("PATCH", "users/nobody/passkeys/", {"json": {"username": "x"}}, 404, "@error/NotFound"),
    ("DELETE", "users/nobody/passkeys/", {}, 404, "@error/NotFound"),
    ("POST", "challenges", {"json": {}}, 400, "@error/BadRequest"),
    ("POST", "challenges", {"json": [1]}, 400, "@error/BadRequest"),
    ("GET", "challenges/nope", {}, 404, "@error/NotFound"),
    ("POST", "challenges/verify", {"json": {}}, 400, "@error/InvalidChallenge"),
    ("DELETE", "challenges/nope", {"key": "wrong"}, 403, "@error/Forbidden"),
    ("PUT", "passkeys/nope", {}, 405, "@error/MethodNotAllowed"),
    ("GET", "principal", {}, 404, "@error/NotFound"),
    ("GET", "no/such/route/at/all", {}, 404, "@error/NotFound"),
    ("POST", "passkey/registration/options", {"tenancy": "nope", "json": {}}, 404, None),
    ("POST", "passkey/registration/options", {"data": "[1"}, 400, "@error/BadRequest"),
    ("POST", "passkey/authentication/verification", {"json": {}}, 400, "@error/BadRequest"),
    ("GET", "credential/nope", {}, 404, "@error/NotFound"),
    ("GET", "credentials/nope", {}, 404, "@error/NotFound"),
    ("POST", "_emulator/outbox", {"key": "wrong", "json": {}}, 403, "@error/Forbidden"),
    ("POST", "_emulator/codes", {"key": "wrong"}, 403, "@error/Forbidden"),
    ("POST", "principal/x", {"data": "x" * (1024 * 1024 + 1)}, 413, "@error/BadRequest"),
]


@pytest.mark.parametrize(
    "method, path, options, status, tag", ERRORS, ids=[f"{e[0]} {e[1]} {e[3]}" for e in ERRORS]
)
def test_every_error_is_tagged_json(emulator, method, path, options, status, tag):
    answer = call(emulator, method, path, **options)
    assert answer.status_code == status
    assert answer.headers["Content-Type"] == "application/json"
    assert answer.headers["Access-Control-Allow-Origin"] == "*"
    body = answer.json()
    assert isinstance(body["_tag"], str) and isinstance(body["message"], str) and body["message"]
    assert tag is None or body["_tag"] == tag
    for name in REQUIRED_FIELDS.get(body["_tag"], ()):
        assert name in body


def test_the_root_and_a_bare_method_error_are_tagged_too(emulator):
    root = requests.get(emulator.url, timeout=5)
    assert root.status_code == 404 and root.json()["_tag"] == "@error/NotFound"
    jwks = requests.delete(emulator.url + ".well-known/jwks.json", timeout=5)
    assert jwks.status_code == 405 and jwks.json()["_tag"] == "@error/MethodNotAllowed"
    assert "GET" in jwks.headers["Allow"]


def test_a_chunked_body_is_a_tagged_411(emulator):
    host, port = emulator.url.split("//")[1].rstrip("/").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(
            b"POST /emulator/challenges HTTP/1.1\r\nHost: x\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
        )
        head, _, body = sock.recv(65536).partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 411") and b"Content-Type: application/json" in head
    assert b'"_tag": "@error/BadRequest"' in body


def test_codes_and_ceremony_sessions_age_by_the_emulator_clock(fresh):
    """A test lets Passlock's time pass without sleeping: codes live ``code_ttl`` seconds."""
    issued = fresh.issue_code()
    expires = issued.principal["expiresAt"]
    fresh.advance_clock(fresh.code_ttl + 1)
    assert call(fresh, "GET", f"principal/{issued.code}").json()["_tag"] == "@error/InvalidCode"
    later = fresh.issue_code()
    assert later.principal["createdAt"] >= expires + 1000  # what is issued carries the time
    assert call(fresh, "GET", f"principal/{later.code}").status_code == 200


def test_the_emulator_clock_only_moves_ahead(fresh):
    with pytest.raises(ValueError, match="only moves ahead"):
        fresh.advance_clock(-1)
    with pytest.raises(ValueError):
        fresh.advance_clock(float("nan"))
