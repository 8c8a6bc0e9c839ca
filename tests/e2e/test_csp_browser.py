"""The pages work under a strict Content-Security-Policy (no inline script or style), and
leak no secret."""

from __future__ import annotations

from urllib.parse import urlsplit

from .test_lifecycle_browser import sign_out, signup


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def test_every_flow_under_a_strict_csp(page, live_example, emulator, client_url):
    passlock = origin_of(emulator.url)
    client = origin_of(client_url)
    policy = (
        "default-src 'none'; "
        f"script-src 'self' {client}; "
        f"connect-src 'self' {passlock}; "
        "style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; "
        "frame-ancestors 'none'"
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

    page.on("dialog", lambda dialog: dialog.accept())
    signup(page, live_example, "ivan")
    page.goto(live_example.url + "/passkey/")
    # the stylesheet applies (no inline style is needed for the look)
    assert (
        page.evaluate("getComputedStyle(document.querySelector('.passlock-card')).borderRadius")
        == "12px"
    )
    sign_out(page)
    page.add_init_script("PublicKeyCredential.isConditionalMediationAvailable = async () => false;")
    page.goto(live_example.url + "/passkey/login")
    page.click("#passlock-login button[type=submit]")
    page.wait_for_url(live_example.url + "/")
    assert page.inner_text("#current-user") == "ivan"
    assert violations == []
    assert page.js_errors == []
    assert pages and not any(emulator.api_key in html for html in pages)
