"""A real browser registers a passkey in the example app."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from .conftest import screenshot, status_of


def sign_up_without_passkey(page, live, username: str) -> None:
    page.goto(live.url + "/signup")
    page.fill("#username", username)
    page.click("button[type=submit]")
    page.wait_for_url("**/passkey/register")


def test_sign_up_and_register_a_named_passkey(page, live_example, emulator):
    sign_up_without_passkey(page, live_example, "alice")
    assert page.input_value("#passlock-register-username") == "alice"
    assert "Welcome, alice" in page.inner_text(".passlock-flashes")
    page.fill("#passlock-register-label", "Work laptop")
    screenshot(page, "register-named", both_widths=True)

    page.click("#passlock-register button[type=submit]")
    page.wait_for_url("**/passkey/")
    assert "Passkey added: “Work laptop”" in page.inner_text(".passlock-flashes")
    screenshot(page, "passkey-added")

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
        assert rows[0].label == "Work laptop"
        passkey_id = rows[0].id
    assert passkey_id in emulator.passkeys
    assert emulator.passkeys[passkey_id]["credentialId"] == credentials[0]["credentialId"].rstrip(
        "="
    ).replace("+", "-").replace("/", "_")
    row = page.locator(f'tr[data-passkey-id="{passkey_id}"]')
    assert row.locator(".passlock-passkey-label").inner_text() == "Work laptop"
    # Times are relative, with the full date and time zone on hover.
    created = row.locator("time").first
    assert created.inner_text() in ("just now", "now") or "second" in created.inner_text()
    assert "20" in created.get_attribute("title")


def test_the_same_device_cannot_add_a_second_passkey_for_the_account(page, live_example):
    sign_up_without_passkey(page, live_example, "amy")
    page.click("#passlock-register button[type=submit]")
    page.wait_for_url("**/passkey/")
    page.goto(live_example.url + "/passkey/register")
    page.click("#passlock-register button[type=submit]")
    status = status_of(page, "#passlock-register")
    assert "already has a passkey for this account" in status.inner_text()
    assert len(page.authenticator.credentials()) == 1


@pytest.mark.parametrize("live_example", [{"PASSLOCK_VERIFY_ID_TOKEN": False}], indirect=True)
def test_register_shows_server_refusal(page, live_example, emulator):
    """The passkey is created on the device but the server refuses it: the page says why."""
    sign_up_without_passkey(page, live_example, "bob")
    from flask_passlock.emulator import Fault

    emulator.inject(Fault(503, b"", headers={"Retry-After": "10"}))
    page.click("#passlock-register button[type=submit]")
    status = status_of(page, "#passlock-register")
    assert "unavailable" in status.inner_text()
    screenshot(page, "register-error", both_widths=True)
    from example_app import db, passlock

    with live_example.app.app_context():
        assert (
            db.session.scalar(sa.select(sa.func.count()).select_from(passlock.authenticator_model))
            == 0
        )
