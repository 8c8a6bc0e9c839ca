"""Listing, renaming and deleting the signed-in user's passkeys."""

from __future__ import annotations

import secrets

import pytest

from flask_passlock import signals
from flask_passlock.emulator import Fault

from .helpers import listen_to


@pytest.fixture
def two_users(parts, emulator):
    """ada with two passkeys, bob with one; returns dict of name -> (client, [passkey ids])."""
    out = {}
    for name, count in (("ada", 2), ("bob", 1)):
        client, _, ids = parts.user_with_passkeys(emulator, name, count)
        out[name] = (client, ids)
    return out


def labels(parts):
    with parts.app.app_context():
        return {a.id: a.label for a in parts.db.session.query(parts.Authenticator)}


def test_list_only_own_passkeys(two_users):
    client, ids = two_users["ada"]
    listing = client.get("/passkey/", headers={"Accept": "application/json"}).get_json()
    assert sorted(p["id"] for p in listing) == sorted(ids)
    assert set(listing[0]) >= {"id", "label", "platform_name", "created_at", "last_used_at"}


def test_the_list_is_oldest_first(parts, emulator):
    """Whatever their ids: passkeys made one after the other, ids in reverse order."""
    client = parts.app.test_client(user=parts.create_user("cyd"))
    run = secrets.token_hex(4)
    made = [f"pk-{letter}-{run}" for letter in "zma"]
    for passkey_id in made:
        issued = emulator.issue_code(authenticator_id=passkey_id)
        assert issued.authenticator_id == passkey_id
        assert client.post("/passkey/register", json={"code": issued.code}).status_code == 201
    listing = client.get("/passkey/", headers={"Accept": "application/json"}).get_json()
    assert [p["id"] for p in listing] == made
    page = client.get("/passkey/register").get_data(as_text=True)
    assert [page.index(passkey_id) for passkey_id in made] == sorted(
        page.index(passkey_id) for passkey_id in made
    )


def test_rename(parts, two_users):
    client, ids = two_users["ada"]
    with listen_to(signals.passkey_renamed) as heard:
        response = client.post(f"/passkey/{ids[0]}/rename", json={"label": "  Work phone "})
    assert response.status_code == 200
    assert response.get_json()["authenticator"]["label"] == "Work phone"
    assert labels(parts)[ids[0]] == "Work phone"
    assert heard[0]["label"] == "Work phone"
    form = client.post(f"/passkey/{ids[1]}/rename", data={"label": "Laptop"})
    assert form.status_code == 303 and labels(parts)[ids[1]] == "Laptop"


@pytest.mark.parametrize("label", ["", "   ", "x" * 101, "a\x00b", "a\x1bb", None, 3])
def test_rename_bad_labels(parts, two_users, label):
    client, ids = two_users["ada"]
    before = labels(parts)
    response = client.post(f"/passkey/{ids[0]}/rename", json={"label": label})
    assert response.status_code == 400
    assert response.get_json()["code"] == "invalid_label"
    assert labels(parts) == before


@pytest.mark.parametrize("action", ["rename", "delete"])
def test_other_users_passkey_is_not_found(parts, emulator, two_users, action):
    client, _ = two_users["ada"]
    _, (bobs,) = two_users["bob"]
    before = labels(parts)
    response = client.post(f"/passkey/{bobs}/{action}", json={"label": "mine"})
    assert response.status_code == 404
    assert response.get_json()["code"] == "not_found"
    assert labels(parts) == before
    assert bobs in emulator.passkeys


@pytest.mark.parametrize("passkey_id", ["nope", "..", "a%2Fb", "x" * 300])
def test_unknown_ids_are_not_found(parts, two_users, passkey_id):
    client, _ = two_users["ada"]
    response = client.post(f"/passkey/{passkey_id}/delete", json={})
    assert response.status_code == 404
    # an unknown passkey id, or (a%2Fb -> a/b) a URL that exists for nothing
    assert response.get_json()["code"] in ("not_found", "page_not_found")


def test_delete(parts, emulator, two_users):
    client, ids = two_users["ada"]
    with listen_to(signals.passkey_removed) as heard:
        response = client.post(f"/passkey/{ids[0]}/delete", json={})
    assert response.status_code == 200
    body = response.get_json()
    assert body["deleted"] == ids[0]
    assert body["credential"]["rpId"] == emulator.rp_id
    assert ids[0] not in labels(parts)
    assert ids[0] not in emulator.passkeys
    assert heard[0]["authenticator_id"] == ids[0]


def test_delete_with_form(parts, emulator, two_users):
    client, ids = two_users["ada"]
    response = client.post(f"/passkey/{ids[0]}/delete")
    assert response.status_code == 303
    assert ids[0] not in labels(parts)


@pytest.mark.parametrize(
    "fault",
    [
        Fault(500, b"<html>x</html>"),
        Fault(503, b"", headers={"Retry-After": "3"}),
        Fault(reset=True),
    ],
)
def test_delete_when_passlock_is_down_keeps_the_row(parts, emulator, two_users, fault):
    client, ids = two_users["ada"]
    emulator.inject(fault, times=2)  # a reset on a reused connection is sent once more
    response = client.post(f"/passkey/{ids[0]}/delete", json={})
    assert response.status_code == 503
    assert response.get_json()["code"] == "passlock_unavailable"
    assert ids[0] in labels(parts)


def test_delete_when_passlock_forgot_it(parts, emulator, two_users):
    client, ids = two_users["ada"]
    client.application  # noqa: B018
    from flask_passlock.client import PasslockClient

    with PasslockClient(emulator.tenancy_id, emulator.api_key, endpoint=emulator.url) as c:
        c.delete_passkey(ids[0])
    response = client.post(f"/passkey/{ids[0]}/delete", json={})
    assert response.status_code == 200
    assert response.get_json()["credential"] is None
    assert ids[0] not in labels(parts)


def test_last_passkey_hook(parts, emulator, two_users):
    client, ids = two_users["ada"]
    parts.passlock.has_other_sign_in(lambda user: False)
    try:
        assert client.post(f"/passkey/{ids[0]}/delete", json={}).status_code == 200
        response = client.post(f"/passkey/{ids[1]}/delete", json={})
    finally:
        parts.passlock._has_other_sign_in = None
    assert response.status_code == 409
    assert response.get_json()["code"] == "last_passkey"
    assert ids[1] in labels(parts) and ids[1] in emulator.passkeys


def test_last_passkey_can_go_without_hook(parts, emulator, two_users):
    client, (bobs,) = two_users["bob"]
    assert client.post(f"/passkey/{bobs}/delete", json={}).status_code == 200


@pytest.mark.parametrize("headers", [{"Origin": "https://evil.example"}, {"Origin": None}])
def test_cross_site_delete_refused(parts, emulator, two_users, headers):
    client, ids = two_users["ada"]
    response = client.post(f"/passkey/{ids[0]}/delete", data={}, headers=headers)
    assert response.status_code == 403
    assert 'data-code="cross_site_request"' in response.get_data(as_text=True)
    assert ids[0] in labels(parts) and ids[0] in emulator.passkeys


def test_signed_out_cannot_manage(parts, two_users):
    _, ids = two_users["ada"]
    anonymous = parts.app.test_client()
    for response in (
        anonymous.post(f"/passkey/{ids[0]}/delete", json={}),
        anonymous.get("/passkey/", headers={"Accept": "application/json"}),
    ):
        assert response.status_code == 401
        assert response.get_json()["code"] == "not_signed_in"
