"""Never locked out, in a real browser: sign up with a passkey and a confirmed email address,
lose the device, get back in with a code read from the emulator's outbox, make a passkey on
the new device, delete the lost one, and sign in with the new one. Run with each browser
module (the emulator's client.js and the real Passlock library)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from flask_passlock.testing import VirtualAuthenticator

from ..recovery_helpers import code_sent_to, other_than
from .conftest import screenshot, status_of
from .test_lifecycle_browser import sign_out, without_autofill

pytestmark = pytest.mark.long


def read_code(page, emulator, address: str) -> str:
    """Open the outbox page (the development banner's link) in a new tab, and read the code
    of the newest email, which must be to ``address``."""
    href = page.get_attribute("#example-outbox", "href")
    assert href == emulator.url + "_emulator/outbox"
    outbox = page.context.new_page()
    try:
        outbox.goto(href)
        newest = outbox.locator("article").first
        assert address in newest.locator(".meta").inner_text()
        return newest.locator("mark").first.inner_text()
    finally:
        outbox.close()


def lose_the_device(page) -> None:
    """The old authenticator and its passkey are gone; a new, empty one takes its place."""
    old = page.authenticator
    old.cdp.send("WebAuthn.removeVirtualAuthenticator", {"authenticatorId": old.id})
    page.authenticator = VirtualAuthenticator(page)
    assert page.authenticator.credentials() == []


def account(live, username: str):
    from example_app import User, db, passlock

    with live.app.app_context():
        user = db.session.scalar(sa.select(User).where(User.username == username))
        return user.email, [row.id for row in passlock.authenticators_for(user)]


def sign_up_with_email(page, live, emulator, username: str, address: str) -> None:
    page.goto(live.url + "/passkey/signup")
    page.fill("#passlock-signup-email-username", username)
    page.fill("#passlock-signup-email-email", address)
    screenshot(page, "signup-email", both_widths=True)
    page.click("#passlock-signup-email button[type=submit]")
    page.wait_for_url("**/passkey/signup/email/verify")
    page.fill("#passlock-signup-code-code", read_code(page, emulator, address))
    page.click("#passlock-signup-code button[type=submit]")
    page.wait_for_url("**/passkey/signup")
    assert address in page.inner_text("#passlock-signup-confirmed")
    assert page.input_value("#passlock-signup-username") == username
    page.click("#passlock-signup button[type=submit]")
    page.wait_for_url(live.url + "/")
    assert page.inner_text("#current-user") == username


@pytest.mark.parametrize(
    "live_example",
    [{"PASSLOCK_SIGNUP_VERIFY_EMAIL": True, "EXAMPLE_EMULATOR_URL": "from the test"}],
    indirect=True,
)
def test_lost_device_journey(page, live_example, emulator):
    live = live_example
    live.app.config["EXAMPLE_EMULATOR_URL"] = emulator.url
    page.on("dialog", lambda dialog: dialog.accept())
    without_autofill(page)
    address = f"nina-{page.client_module}@example.com"
    username = f"nina-{page.client_module}"[:64]

    sign_up_with_email(page, live, emulator, username, address)
    email, (lost,) = account(live, username)
    assert email == address and len(page.authenticator.credentials()) == 1
    sign_out(page)

    lose_the_device(page)
    page.goto(live.url + "/passkey/login")
    assert page.locator(".passlock-recover-link a").inner_text() == "Lost your device?"
    page.click("#passlock-login button[type=submit]")  # the new device has no passkey...
    status = status_of(page, "#passlock-login")
    assert "This device has no passkey for this account" in status.inner_text()
    status.locator("a", has_text="Lost your device?").click()  # ...and says where to go
    page.wait_for_url("**/passkey/recover")
    page.fill("#passlock-recover-email", address.upper())
    screenshot(page, "recover", both_widths=True)
    page.click("#passlock-recover button[type=submit]")
    page.wait_for_url("**/passkey/recover/verify")
    assert address.upper() in page.inner_text(".passlock-lead")

    code = read_code(page, emulator, address)
    page.fill("#passlock-recover-code-code", f"{int(code[0]) ^ 1}{code[1:]}")  # a typo first
    page.click("#passlock-recover-code button[type=submit]")
    assert "That code is not right" in page.inner_text("[data-code=invalid_challenge_code]")
    page.fill("#passlock-recover-code-code", code)
    screenshot(page, "recover-code", both_widths=True)
    page.click("#passlock-recover-code button[type=submit]")
    page.wait_for_url("**/passkey/register?next=/passkey/")
    assert page.inner_text("#current-user") == username
    assert "signed in with a code from your email" in page.inner_text(".passlock-flashes")

    # step-up does not count the recovery: the account settings ask for a passkey
    page.goto(live.url + "/secret")
    page.wait_for_url("**/passkey/verify?next=/secret")

    page.goto(live.url + "/passkey/register?next=/passkey/")
    page.fill("#passlock-register-label", "New phone")
    page.click("#passlock-register button[type=submit]")
    page.wait_for_url("**/passkey/")
    assert "delete its passkey below" in page.inner_text(".passlock-flashes")
    _, passkeys = account(live, username)
    (new,) = [p for p in passkeys if p != lost]
    assert len(page.authenticator.credentials()) == 1
    page.click(f'tr[data-passkey-id="{lost}"] .passlock-delete button')
    page.wait_for_selector(f'tr[data-passkey-id="{lost}"]', state="detached")
    assert account(live, username)[1] == [new] and lost not in emulator.passkeys
    sign_out(page)

    page.goto(live.url + "/passkey/login?next=/secret")
    page.click("#passlock-login button[type=submit]")
    page.wait_for_url(live.url + "/secret")  # a passkey sign-in is fresh
    assert page.inner_text("#current-user") == username
    assert page.js_errors == []


@pytest.mark.parametrize("client_module", ["emulator"], indirect=True)
@pytest.mark.parametrize(
    "live_example",
    [{"PASSLOCK_SIGNUP_VERIFY_EMAIL": True}],
    indirect=True,
)
def test_the_email_code_pages_are_accessible_and_fit(page, live_example, emulator):
    from .test_pages_browser import check, post_form

    url = live_example.url
    found: dict[str, list[str]] = {}
    address = "axe@example.com"
    page.goto(url + "/passkey/recover")
    check(page, "recover-page", found)
    post_form(page, url + "/passkey/recover", {"email": "not an address"})
    check(page, "recover-invalid", found)
    post_form(page, url + "/passkey/recover", {"email": address})
    [challenge] = [c for c in emulator.challenges if c.email == address]
    page.fill("#passlock-recover-code-code", other_than(challenge.code))
    page.click("#passlock-recover-code button[type=submit]")
    check(page, "recover-wrong-code", found)
    emulator.expire_challenge(challenge.challenge_id)
    page.fill("#passlock-recover-code-code", challenge.code)
    page.click("#passlock-recover-code button[type=submit]")
    check(page, "recover-expired", found)
    page.click("#passlock-recover-resend button")
    page.fill("#passlock-recover-code-code", code_sent_to(emulator, address))
    page.click("#passlock-recover-code button[type=submit]")
    check(page, "recover-no-account", found)

    page.goto(url + "/passkey/signup")
    check(page, "signup-email-page", found)
    post_form(page, url + "/passkey/signup/email", {"username": "axe", "email": address})
    check(page, "signup-email-code", found)
    assert {name: problems for name, problems in found.items() if problems} == {}
