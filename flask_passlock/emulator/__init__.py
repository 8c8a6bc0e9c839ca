"""A Passlock emulator: a real HTTP server on loopback that speaks Passlock's protocol.

It serves the REST API the backend calls (code exchange, passkey management, JWKS), the
browser endpoints ``@passlock/client`` calls (registration and authentication ceremonies,
verified for real with the ``webauthn`` package, with CORS), and an ES module at ``/client.js``
exporting ``registerPasskey`` and ``authenticatePasskey`` with the same signatures and results
as ``@passlock/client/safe``. State lives in memory.

From Python::

    with PasslockEmulator() as emulator:
        app.config.update(emulator.app_config())

From the command line: ``python -m flask_passlock.emulator --port 8787``.

Needs the ``emulator`` extra: ``pip install 'flask-passlock[emulator]'``.
"""

from __future__ import annotations

from .server import Fault, IssuedCode, PasslockEmulator

__all__ = ["PasslockEmulator", "IssuedCode", "Fault"]
