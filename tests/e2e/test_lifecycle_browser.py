"""The passkey lifecycle in a real browser: sign up, sign in three ways, rename, delete,
step-up, against the example app and the emulator."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from .conftest import screenshot

pytestmark = pytest.mark.long


def signup(page, live, username: str, shot: str | None = None) -> None:
    page.goto(live.url + "/passkey/signup")
    page.fill("#passlock-signup-username", username)
    if shot:
        screenshot(page, shot)
    page.click("#passlock-signup button[type=submit]")
    page.wait_for_url(live.url + "/")
    assert page.inner_text("#current-user") == username
    assert f"Welcome, {username}!" in page.inner_text(".passlock-flashes")


NO_AUTOFILL = "PublicKeyCredential.isConditionalMediationAvailable = async () => false;"


def without_autofill(page) -> None:
    """Behave like a browser without passkey autofill, so only the button signs in."""
    page.add_init_script(NO_AUTOFILL)


def sign_out(page) -> None:
    page.click("header form button")
    page.wait_for_selector(".passlock-flash-success:text('Signed out')")


def rows_of(live, username: str):
    from example_app import User, db, passlock

    with live.app.app_context():
        user = db.session.scalar(sa.select(User).where(User.username == username))
        if user is None:
            return None, []
        return user.id, [
            (a.id, a.user_id, a.label, a.last_used_at) for a in passlock.authenticators_for(user)
        ]


def test_passkey_first_sign_up_then_usernameless_sign_in(page, live_example):
    without_autofill(page)
    signup(page, live_example, "carol", shot="signup-filled")
    user_id, rows = rows_of(live_example, "carol")
    assert len(rows) == 1 and rows[0][1] == user_id
    sign_out(page)

    page.goto(live_example.url + "/passkey/login")
    page.click("#passlock-login button[type=submit]")
    page.wait_for_url(live_example.url + "/")
    assert page.inner_text("#current-user") == "carol"
    _, rows = rows_of(live_example, "carol")
    assert rows[0][3] is not None  # last_used_at
    assert page.js_errors == []


def test_sign_in_by_username(page, live_example):
    without_autofill(page)
    signup(page, live_example, "dave")
    sign_out(page)
    page.goto(live_example.url + "/passkey/login?next=/secret")
    page.fill("#passlock-login-username", "dave")
    page.click("#passlock-login button[type=submit]")
    page.wait_for_url(live_example.url + "/secret")
    assert page.inner_text("#current-user") == "dave"


def test_autofill_sign_in(page, live_example):
    signup(page, live_example, "erin")
    sign_out(page)
    # Conditional mediation starts when the page loads; the virtual authenticator picks its
    # passkey from the username field's autofill at once, with no click.
    page.goto(live_example.url + "/passkey/login")
    page.wait_for_url(live_example.url + "/", timeout=15_000)
    assert page.inner_text("#current-user") == "erin"


def test_sign_up_with_taken_username(page, live_example, emulator):
    signup(page, live_example, "frank")
    sign_out(page)
    before = set(emulator.passkeys)
    page.goto(live_example.url + "/passkey/signup")
    page.fill("#passlock-signup-username", "frank")
    page.click("#passlock-signup button[type=submit]")
    status = page.locator("#passlock-signup .passlock-status[data-status=error]")
    status.wait_for()
    assert "taken" in status.inner_text()
    _, rows = rows_of(live_example, "frank")
    assert len(rows) == 1
    assert set(emulator.passkeys) == before  # the passkey made for nothing was deleted


def test_rename_and_delete(page, live_example, emulator):
    page.on("dialog", lambda dialog: dialog.accept())
    signup(page, live_example, "grace")
    page.goto(live_example.url + "/passkey/")
    page.fill(".passlock-rename input[name=label]", "My laptop")
    page.click(".passlock-rename button")
    page.wait_for_selector(".passlock-passkey-label:text('My laptop')")
    assert "renamed to “My laptop”" in page.inner_text(".passlock-flashes")
    user_id, rows = rows_of(live_example, "grace")
    assert rows[0][2] == "My laptop"
    first = rows[0][0]

    # The only passkey of a passkey-only account cannot be deleted: no button, and a note.
    assert page.locator(".passlock-delete button").count() == 0
    assert "only way to sign in" in page.inner_text(".passlock-note")

    # With a second passkey, the first one can go.
    issued = emulator.issue_code()
    answer = page.request.post(
        live_example.url + "/passkey/register",
        data={"code": issued.code},
        headers={"Origin": live_example.url, "Accept": "application/json"},
    )
    assert answer.status == 201
    page.goto(live_example.url + "/passkey/")
    screenshot(page, "manage", both_widths=True)
    page.click(f'tr[data-passkey-id="{first}"] .passlock-delete button')
    page.wait_for_selector(f'tr[data-passkey-id="{first}"]', state="detached")
    assert "Passkey deleted." in page.inner_text(".passlock-flashes")
    _, rows = rows_of(live_example, "grace")
    assert [r[0] for r in rows] == [issued.authenticator_id]
    assert first not in emulator.passkeys
    # and the device was told to forget it (WebAuthn Signal API)
    for _ in range(20):
        if not page.authenticator.credentials():
            break
        page.wait_for_timeout(100)
    assert page.authenticator.credentials() == []
    assert page.js_errors == []


def test_a_refused_delete_is_explained_on_the_page(page, live_example, emulator):
    """Passlock is down: the passkey stays, and the page says why, inline, not in a popup."""
    from flask_passlock.emulator import Fault

    page.on("dialog", lambda dialog: dialog.accept() if dialog.type == "confirm" else None)
    signup(page, live_example, "ivy")
    issued = emulator.issue_code()
    page.request.post(
        live_example.url + "/passkey/register",
        data={"code": issued.code},
        headers={"Origin": live_example.url, "Accept": "application/json"},
    )
    page.goto(live_example.url + "/passkey/")
    emulator.inject(Fault(503, b"", headers={"Retry-After": "5"}))
    page.click(f'tr[data-passkey-id="{issued.authenticator_id}"] .passlock-delete button')
    alert = page.locator("[role=alert].passlock-alert[data-status=error]")
    alert.wait_for()
    assert "unavailable" in alert.inner_text()
    assert len(rows_of(live_example, "ivy")[1]) == 2


def test_a_bad_rename_returns_to_the_list(page, live_example):
    signup(page, live_example, "kim")
    page.goto(live_example.url + "/passkey/")
    page.fill(".passlock-rename input[name=label]", "   ")
    page.click(".passlock-rename button")
    page.wait_for_selector("h1:text('The passkey was not renamed')")
    assert page.locator("[role=alert].passlock-error").count() == 1
    page.click("text=Try again")
    page.wait_for_url(live_example.url + "/passkey/")


def test_step_up(page, live_example, monkeypatch):
    from flask_passlock import freshness

    signup(page, live_example, "heidi")
    page.goto(live_example.url + "/secret")
    page.wait_for_selector("#secret")  # fresh from sign-up
    an_hour_later = time.time() + 3600
    monkeypatch.setattr(freshness, "now", lambda: an_hour_later)  # the app's clock moves on
    page.goto(live_example.url + "/secret")
    page.wait_for_url("**/passkey/verify?next=/secret")
    screenshot(page, "verify-stepup")
    page.click("#passlock-verify button[type=submit]")
    page.wait_for_url(live_example.url + "/secret")
    assert page.locator("#secret").count() == 1


def test_orphaned_passkey_is_forgotten_by_the_device(page, live_example, emulator):
    """A passkey deleted at Passlock but still on the device: sign-in says so, and the device
    is told to forget it."""
    from flask_passlock.client import PasslockClient

    without_autofill(page)
    signup(page, live_example, "judy")
    _, rows = rows_of(live_example, "judy")
    with PasslockClient(emulator.tenancy_id, emulator.api_key, endpoint=emulator.url) as client:
        client.delete_passkey(rows[0][0])
    assert len(page.authenticator.credentials()) == 1
    sign_out(page)
    page.goto(live_example.url + "/passkey/login")
    page.click("#passlock-login button[type=submit]")
    status = page.locator("#passlock-login .passlock-status[data-status=error]")
    status.wait_for()
    assert "no longer exists" in status.inner_text()
    for _ in range(20):
        if not page.authenticator.credentials():
            break
        page.wait_for_timeout(100)
    assert page.authenticator.credentials() == []
    assert page.locator("#current-user").count() == 0


def test_step_up_for_an_account_without_a_passkey(page, live_example):
    """A user with no passkey is offered to create one, then goes on to the page."""
    page.goto(live_example.url + "/signup")
    page.fill("#username", "lena")
    page.click("button[type=submit]")
    page.wait_for_url("**/passkey/register")
    page.goto(live_example.url + "/secret")
    page.wait_for_url("**/passkey/verify?next=/secret")
    page.click("#passlock-verify-register")
    page.wait_for_url("**/passkey/register?next=/secret")
    page.click("#passlock-register button[type=submit]")
    page.wait_for_url("**/passkey/verify?next=/secret")
    page.click("#passlock-verify button[type=submit]")
    page.wait_for_url(live_example.url + "/secret")
    assert page.locator("#secret").count() == 1
    assert page.js_errors == []
