"""A real browser registers a passkey in the example app."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from .conftest import screenshot


def test_sign_up_and_register_a_passkey(page, live_example, emulator):
    page.goto(live_example.url + "/signup")
    page.fill("#username", "alice")
    page.click("button[type=submit]")
    page.wait_for_url("**/passkey/register")
    assert page.input_value("#passlock-register-username") == "alice"
    screenshot(page, "register")

    page.click("#passlock-register button[type=submit]")
    page.wait_for_url("**/passkey/")
    screenshot(page, "passkeys")

    assert page.js_errors == []
    credentials = page.authenticator.credentials()
    assert len(credentials) == 1
    assert credentials[0]["isResidentCredential"] is True

    from example_app import User, db, passlock

    with live_example.app.app_context():
        alice = db.session.scalar(sa.select(User).where(User.username == "alice"))
        rows = passlock.authenticators_for(alice)
        assert len(rows) == 1
        assert rows[0].user_id == alice.id
        assert rows[0].user_verified is True
        passkey_id = rows[0].id
    assert passkey_id in emulator.passkeys
    assert emulator.passkeys[passkey_id]["credentialId"] == credentials[0]["credentialId"].rstrip(
        "="
    ).replace("+", "-").replace("/", "_")
    assert page.locator(f'tr[data-passkey-id="{passkey_id}"]').count() == 1


@pytest.mark.parametrize("live_example", [{"PASSLOCK_VERIFY_ID_TOKEN": False}], indirect=True)
def test_register_shows_server_refusal(page, live_example, emulator):
    """The passkey is created on the device but the server refuses it: the page says why."""
    page.goto(live_example.url + "/signup")
    page.fill("#username", "bob")
    page.click("button[type=submit]")
    page.wait_for_url("**/passkey/register")
    from flask_passlock.emulator import Fault

    emulator.inject(Fault(503, b"", headers={"Retry-After": "10"}))
    page.click("#passlock-register button[type=submit]")
    status = page.locator("#passlock-register .passlock-status[data-status=error]")
    status.wait_for()
    assert "unavailable" in status.inner_text()
    screenshot(page, "register-error")
    from example_app import db, passlock

    with live_example.app.app_context():
        assert (
            db.session.scalar(sa.select(sa.func.count()).select_from(passlock.authenticator_model))
            == 0
        )
