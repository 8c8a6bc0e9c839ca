"""Deleting an account forgets its passkeys at Passlock and here; a username change reaches the
passkeys (Passlock, then the device); the client's by-user and paged calls."""

from __future__ import annotations

import pytest

from flask_passlock import NotFound, PasslockClient, PasslockUnavailable, signals
from flask_passlock.device import KEY as DEVICE_QUEUE
from flask_passlock.emulator import Fault
from flask_passlock.state import get_state

from .helpers import listen_to


@pytest.fixture
def client(emulator):
    with PasslockClient(emulator.tenancy_id, emulator.api_key, endpoint=emulator.url) as c:
        yield c


def by_user_calls(emulator, since=0):
    return [(m, u) for m, u in emulator.requests[since:] if "/users/" in u]


def test_exchange_can_assign_the_apps_user_id(emulator, client):
    issued = emulator.issue_code()
    principal = client.exchange_code(issued.code, user_id="42")
    assert principal.user_id == "42"
    assert emulator.passkeys[issued.authenticator_id]["userId"] == "42"
    assert emulator.requests[-1][0] == "POST"


def test_by_user_calls(emulator, client):
    ids = []
    for _ in range(2):
        issued = emulator.issue_code(username="ada")
        client.exchange_code(issued.code, user_id="u-7")
        ids.append(issued.authenticator_id)
    updated = client.update_user_passkeys("u-7", "ada.l")
    assert sorted(r["id"] for r in updated) == sorted(ids)
    assert all(r["credential"]["username"] == "ada.l" for r in updated)
    deleted = client.delete_user_passkeys("u-7")
    assert sorted(r["id"] for r in deleted) == sorted(ids)
    assert not set(ids) & set(emulator.passkeys)
    with pytest.raises(NotFound):
        client.delete_user_passkeys("u-7")


def test_paging_through_every_passkey(emulator, client):
    with emulator.__class__(page_size=3) as small:
        for _ in range(8):
            small.issue_code()
        with PasslockClient(small.tenancy_id, small.api_key, endpoint=small.url) as paged:
            first = paged.list_passkeys()
            assert len(first["records"]) == 3 and first["cursor"]
            every = list(paged.iter_passkeys())
    assert len(every) == 8 and len({r["id"] for r in every}) == 8


# -- forget_user ------------------------------------------------------------------------------


def forget(parts, user_id):
    with parts.app.test_request_context():
        user = parts.db.session.get(parts.User, user_id)
        from flask import session

        records = parts.passlock.forget_user(user)
        return records, list(session.get(DEVICE_QUEUE, []))


def test_forget_user_with_assigned_ids_is_one_call(parts, emulator):
    _, user_id, ids = parts.user_with_passkeys(emulator, "ada", count=3)  # by code: assigned
    before = len(emulator.requests)
    with listen_to(signals.user_forgotten) as heard:
        records, queued = forget(parts, user_id)
    assert len(emulator.requests) == before + 1
    assert by_user_calls(emulator, before)[0][0] == "DELETE"
    assert sorted(r["id"] for r in records) == sorted(ids)
    assert parts.rows() == [] and not set(ids) & set(emulator.passkeys)
    assert heard[0]["authenticator_ids"] and sorted(heard[0]["authenticator_ids"]) == sorted(ids)
    assert [q["op"] for q in queued] == ["forget"] * 3  # the device forgets them next


def test_forget_user_passkey_by_passkey_without_assigned_ids(parts, emulator):
    """Passkeys accepted by id_token were never assigned the app's user id at Passlock."""
    _, user_id, ids = parts.user_with_passkeys(emulator, "ada", count=2, field="id_token")
    before = len(emulator.requests)
    records, _ = forget(parts, user_id)
    assert len(emulator.requests) == before + 2 and by_user_calls(emulator, before) == []
    assert sorted(r["id"] for r in records) == sorted(ids)
    assert parts.rows() == []


def test_forget_user_keeps_everything_when_passlock_fails(parts, emulator):
    _, user_id, ids = parts.user_with_passkeys(emulator, "ada", count=2)
    emulator.inject(Fault(503, b""))
    with pytest.raises(PasslockUnavailable):
        forget(parts, user_id)
    assert sorted(r[0] for r in parts.rows()) == sorted(ids)
    assert set(ids) <= set(emulator.passkeys)
    forget(parts, user_id)  # and a retry finishes the job
    assert parts.rows() == []


def test_forget_user_after_passlock_lost_some(parts, emulator, client):
    _, user_id, ids = parts.user_with_passkeys(emulator, "ada", count=2, field="id_token")
    client.delete_passkey(ids[0])
    records, _ = forget(parts, user_id)
    assert [r["id"] for r in records] == [ids[1]]
    assert parts.rows() == []


def test_forget_user_from_the_command_line(parts, emulator):
    _, user_id, ids = parts.user_with_passkeys(emulator, "ada", count=2)
    runner = parts.app.test_cli_runner()
    result = runner.invoke(args=["passlock", "forget-user", "--yes", "ADA"])
    assert result.exit_code == 0, result.output
    assert "2 passkey(s)" in result.output
    assert parts.rows() == [] and not set(ids) & set(emulator.passkeys)
    missing = runner.invoke(args=["passlock", "forget-user", "--yes", "nobody"])
    assert missing.exit_code == 1 and "No user" in missing.output


# -- a username change ------------------------------------------------------------------------


@pytest.mark.parametrize("field, calls", [("code", 1), ("id_token", 2)])
def test_update_username_reaches_passlock_and_the_device(parts, emulator, field, calls):
    client, user_id, ids = parts.user_with_passkeys(emulator, "ada", count=2, field=field)
    before = len(emulator.requests)
    with parts.app.test_request_context():
        from flask import session

        user = parts.db.session.get(parts.User, user_id)
        records = parts.passlock.update_username(user, "ada.lovelace")
        queued = list(session.get(DEVICE_QUEUE, []))
    assert len(emulator.requests) == before + calls
    assert all(emulator.passkeys[i]["username"] == "ada.lovelace" for i in ids)
    assert len(records) == 2
    assert [q["op"] for q in queued] == ["rename", "rename"]
    assert all(q["username"] == "ada.lovelace" and q["credentialId"] for q in queued)


def test_queued_device_signals_reach_the_page_once(parts, emulator):
    client, user_id, ids = parts.user_with_passkeys(emulator, "ada")
    with client.session_transaction() as session:
        session[DEVICE_QUEUE] = [{"op": "forget", "credentialId": "c", "userId": "u", "rpId": "r"}]
    page = client.get("/passkey/register").get_data(as_text=True)
    assert '"op": "forget"' in page
    assert '"op": "forget"' not in client.get("/passkey/register").get_data(as_text=True)
    with parts.app.app_context():
        assert get_state(parts.app).client is not None
