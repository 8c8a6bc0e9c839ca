"""Browser fixtures: the plugin's page (headless Chromium with a CDP virtual WebAuthn
authenticator) and the example app served on loopback against the emulator.

Every browser flow runs once per browser module: the emulator's own ``client.js`` always,
and the real Passlock library (``@passlock/browser`` 2.4.3 and ``@passlock/client`` 2.4.2,
``/safe`` entry points bundled into one ES module each) whenever
``../shared/passlock-client/`` exists beside the repository (CI has it). The real bundles are
served by a small static server on loopback with ``Content-Type: text/javascript`` and CORS,
``PASSLOCK_CLIENT_URL`` points at it, and the library talks to the emulator through
``PASSLOCK_BROWSER_ENDPOINT``.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from flask_passlock.emulator import PasslockEmulator

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
SCREENSHOTS = ROOT / "docs" / "screenshots"
#: Where the real Passlock browser bundles live (see its README.md).
REAL_CLIENT_DIR = ROOT.parent / "shared" / "passlock-client"
#: Browser modules the flows run with: name -> bundle file (None: the emulator's client.js).
MODULES = {
    "emulator": None,
    "passlock-browser-2.4.3": "passlock-browser-2.4.3-safe.js",
    "passlock-client-2.4.2": "passlock-client-2.4.2-safe.js",
}
#: Widths the pages are checked at: a laptop and a phone.
WIDTHS = {"wide": 1280, "narrow": 390}


def _module_params() -> list[Any]:
    params = []
    for name, bundle in MODULES.items():
        marks = []
        if bundle is not None and not (REAL_CLIENT_DIR / bundle).is_file():
            marks.append(
                pytest.mark.skip(
                    reason=f"the real Passlock library is not at {REAL_CLIENT_DIR / bundle} "
                    "(CI has it): these flows ran with the emulator's client.js only"
                )
            )
        params.append(pytest.param(name, marks=marks, id=name))
    return params


class _BundleHandler(SimpleHTTPRequestHandler):
    """Serves the real bundles as JavaScript, to any origin, and nothing else."""

    extensions_map = {".js": "text/javascript; charset=utf-8"}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, directory=str(REAL_CLIENT_DIR), **kwargs)

    def end_headers(self) -> None:
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        if not self.path.split("?")[0].endswith(".js"):
            self.send_error(404)
            return
        super().do_GET()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="session")
def bundle_server() -> Iterator[str]:
    """Base URL (ending in /) of a static server holding the real Passlock bundles."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _BundleHandler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(params=_module_params())
def client_module(request: pytest.FixtureRequest) -> str:
    """The browser module this test runs with (see MODULES)."""
    return str(request.param)


@pytest.fixture
def client_url(client_module: str, emulator: PasslockEmulator, request: Any) -> str:
    bundle = MODULES[client_module]
    if bundle is None:
        return emulator.client_url
    return str(request.getfixturevalue("bundle_server")) + bundle


@pytest.fixture
def page(passkey_page: Any, client_module: str) -> Any:
    """The plugin's page with a virtual authenticator (flask_passlock.testing)."""
    passkey_page.client_module = client_module
    return passkey_page


class LiveApp:
    def __init__(self, app: Any, server: Any) -> None:
        self.app = app
        self.server = server
        self.port = server.server_port
        self.url = f"http://localhost:{server.server_port}"


@pytest.fixture
def live_example(
    request: pytest.FixtureRequest, emulator: PasslockEmulator, client_url: str, tmp_path: Path
) -> Iterator[LiveApp]:
    """The example app on a free loopback port, using the session's emulator and the
    browser module of this test (more config by indirect parametrisation)."""
    from example_app import create_app

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'example.sqlite'}",
            "SECRET_KEY": "e2e",
            **emulator.app_config(),
            "PASSLOCK_CLIENT_URL": client_url,
            "PASSLOCK_BROWSER_ENDPOINT": emulator.url,
            # The flows start passkey-first sign-up from a username alone; the example app's
            # own default (an email confirmed first) runs in test_recovery_browser.py.
            "PASSLOCK_SIGNUP_VERIFY_EMAIL": False,
            **getattr(request, "param", {}),
        }
    )
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield LiveApp(app, server)
    finally:
        server.shutdown()
        server.server_close()
        with app.app_context():
            from example_app import db

            db.engine.dispose()


def screenshot(page: Any, name: str, both_widths: bool = False) -> None:
    """Save a full-page screenshot to test-artifacts/<module>/<name>-<width>.png (at both
    WIDTHS when asked); with PASSLOCK_UPDATE_SCREENSHOTS=1, the emulator runs also refresh
    docs/screenshots."""
    if both_widths:
        size = page.viewport_size
        for width in WIDTHS.values():
            page.set_viewport_size({"width": width, "height": size["height"]})
            screenshot(page, name)
        page.set_viewport_size(size)
        return
    width = page.viewport_size["width"]
    module = getattr(page, "client_module", "emulator")
    folder = ARTIFACTS / module
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}-{width}.png"
    page.screenshot(path=str(path), full_page=True)
    if os.environ.get("PASSLOCK_UPDATE_SCREENSHOTS") and module == "emulator":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, SCREENSHOTS / path.name)


def status_of(page: Any, form: str, state: str = "error") -> Any:
    """The status line of ``form`` once it shows ``state``."""
    locator = page.locator(f"{form} .passlock-status[data-status={state}]")
    locator.wait_for()
    return locator


def authenticator_call(page: Any, method: str, **params: Any) -> Any:
    """A CDP WebAuthn call on the page's virtual authenticator."""
    return page.authenticator.cdp.send(
        f"WebAuthn.{method}", {"authenticatorId": page.authenticator.id, **params}
    )


#: The flows also run with @passlock/browser 2.4.3 (the same library as @passlock/client
#: 2.4.2, renamed): the contract cases and the journeys a person makes end to end. Every other
#: flow runs with the emulator's client.js and @passlock/client 2.4.2.
EVERY_MODULE = {
    "test_client_contract_browser.py",
    "test_passkey_first_sign_up_then_usernameless_sign_in",
    "test_sign_in_by_username",
    "test_rename_and_delete",
    "test_lost_device_journey",
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    def renamed_only(item: pytest.Item) -> bool:
        callspec = getattr(item, "callspec", None)
        if callspec is None or callspec.params.get("client_module") != "passlock-browser-2.4.3":
            return False
        name = getattr(item, "originalname", item.name)
        return item.path.name not in EVERY_MODULE and name not in EVERY_MODULE

    left_out = [item for item in items if renamed_only(item)]
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = [item for item in items if not renamed_only(item)]
