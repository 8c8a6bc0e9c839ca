"""Every built-in page (and the example app's) at 1280 and 390 px: no WCAG 2.0/2.1 A or AA
violation found by axe-core, in light and dark mode, nothing wider than the screen, and a
screenshot of each (``PASSLOCK_UPDATE_SCREENSHOTS=1`` refreshes docs/screenshots).

axe-core comes with the ``axe-playwright-python`` package (the ``test`` extra);
``PASSLOCK_TEST_AXE_JS`` may point at another ``axe.min.js`` (e.g. npm's ``axe-core``).
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

import pytest

from .conftest import WIDTHS, screenshot
from .test_errors_browser import NO_WEBAUTHN
from .test_lifecycle_browser import sign_out, signup, without_autofill

pytestmark = [
    pytest.mark.long,
    pytest.mark.parametrize("client_module", ["emulator"], indirect=True),
]

AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]

#: Elements that stick out of their card (or passkey row).
STICKING_OUT = """() => {
  const found = [];
  for (const box of document.querySelectorAll(".passlock-card, .passlock-passkeys tbody tr")) {
    const outer = box.getBoundingClientRect();
    for (const element of box.querySelectorAll("*")) {
      const inner = element.getBoundingClientRect();
      if (inner.width > 1 && (inner.right > outer.right + 1 || inner.left < outer.left - 1)) {
        found.push(`${element.tagName}.${element.className} sticks out of ${box.className}`);
      }
    }
  }
  return found.slice(0, 5);
}"""


def axe_source() -> str:
    path = os.environ.get("PASSLOCK_TEST_AXE_JS")
    if path:
        return Path(path).read_text()
    package = pytest.importorskip("axe_playwright_python")
    return resources.files(package).joinpath("axe.min.js").read_text()


def violations(page) -> list[str]:
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(axe_source())
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", AXE_TAGS
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']]}"
        for v in result["violations"]
    ]


def check(page, name: str, found: dict[str, list[str]]) -> None:
    """Check the page as it is now at both widths, in light and dark mode."""
    page.wait_for_load_state("networkidle")
    for width in WIDTHS.values():
        page.set_viewport_size({"width": width, "height": 900})
        for scheme in ("light", "dark"):
            page.emulate_media(color_scheme=scheme)
            problems = violations(page)
            overflow = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            if overflow > 0:
                problems.append(f"{overflow}px wider than the screen")
            problems += page.evaluate(STICKING_OUT)
            found[f"{name} {width}px {scheme}"] = problems
        page.emulate_media(color_scheme="light")
        screenshot(page, name)
    page.set_viewport_size({"width": WIDTHS["wide"], "height": 900})


def post_form(page, action: str, fields: dict[str, str]) -> None:
    """Submit a plain HTML form from the current page (as a browser without JS would)."""
    with page.expect_navigation():
        page.evaluate(
            """([action, fields]) => {
        const form = document.createElement("form");
        form.method = "post";
        form.action = action;
        for (const [name, value] of Object.entries(fields)) {
            const input = document.createElement("input");
            input.name = name;
            input.value = value;
            form.append(input);
        }
        document.body.append(form);
        form.submit();
    }""",
            [action, fields],
        )


def test_every_page_is_accessible_and_fits_both_widths(page, live_example, emulator):
    url = live_example.url
    without_autofill(page)
    found: dict[str, list[str]] = {}

    for path, name in [
        ("/", "home"),
        ("/passkey/login", "login"),
        ("/passkey/signup", "signup"),
        ("/signup", "signup-username"),
    ]:
        page.goto(url + path)
        check(page, name, found)
    page.goto(url + "/passkey/login")
    post_form(page, url + "/passkey/login", {"code": "not-a-real-code"})
    assert page.locator(".passlock-error[data-code]").count() == 1
    check(page, "error-signed-out", found)

    signup(page, live_example, "axel")
    check(page, "home-signed-in", found)
    added = emulator.issue_code()
    page.request.post(
        url + "/passkey/register",
        data={"code": added.code, "label": "Phone"},
        headers={"Origin": url, "Accept": "application/json"},
    )
    for path, name in [
        ("/passkey/", "passkeys"),
        ("/passkey/register", "register"),
        ("/passkey/verify?next=/secret", "verify"),
        ("/secret", "secret"),
    ]:
        page.goto(url + path)
        check(page, name, found)
    page.goto(url + "/passkey/")
    page.fill(".passlock-rename input[name=label]", "   ")
    page.click(".passlock-rename button")
    page.wait_for_selector(".passlock-error")
    check(page, "error", found)
    sign_out(page)

    # The verify page of an account with no passkey, and the list with its only passkey.
    page.goto(url + "/signup")
    page.fill("#username", "bare")
    page.click("button[type=submit]")
    page.wait_for_url("**/passkey/register")
    page.goto(url + "/passkey/verify?next=/secret")
    check(page, "verify-no-passkey", found)
    page.goto(url + "/passkey/register")
    page.click("#passlock-register button[type=submit]")
    page.wait_for_url("**/passkey/")
    check(page, "passkeys-last", found)

    # A page showing an error in its status line.
    page.add_init_script(NO_WEBAUTHN)
    page.goto(url + "/passkey/signup")
    page.wait_for_selector(".passlock-status[data-status=error]")
    check(page, "signup-unsupported", found)

    problems = {page_: p for page_, p in found.items() if p}
    assert problems == {}
    assert len(found) == 14 * 4
    assert page.js_errors == []


def test_the_package_layout_when_the_app_has_none(page, live_example):
    """Without PASSLOCK_BASE_TEMPLATE the pages use passlock/base.html: styled, with a
    way back to the site and the flashed messages."""
    live_example.app.config["PASSLOCK_BASE_TEMPLATE"] = None
    url = live_example.url
    without_autofill(page)
    found: dict[str, list[str]] = {}
    page.goto(url + "/passkey/signup")
    assert page.locator("link[href$='passlock/passlock.css']").count() == 1
    check(page, "builtin-signup", found)
    page.fill("#passlock-signup-username", "plain")
    page.click("#passlock-signup button[type=submit]")
    page.wait_for_url(url + "/")
    page.goto(url + "/passkey/")
    assert page.locator(".passlock-header a.passlock-home").get_attribute("href") == "/"
    check(page, "builtin-passkeys", found)
    page.goto(url + "/passkey/register")
    check(page, "builtin-register", found)
    assert {name: p for name, p in found.items() if p} == {}
