"""The emulator's lifecycle: a keep-alive HTTP server on loopback around the backend."""

from __future__ import annotations

import os
import ssl
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask

from . import challenges as ch
from .app import create_app
from .backend import CODE_TTL, DEFAULT_API_KEY, DEFAULT_TENANCY_ID, PAGE_SIZE, PasslockBackend
from .codes import IssuedCode
from .endpoints import Endpoints
from .faults import Fault
from .outbox import OutboxMessage
from .wsgi import IDLE_TIMEOUT, make_server, serve_in_thread


class PasslockEmulator(Endpoints):
    """Passlock on loopback, in memory (or in ``state_file``).

    :param tenancy_id: the tenancy it serves (more with :meth:`add_tenancy`).
    :param api_key: that tenancy's API key (default: the fixed development key
        ``emulator-api-key``).
    :param host: address to bind. :param port: port to bind; 0 picks a free one.
    :param rp_id: the WebAuthn relying party ID (the app's host name).
    :param rp_name: the relying party name passkey dialogs show.
    :param public_host: host name in :attr:`url` (default: ``host``).
    :param code_ttl: seconds a code, a ceremony and an id_token live.
    :param tls: ``(certfile, keyfile)`` to serve HTTPS instead of HTTP.
    :param page_size: records per page of ``GET /{t}/passkeys/``.
    :param challenge_ttl: seconds a mailbox challenge lives.
    :param challenge_attempts: wrong codes a challenge takes before it refuses every code.
    :param challenge_rate_limit: challenges an email address (or userId) may be sent...
    :param challenge_rate_window: ...per this many seconds.
    :param idle_timeout: seconds before an idle keep-alive connection is closed.
    :param state_file: a JSON file that keeps passkeys, keys, codes, challenges and the outbox
        across restarts (rewritten atomically on every change, read at start).
    """

    def __init__(
        self,
        tenancy_id: str = DEFAULT_TENANCY_ID,
        api_key: str | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        rp_id: str = "localhost",
        rp_name: str = "Passlock emulator",
        public_host: str | None = None,
        code_ttl: int = CODE_TTL,
        tls: tuple[str, str] | None = None,
        page_size: int = PAGE_SIZE,
        challenge_ttl: float = ch.CHALLENGE_TTL,
        challenge_attempts: int = ch.CHALLENGE_ATTEMPTS,
        challenge_rate_limit: int = ch.CHALLENGE_RATE_LIMIT,
        challenge_rate_window: float = ch.CHALLENGE_RATE_WINDOW,
        idle_timeout: float = IDLE_TIMEOUT,
        state_file: str | os.PathLike[str] | None = None,
    ) -> None:
        self.tenancy_id = tenancy_id
        self.api_key = api_key or DEFAULT_API_KEY
        self.host = host
        self.port = port
        self.rp_id = rp_id
        self.rp_name = rp_name
        self.code_ttl = code_ttl
        self.public_host = public_host or host
        self.tls = tls
        self.idle_timeout = idle_timeout
        #: The in-memory Passlock (every method of it is public).
        self.backend = PasslockBackend(
            tenancy_id,
            self.api_key,
            rp_id=rp_id,
            code_ttl=code_ttl,
            page_size=page_size,
            challenge_ttl=challenge_ttl,
            challenge_attempts=challenge_attempts,
            challenge_rate_limit=challenge_rate_limit,
            challenge_rate_window=challenge_rate_window,
            state_file=state_file,
        )
        self.app: Flask = create_app(self.backend, rp_name)
        self._server: Any = None
        self._thread: threading.Thread | None = None

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> PasslockEmulator:
        """Start serving in a background thread; returns ``self``."""
        if self._server is not None:
            return self
        context = None
        if self.tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*self.tls)
        self._server = make_server(self.host, self.port, self.app, context, self.idle_timeout)
        self.port = self._server.server_address[1]
        self._thread = serve_in_thread(self._server, "passlock-emulator")
        return self

    def stop(self) -> None:
        """Stop serving."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def serve_until_interrupted(self, echo: Callable[[str], object] = print) -> None:
        """Start, print the config an app needs, and serve until Ctrl-C (command line use)."""
        self.start()
        echo(f"Passlock emulator on {self.url}; configure your app with:")
        for key, value in self.app_config().items():
            echo(f"  {key}={value}")
        echo(f"Emails sent to the outbox: {self.url}_emulator/outbox")
        sys.stdout.flush()
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    def __enter__(self) -> PasslockEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Base URL, ending in ``/``."""
        scheme = "https" if self.tls else "http"
        return f"{scheme}://{self.public_host}:{self.port}/"

    # -- test helpers (the backend's, for short) --------------------------------------------

    def add_tenancy(self, tenancy_id: str, api_key: str) -> None:
        self.backend.add_tenancy(tenancy_id, api_key)

    def rotate_keys(self) -> str:
        """Sign id_tokens with a new RSA key (the old one stays in the JWKS); the new kid."""
        return self.backend.rotate_keys()

    def signing_key(self) -> tuple[str, rsa.RSAPrivateKey]:
        """``(kid, private key)`` id_tokens are signed with now (to forge tokens in tests)."""
        return self.backend.signing_key()

    def inject(self, fault: Fault, times: int = 1) -> None:
        """Answer the next ``times`` REST calls (principal, passkeys, users, challenges) with
        ``fault`` instead, or shape their answers with it (see :class:`Fault`)."""
        self.backend.inject(fault, times)

    def clear_faults(self) -> None:
        """Forget the faults not used yet."""
        self.backend.clear_faults()

    @property
    def passkeys(self) -> dict[str, dict[str, Any]]:
        """Passkey records by passkey ID (copies)."""
        return self.backend.passkeys

    @property
    def requests(self) -> list[tuple[str, str]]:
        """Every request served, as ``(method, raw request URI)``."""
        return self.backend.requests

    @property
    def peers(self) -> list[tuple[str, int]]:
        """Peer ``(host, port)`` of each REST call (to see connection reuse)."""
        return self.backend.peers

    def issue_code(self, **options: Any) -> IssuedCode:
        """Mint a code as a finished ceremony would, without a browser: for a new passkey
        (registration), or for ``authenticator_id`` (sign-in with an existing one). Options:
        ``username, authenticator_id, user_verified, platform_name, tenancy_id`` (see
        :meth:`PasslockBackend.issue_code`)."""
        return self.backend.issue_code(**options)

    @property
    def challenges(self) -> list[ch.Challenge]:
        """Pending mailbox challenges (copies, with their ``code`` and ``secret``)."""
        return self.backend.challenges

    def advance_clock(self, seconds: float) -> None:
        """Let ``seconds`` pass at Passlock without waiting (see
        :meth:`PasslockBackend.advance_clock`)."""
        self.backend.advance_clock(seconds)

    def expire_challenge(self, challenge_id: str) -> None:
        """Make a mailbox challenge expire now."""
        self.backend.expire_challenge(challenge_id)

    @property
    def outbox(self) -> list[OutboxMessage]:
        """Emails sent to the outbox, oldest first."""
        return self.backend.outbox

    def last_email(self, to: str | None = None) -> OutboxMessage | None:
        """The newest email in the outbox (to ``to``, if given), or ``None``."""
        return self.backend.last_email(to)
