"""The pages work under a strict Content-Security-Policy, and leak no secret."""

from __future__ import annotations

from urllib.parse import urlsplit

from .test_lifecycle_browser import signup


def test_sign_up_and_sign_in_under_strict_csp(page, live_example, emulator):
    passlock = urlsplit(emulator.url)
    passlock_origin = f"{passlock.scheme}://{passlock.netloc}"
    policy = (
        "default-src 'none'; "
        f"script-src 'self' {passlock_origin}; "
        f"connect-src 'self' {passlock_origin}; "
        "style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    )

    @live_example.app.after_request
    def csp(response):
        response.headers["Content-Security-Policy"] = policy
        return response

    violations = []
    page.on(
        "console",
        lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None,
    )
    pages = []
    page.on(
        "response",
        lambda r: (
            pages.append(r.text())
            if r.url.startswith(live_example.url) and "html" in r.headers.get("content-type", "")
            else None
        ),
    )

    signup(page, live_example, "ivan")
    page.click("header form button")
    page.wait_for_selector("text=Sign in")
    page.add_init_script("PublicKeyCredential.isConditionalMediationAvailable = async () => false;")
    page.goto(live_example.url + "/passkey/login")
    page.click("#passlock-login button[type=submit]")
    page.wait_for_url(live_example.url + "/")
    assert page.inner_text("#current-user") == "ivan"
    assert violations == []
    assert page.js_errors == []
    assert pages and not any(emulator.api_key in html for html in pages)
