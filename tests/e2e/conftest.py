"""Browser fixtures: the plugin's page (headless Chromium with a CDP virtual WebAuthn
authenticator) and the example app served on loopback against the emulator."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from flask_passlock.emulator import PasslockEmulator

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture
def page(passkey_page: Any) -> Any:
    """The plugin's page with a virtual authenticator (flask_passlock.testing)."""
    return passkey_page


class LiveApp:
    def __init__(self, app: Any, server: Any) -> None:
        self.app = app
        self.server = server
        self.url = f"http://localhost:{server.server_port}"


@pytest.fixture
def live_example(
    request: pytest.FixtureRequest, emulator: PasslockEmulator, tmp_path: Path
) -> Iterator[LiveApp]:
    """The example app on a free loopback port, using the session's emulator (more config
    by indirect parametrisation)."""
    from example_app import create_app

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'example.sqlite'}",
            "SECRET_KEY": "e2e",
            **emulator.app_config(),
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


def screenshot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
