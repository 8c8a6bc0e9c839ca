"""Pytest fixtures for apps that use Flask-Passlock (registered as a ``pytest11`` plugin).

They are opt-in: nothing runs unless a test asks for a fixture by name.

``passlock_emulator``
    A :class:`~flask_passlock.emulator.PasslockEmulator` on loopback, one per session.
``passlock_config``
    The ``PASSLOCK_*`` config for it; put it in your ``app`` fixture's config.
``passlock_code``
    ``passlock_code(username="ada", authenticator_id=None)`` mints a code (and id_token) as a
    finished browser ceremony would, for plain ``app.test_client()`` tests: a new passkey, or
    a sign-in with ``authenticator_id``.
``PasslockTestClient``
    A Flask test client that sends a same-origin ``Origin`` header with every request and
    signs a user in: ``app.test_client_class = PasslockTestClient``, then
    ``app.test_client(user=user)`` (``fresh=True`` also records a fresh passkey check, for
    views behind ``fresh_passkey_required``).
``passkey_browser`` / ``passkey_page``
    Headless Chromium (``PASSLOCK_TEST_CHROMIUM``, else ``chromium-headless-shell`` or
    ``chromium`` on ``PATH``) through
    Playwright, and a page with a CDP virtual WebAuthn authenticator
    (``page.authenticator.credentials()``). Skipped without Playwright or Chromium, failed
    instead when the ``CI`` environment variable is set.

Example::

    def test_sign_in(app, passlock_code):
        issued = passlock_code()        # register, then sign in with the same passkey
        client = app.test_client()
        ...
        client.post("/passkey/login", json={"code": passlock_code(
            authenticator_id=issued.authenticator_id).code}, headers={"Origin": "http://localhost"})
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

#: Chromium flags for a sandbox-less, offline CI machine.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


class PasslockTestClient(FlaskClient):
    """A test client for apps that use Flask-Passlock (as Flask-Login's ``FlaskLoginClient``).

    Every request carries ``Origin: http://localhost`` (the app's own origin in tests), so
    the blueprint's cross-site check passes; give ``headers={"Origin": ...}`` to try another,
    or ``headers={"Origin": None}`` to send none.
    ``user=`` signs that user in (through Flask-Login's session keys); ``fresh=True`` also
    records a passkey check made just now.
    """

    #: The origin sent with every request.
    origin = "http://localhost"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        user = kwargs.pop("user", None)
        fresh = kwargs.pop("fresh", False)
        super().__init__(*args, **kwargs)
        if user is not None:
            self.sign_in(user, fresh=fresh)

    def sign_in(self, user: Any, *, fresh: bool = False) -> None:
        """Make ``user`` (a user, or its id as Flask-Login's ``get_id()`` gives it) the
        signed-in user of this client."""
        from . import freshness

        with self.application.app_context():
            key = str(user) if isinstance(user, (int, str)) else freshness.user_key(user)
        with self.session_transaction() as session:
            session["_user_id"] = key
            session["_fresh"] = True
            session[freshness.LOGIN] = "test-login"
            if fresh:
                session[freshness.VERIFIED] = {
                    "at": int(time.time()),
                    "user": key,
                    "login": "test-login",
                    "how": "passkey",
                }

    def open(self, *args: Any, **kwargs: Any) -> Any:
        headers = dict(kwargs.pop("headers", None) or {})
        headers.setdefault("Origin", self.origin)
        headers = {k: v for k, v in headers.items() if v is not None}  # None: leave it out
        return super().open(*args, headers=headers, **kwargs)


def chromium_path() -> str:
    """The browser the page fixtures launch: ``PASSLOCK_TEST_CHROMIUM``, else Chromium's
    headless shell (the same engine without the desktop browser around it: the same pages at
    about half the CPU), else the full Chromium."""
    return (
        os.environ.get("PASSLOCK_TEST_CHROMIUM")
        or shutil.which("chromium-headless-shell")
        or shutil.which("chromium")
        or shutil.which("chromium-browser")
        or "/usr/bin/chromium"
    )


@contextmanager
def gunicorn_server(
    app: str,
    *,
    env: Mapping[str, str],
    cwd: str | Path | None = None,
    workers: int = 4,
    threads: int = 1,
    ready_path: str = "/",
) -> Iterator[str]:
    """Serve ``app`` (a gunicorn app spec, e.g. ``"myapp:create_app()"``) with several worker
    processes on a free loopback port, for races and load tests; yields the base URL
    (``http://127.0.0.1:PORT``) once ``ready_path`` answers, and stops the server after."""
    import requests

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "-w",
        str(workers),
        "--threads",
        str(threads),
        "-b",
        f"127.0.0.1:{port}",
        "--log-level",
        "warning",
        app,
    ]
    process = subprocess.Popen(command, cwd=cwd, env=dict(env))  # noqa: S603 - our own argv
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(base + ready_path, timeout=5)
                break
            except requests.RequestException:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"gunicorn did not start serving {app}") from None
                time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class VirtualAuthenticator:
    """A CDP virtual authenticator (internal, resident keys, user verification) on a page."""

    def __init__(self, page: Any) -> None:
        self.cdp = page.context.new_cdp_session(page)
        self.cdp.send("WebAuthn.enable", {"enableUI": False})
        options = {
            "protocol": "ctap2",
            "transport": "internal",
            "hasResidentKey": True,
            "hasUserVerification": True,
            "isUserVerified": True,
            "automaticPresenceSimulation": True,
        }
        result = self.cdp.send("WebAuthn.addVirtualAuthenticator", {"options": options})
        self.id: str = result["authenticatorId"]

    def credentials(self) -> list[dict[str, Any]]:
        """The credentials the authenticator holds."""
        answer = self.cdp.send("WebAuthn.getCredentials", {"authenticatorId": self.id})
        return list(answer["credentials"])


@pytest.fixture(scope="session")
def passlock_emulator() -> Iterator[Any]:
    """A Passlock emulator on loopback for the whole test session."""
    from .emulator import PasslockEmulator

    with PasslockEmulator() as emulator:
        yield emulator


@pytest.fixture
def passlock_config(passlock_emulator: Any) -> dict[str, str]:
    """``PASSLOCK_*`` config pointing at :func:`passlock_emulator`."""
    return dict(passlock_emulator.app_config())


@pytest.fixture
def passlock_code(passlock_emulator: Any) -> Callable[..., Any]:
    """A function minting codes as a browser ceremony would (see the module docs)."""
    return passlock_emulator.issue_code  # type: ignore[no-any-return]


@pytest.fixture(scope="session")
def passkey_browser() -> Iterator[Any]:
    """Headless Chromium driven by Playwright."""
    sync_api = pytest.importorskip("playwright.sync_api")
    executable = chromium_path()
    if not os.path.exists(executable):
        message = f"Chromium not found at {executable} (apt-get install chromium-headless-shell)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def passkey_page(passkey_browser: Any) -> Iterator[Any]:
    """A fresh page with a virtual authenticator (``page.authenticator``) and the page's
    uncaught JavaScript errors in ``page.js_errors``."""
    context = passkey_browser.new_context()
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.authenticator = VirtualAuthenticator(page)
    page.js_errors = errors
    yield page
    context.close()
