"""Every way a passkey prompt can fail has its own sentence and a next step, with the
emulator's client.js and with the real Passlock library: the virtual authenticator is made
to refuse, to hold no passkey, to never answer, and the browser to lack WebAuthn."""

from __future__ import annotations

import pytest

from .conftest import authenticator_call, screenshot, status_of
from .test_lifecycle_browser import sign_out, signup, without_autofill

pytestmark = pytest.mark.long

#: Records each passlock:*-failed event's detail in window.passlockFailures.
RECORD_FAILURES = """
window.passlockFailures = [];
for (const kind of ["register", "signup", "login", "verify"]) {
  const record = (e) => window.passlockFailures.push(e.detail);
  document.addEventListener(`passlock:${kind}-failed`, record);
}
"""

NO_WEBAUTHN = """
Object.defineProperty(Navigator.prototype, "credentials", {
  get: () => undefined,
  configurable: true,
});
"""

#: The person closes the browser's prompt after a second and a half.
DISMISSED_AFTER_A_MOMENT = """
(() => {
  const get = CredentialsContainer.prototype.get;
  CredentialsContainer.prototype.get = function (options) {
    if (options && options.mediation === "conditional") return get.call(this, options);
    return new Promise((resolve, reject) => setTimeout(() => reject(new DOMException(
      "The operation either timed out or was not allowed.", "NotAllowedError")), 1500));
  };
})();
"""


def failures(page) -> list[dict]:
    return page.evaluate("window.passlockFailures")


def last_reason(page) -> str:
    page.wait_for_function("window.passlockFailures.length > 0")
    return failures(page)[-1]["reason"]


def test_cancelled(page, live_example):
    page.add_init_script(RECORD_FAILURES)
    without_autofill(page)
    signup(page, live_example, "cancel")
    sign_out(page)
    page.add_init_script(DISMISSED_AFTER_A_MOMENT)
    page.goto(live_example.url + "/passkey/login")
    page.click("#passlock-login button[type=submit]")
    status = status_of(page, "#passlock-login")
    assert "closed before it finished" in status.inner_text()
    assert last_reason(page) == "cancelled"
    assert page.locator("#current-user").count() == 0


def test_verification_failed(page, live_example):
    """Step-up requires user verification; the device can't verify the person."""
    page.add_init_script(RECORD_FAILURES)
    signup(page, live_example, "refused")
    authenticator_call(page, "setUserVerified", isUserVerified=False)
    page.goto(live_example.url + "/passkey/verify?next=/secret")
    page.click("#passlock-verify button[type=submit]")
    status = status_of(page, "#passlock-verify")
    assert "could not confirm it's you" in status.inner_text()
    assert last_reason(page) == "not_allowed"
    screenshot(page, "verify-error", both_widths=True)


def test_creation_refused(page, live_example):
    page.add_init_script(RECORD_FAILURES)
    authenticator_call(page, "setUserVerified", isUserVerified=False)
    page.goto(live_example.url + "/passkey/signup")
    page.fill("#passlock-signup-username", "nope")
    page.click("#passlock-signup button[type=submit]")
    status = status_of(page, "#passlock-signup")
    assert "Your device refused" in status.inner_text()
    assert last_reason(page) == "not_allowed"


def test_no_passkey_on_this_device(page, live_example):
    page.add_init_script(RECORD_FAILURES)
    without_autofill(page)
    signup(page, live_example, "elsewhere")
    sign_out(page)
    authenticator_call(page, "clearCredentials")
    page.goto(live_example.url + "/passkey/login")
    page.click("#passlock-login button[type=submit]")
    status = status_of(page, "#passlock-login")
    assert "This device has no passkey for this account" in status.inner_text()
    assert last_reason(page) == "no_passkey"
    screenshot(page, "login-error", both_widths=True)

    # Signing in by username (its passkeys listed) says the same.
    page.fill("#passlock-login-username", "elsewhere")
    page.click("#passlock-login button[type=submit]")
    page.wait_for_function("window.passlockFailures.length > 1")
    assert last_reason(page) == "no_passkey"


def test_timed_out_with_a_hint_on_the_way(page, live_example):
    page.add_init_script(RECORD_FAILURES)
    without_autofill(page)
    signup(page, live_example, "slow")
    sign_out(page)
    authenticator_call(page, "setAutomaticPresenceSimulation", enabled=False)
    page.goto(live_example.url + "/passkey/login")
    page.evaluate(
        """() => {
        const form = document.getElementById("passlock-login");
        form.dataset.timeout = "4000";
        form.dataset.fallbackUrl = "/signup";
        form.dataset.fallbackLabel = "Sign in another way";
    }"""
    )
    page.click("#passlock-login button[type=submit]")
    hint = page.locator("#passlock-login .passlock-hint")
    hint.wait_for()
    assert "Nothing happening?" in hint.inner_text()
    assert hint.locator("a").get_attribute("href") == "/signup"
    status = status_of(page, "#passlock-login")
    assert "timed out" in status.inner_text()
    assert status.locator("a").inner_text() == "Sign in another way"
    assert last_reason(page) == "timed_out"
    assert hint.is_hidden()


def test_unsupported_browser(page, live_example):
    page.add_init_script(RECORD_FAILURES)
    page.add_init_script(NO_WEBAUTHN)
    page.goto(live_example.url + "/passkey/signup")
    status = status_of(page, "#passlock-signup")  # said at once, before any click
    assert "This browser can't use passkeys" in status.inner_text()
    page.fill("#passlock-signup-username", "old")
    page.click("#passlock-signup button[type=submit]")
    assert last_reason(page) == "unsupported"
    assert page.js_errors == []


def test_opened_by_ip_address(page, live_example):
    """On 127.0.0.1 every passkey prompt would fail: the page says to use localhost, and
    links to the same page there."""
    page.add_init_script(RECORD_FAILURES)
    page.goto(f"http://127.0.0.1:{live_example.port}/passkey/signup?next=/secret")
    status = status_of(page, "#passlock-signup")
    assert "IP address (127.0.0.1)" in status.inner_text()
    banner_link = page.locator(".example-banner a").get_attribute("href")
    assert banner_link == f"http://localhost:{live_example.port}/passkey/signup?next=/secret"
    page.fill("#passlock-signup-username", "ip")
    page.click("#passlock-signup button[type=submit]")
    assert last_reason(page) == "ip_address"
    screenshot(page, "ip-address", both_widths=True)
    status.locator("a").click()
    page.wait_for_url(f"http://localhost:{live_example.port}/passkey/signup?next=/secret")
    page.fill("#passlock-signup-username", "ip")
    page.click("#passlock-signup button[type=submit]")
    page.wait_for_url(live_example.url + "/secret")
