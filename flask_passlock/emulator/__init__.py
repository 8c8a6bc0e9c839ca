"""A Passlock emulator: a real HTTP server on loopback that speaks Passlock's protocol.

It serves the REST API the backend calls (code exchange by GET or by POST with ``{userId}``,
passkeys with cursor pages, a user's passkeys, mailbox challenges, the JWKS), the browser
endpoints ``@passlock/client`` calls (registration and authentication ceremonies, verified for
real with the ``webauthn`` package, with CORS), and an ES module at ``/client.js`` exporting
``registerPasskey`` and ``authenticatePasskey`` with the same signatures and results as
``@passlock/client/safe``. Its answers are checked against the real ``@passlock/server``
library by the project's contract test. Every error is JSON with ``_tag`` and ``message``
(and the fields Passlock's schema requires, e.g. ``retryAfterSeconds``).

From Python::

    with PasslockEmulator() as emulator:
        app.config.update(emulator.app_config())

From the command line: ``python -m flask_passlock.emulator --port 8787`` (or
``passlock-emulator``, or ``flask passlock emulator``).

Development defaults
    Tenancy ``emulator``, API key ``emulator-api-key``: fixed, so an app's development config
    never changes between runs (``--tenancy-id`` / ``--api-key`` override them). State lives in
    memory unless a state file is given (``state_file=`` / ``--state FILE``): then passkeys,
    signing keys, codes, mailbox challenges and the outbox are saved there as JSON on every
    change (written atomically) and loaded at start, so a restart forgets nothing.

Mailbox challenges
    ``POST /{t}/challenges``, ``GET|DELETE /{t}/challenges/{id}``, ``POST
    /{t}/challenges/verify`` follow Passlock's rules: 6-digit codes, ``challenge_ttl`` (10
    minutes), ``challenge_attempts`` wrong codes (5), then ``@error/ChallengeAttemptsExceeded``;
    ``challenge_rate_limit`` challenges (5) per email address or userId per
    ``challenge_rate_window`` seconds (600), then ``@error/ChallengeRateLimited`` with
    ``retryAfterSeconds`` (``skipRateLimit`` skips it). A verified challenge is used up. Tests
    read :attr:`PasslockEmulator.challenges` and call :meth:`~PasslockEmulator.expire_challenge`,
    or :meth:`~PasslockEmulator.advance_clock` to let time pass without sleeping.

The development outbox (the emulator's own, not Passlock's)
    A local mail catcher, so an app can "send" its challenge emails offline:

    - ``POST /{tenancyId}/_emulator/outbox`` with ``Authorization: Bearer {apiKey}`` and a JSON
      body ``{"to": str, "subject": str, "text": str, "html": str (optional)}`` stores a
      message and answers 201 ``{"_tag": "OutboxMessage", "id", "to", "subject", "text",
      "html"?, "sentAt" (epoch ms)}``; a missing or empty field is 400 ``@error/BadRequest``,
      a wrong key 403 ``@error/Forbidden``.
    - ``GET /_emulator/outbox``: the messages as a page (newest first; subject, recipient,
      time, text, with one-time codes highlighted). ``GET /_emulator/outbox.json``:
      ``{"_tag": "Outbox", "messages": [...]}``, newest first.
    - Python: :attr:`PasslockEmulator.outbox` (oldest first) and
      :meth:`PasslockEmulator.last_email` ``(to=None)``.

Faults
    :meth:`PasslockEmulator.inject` answers the next REST calls with a :class:`Fault`: a status
    and body (``Fault.error(tag, status, **fields)`` builds Passlock's tagged JSON), a delay,
    a TCP reset, a body dripped a byte at a time (``Fault(drip=0.5)``, to test a total
    deadline), extra headers. ``idle_timeout=`` closes idle keep-alive connections after that
    many seconds, to test a client's handling of a reused connection the server closed.

Needs the ``emulator`` extra: ``pip install 'flask-passlock[emulator]'``.
"""

from __future__ import annotations

from .backend import DEFAULT_API_KEY, DEFAULT_TENANCY_ID, PasslockBackend
from .challenges import Challenge
from .codes import IssuedCode
from .errors import ApiError
from .faults import Fault
from .outbox import OutboxMessage
from .process import EmulatorProcess
from .server import PasslockEmulator
from .state import StateFileError

__all__ = [
    "PasslockEmulator",
    "EmulatorProcess",
    "PasslockBackend",
    "IssuedCode",
    "Fault",
    "ApiError",
    "Challenge",
    "OutboxMessage",
    "StateFileError",
    "DEFAULT_TENANCY_ID",
    "DEFAULT_API_KEY",
]
