"""The emulator's in-memory Passlock: every piece of state behind one lock, public methods only.

No HTTP here: :mod:`.rest_api` and :mod:`.browser_api` are thin layers over these methods, and
tests call them directly (through :class:`~.server.PasslockEmulator`). A refusal is an
:class:`~.errors.ApiError` carrying Passlock's tagged body.
"""

from __future__ import annotations

import hmac
import os
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa
from webauthn.helpers import bytes_to_base64url

from . import challenges as ch
from .clock import Clock
from .codes import CodeBook, IssuedCode
from .errors import bad_request, forbidden
from .faults import Fault
from .keys import SigningKeys
from .outbox import Outbox, OutboxMessage
from .passkeys import PasskeyBook, new_record, passkey_json, summary_json
from .state import StateFile

#: How long a code, a ceremony session and an id_token live, in seconds (as Passlock).
CODE_TTL = 300
#: Records per page of ``GET /{t}/passkeys/``.
PAGE_SIZE = 50
#: The development tenancy and API key (fixed, so an app's config never changes).
DEFAULT_TENANCY_ID = "emulator"
DEFAULT_API_KEY = "emulator-api-key"


class PasslockBackend:
    """Tenancies, passkeys, codes, ceremony sessions, signing keys, mailbox challenges, the
    outbox and injected faults. Thread-safe; saved to ``state_file`` on every change."""

    def __init__(
        self,
        tenancy_id: str = DEFAULT_TENANCY_ID,
        api_key: str = DEFAULT_API_KEY,
        *,
        rp_id: str = "localhost",
        code_ttl: int = CODE_TTL,
        page_size: int = PAGE_SIZE,
        challenge_ttl: float = ch.CHALLENGE_TTL,
        challenge_attempts: int = ch.CHALLENGE_ATTEMPTS,
        challenge_rate_limit: int = ch.CHALLENGE_RATE_LIMIT,
        challenge_rate_window: float = ch.CHALLENGE_RATE_WINDOW,
        state_file: str | os.PathLike[str] | None = None,
    ) -> None:
        if page_size < 1:
            raise ValueError("page_size must be at least 1")
        self.tenancy_id = tenancy_id
        self.rp_id = rp_id
        self.code_ttl = code_ttl
        self.page_size = page_size
        self.lock = threading.RLock()
        #: Passlock's clock: :meth:`advance_clock` moves it ahead.
        self.clock = Clock()
        self._tenancies = {tenancy_id: api_key}
        self._passkeys = PasskeyBook(self.clock)
        self._codes = CodeBook(code_ttl, self.clock)
        self._keys = SigningKeys()
        self._challenges = ch.ChallengeBook(
            ttl=challenge_ttl,
            max_attempts=challenge_attempts,
            rate_limit=challenge_rate_limit,
            rate_window=challenge_rate_window,
            clock=self.clock,
        )
        self._outbox = Outbox()
        self._faults: list[Fault] = []
        #: Every request served, as ``(method, raw request URI)``.
        self.requests: list[tuple[str, str]] = []
        #: Peer ``(host, port)`` of each REST call (to see connection reuse).
        self.peers: list[tuple[str, int]] = []
        self._state = StateFile(state_file) if state_file is not None else None
        saved = self._state.read() if self._state is not None else None
        if saved is None:
            self._keys.rotate()
        else:
            self._restore(saved)
            self._tenancies[tenancy_id] = api_key
        self._save()

    @contextmanager
    def _change(self) -> Iterator[None]:
        """Hold the lock; save the state after, whether the change succeeded or not."""
        with self.lock:
            try:
                yield
            finally:
                self._save()

    # -- tenancies --------------------------------------------------------------------------

    def add_tenancy(self, tenancy_id: str, api_key: str) -> None:
        with self._change():
            self._tenancies[tenancy_id] = api_key

    def has_tenancy(self, tenancy_id: str) -> bool:
        with self.lock:
            return tenancy_id in self._tenancies

    def check_api_key(self, tenancy_id: str, api_key: str) -> None:
        """``@error/Forbidden`` unless ``api_key`` is the tenancy's (compared in constant time)."""
        with self.lock:
            expected = self._tenancies.get(tenancy_id)
        if expected is None or not hmac.compare_digest(api_key.encode(), expected.encode()):
            raise forbidden()

    # -- passkeys ---------------------------------------------------------------------------

    @property
    def passkeys(self) -> dict[str, dict[str, Any]]:
        """Passkey records by passkey ID (copies)."""
        with self.lock:
            return self._passkeys.all()

    def get_passkey(self, tenancy: str, passkey_id: str) -> dict[str, Any]:
        """``GET /{t}/passkeys/{id}``: the ``Passkey``."""
        with self.lock:
            return passkey_json(self._passkeys.find(tenancy, passkey_id))

    def get_record(self, tenancy: str, passkey_id: str) -> dict[str, Any]:
        """The emulator's own record of a passkey (a copy)."""
        with self.lock:
            return dict(self._passkeys.find(tenancy, passkey_id))

    def find_by_credential(self, tenancy: str, credential_id: Any) -> dict[str, Any] | None:
        """The record (a copy) of the passkey with this WebAuthn credential ID, if any."""
        with self.lock:
            passkey = self._passkeys.by_credential(tenancy, credential_id)
            return None if passkey is None else dict(passkey)

    def credential_ids(self, tenancy: str, passkey_ids: Any) -> list[str]:
        """The credential IDs of those of ``passkey_ids`` that are this tenancy's passkeys."""
        with self.lock:
            return self._passkeys.credential_ids(tenancy, passkey_ids)

    def update_passkey(
        self, tenancy: str, passkey_id: str, *, user_id: Any = None, username: Any = None
    ) -> dict[str, Any]:
        """``PATCH /{t}/passkeys/{id}`` ``{userId?, username?}``: the updated ``Passkey``."""
        with self._change():
            updated = self._passkeys.update(tenancy, passkey_id, userId=user_id, username=username)
            return passkey_json(updated)

    def delete_passkey(self, tenancy: str, passkey_id: str) -> dict[str, Any]:
        """``DELETE /{t}/passkeys/{id}``: the deleted ``Passkey``."""
        with self._change():
            return passkey_json(self._passkeys.delete(tenancy, passkey_id))

    def list_passkeys(
        self, tenancy: str, cursor: str | None = None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """``GET /{t}/passkeys/?cursor=``: a page of ``PasskeySummary`` records (oldest first,
        :attr:`page_size` at most) and the next page's cursor (``None`` on the last page)."""
        with self.lock:
            page, cursor = self._passkeys.page(tenancy, cursor, self.page_size)
            return [summary_json(p) for p in page], cursor

    def update_user_passkeys(
        self, tenancy: str, user_id: str, username: Any
    ) -> list[dict[str, Any]]:
        """``PATCH /{t}/users/{userId}/passkeys/``: each of the user's passkeys, renamed."""
        if not isinstance(username, str) or not username:
            raise bad_request("username must be a non-empty string")
        with self._change():
            found = self._passkeys.of_user(tenancy, user_id)
            return [
                passkey_json(self._passkeys.update(tenancy, p["id"], username=username))
                for p in found
            ]

    def delete_user_passkeys(self, tenancy: str, user_id: str) -> list[dict[str, Any]]:
        """``DELETE /{t}/users/{userId}/passkeys/``: each of the user's passkeys, deleted."""
        with self._change():
            found = self._passkeys.of_user(tenancy, user_id)
            return [passkey_json(self._passkeys.delete(tenancy, p["id"])) for p in found]

    # -- ceremonies and codes ---------------------------------------------------------------

    def register_passkey(
        self,
        tenancy: str,
        *,
        user_verified: bool = True,
        metadata: dict[str, Any] | None = None,
        passkey_id: str | None = None,
        **fields: Any,
    ) -> IssuedCode:
        """Store a new passkey (``fields`` as :func:`.passkeys.new_record` takes them) and mint
        the code of its registration."""
        fields.setdefault("user_handle", bytes_to_base64url(secrets.token_bytes(16)))
        record = new_record(
            tenancy, passkey_id or secrets.token_urlsafe(16), now=self.clock.ms(), **fields
        )
        with self._change():
            self._passkeys.add(record)
            return self._codes.mint(tenancy, record, user_verified, metadata or {}, self._keys.sign)

    def authenticate_passkey(
        self,
        tenancy: str,
        passkey_id: str,
        *,
        user_verified: bool = True,
        metadata: dict[str, Any] | None = None,
        counter: int | None = None,
    ) -> IssuedCode:
        """Record a sign-in with a stored passkey and mint its code."""
        with self._change():
            passkey = self._passkeys.find(tenancy, passkey_id)
            if counter is not None:
                passkey["counter"] = counter
            passkey["lastUsed"] = self.clock.ms()
            return self._codes.mint(
                tenancy, passkey, user_verified, metadata or {}, self._keys.sign
            )

    def issue_code(
        self,
        *,
        username: str = "user",
        authenticator_id: str | None = None,
        user_verified: bool = True,
        platform_name: str | None = None,
        tenancy_id: str | None = None,
    ) -> IssuedCode:
        """Mint a code as a finished ceremony would, without a browser: for a new passkey
        (registration), or for the existing ``authenticator_id`` (sign-in)."""
        tenancy = tenancy_id or self.tenancy_id
        with self.lock:
            if authenticator_id is not None and authenticator_id in self._passkeys:
                return self.authenticate_passkey(
                    tenancy, authenticator_id, user_verified=user_verified
                )
            return self.register_passkey(
                tenancy,
                user_verified=user_verified,
                passkey_id=authenticator_id,
                credential_id=secrets.token_bytes(16),
                public_key=b"",
                username=username,
                aaguid="00000000-0000-0000-0000-000000000000",
                rp_id=self.rp_id,
                platform_name=platform_name,
            )

    def exchange_code(self, tenancy: str, code: str, user_id: Any = None) -> dict[str, Any]:
        """``GET /{t}/principal/{code}`` (or ``POST`` with ``{userId}``, which assigns Passlock's
        user id to the passkey first): the ``ExtendedPrincipal``. A code works once."""
        if user_id is not None and (not isinstance(user_id, str) or not user_id):
            raise bad_request("userId must be a non-empty string")
        with self._change():
            principal = self._codes.take(tenancy, code)
            if user_id is not None:
                if principal["authenticatorId"] in self._passkeys:
                    self._passkeys.update(tenancy, principal["authenticatorId"], userId=user_id)
                principal["userId"] = user_id
            return principal

    def open_session(self, tenancy: str, kind: str, **data: Any) -> str:
        """Remember a ceremony in progress; returns its ``sessionToken``."""
        with self.lock:
            return self._codes.open_session(tenancy, kind, data)

    def take_session(self, tenancy: str, kind: str, token: Any) -> dict[str, Any]:
        """The ceremony session ``token`` names (used up); ``@error/BadRequest`` if none."""
        with self.lock:
            return self._codes.take_session(tenancy, kind, token)

    # -- signing keys -----------------------------------------------------------------------

    def rotate_keys(self) -> str:
        """Sign id_tokens with a new RSA key (the old one stays in the JWKS); the new kid."""
        with self._change():
            return self._keys.rotate()

    def signing_key(self) -> tuple[str, rsa.RSAPrivateKey]:
        """``(kid, private key)`` id_tokens are signed with now (to forge tokens in tests)."""
        with self.lock:
            return self._keys.current()

    def jwks(self) -> dict[str, Any]:
        with self.lock:
            return self._keys.jwks()

    # -- mailbox challenges -----------------------------------------------------------------

    def create_challenge(self, tenancy: str, **options: Any) -> dict[str, Any]:
        """``POST /{t}/challenges``: the ``challenge`` of ``ChallengeCreated``. Options:
        ``email, purpose, user_id, metadata, invalidate_others, skip_rate_limit``."""
        with self._change():
            return self._challenges.create(tenancy, **options).created()

    def get_challenge(self, tenancy: str, challenge_id: str) -> dict[str, Any]:
        with self.lock:
            return self._challenges.get(tenancy, challenge_id).readable()

    def verify_challenge(
        self, tenancy: str, challenge_id: Any, secret: Any, code: Any
    ) -> dict[str, Any]:
        """``POST /{t}/challenges/verify``: the verified ``Challenge`` (it cannot verify again)."""
        with self._change():
            return self._challenges.verify(tenancy, challenge_id, secret, code).readable()

    def delete_challenge(self, tenancy: str, challenge_id: str) -> None:
        with self._change():
            self._challenges.delete(tenancy, challenge_id)

    def advance_clock(self, seconds: float) -> None:
        """Let ``seconds`` pass at Passlock, without waiting: codes, ceremony sessions and
        challenges age, rate-limit windows pass; what is issued after carries the later time
        (an id_token's ``iat``, for one)."""
        self.clock.advance(seconds)

    def expire_challenge(self, challenge_id: str) -> None:
        """Make a challenge expire now (``KeyError`` for an unknown one)."""
        with self._change():
            self._challenges.expire(challenge_id)

    @property
    def challenges(self) -> list[ch.Challenge]:
        """Pending challenges (copies, with their ``code`` and ``secret``)."""
        with self.lock:
            return self._challenges.all()

    def clear_rate_limits(self) -> None:
        with self._change():
            self._challenges.clear_rate_limits()

    # -- outbox -----------------------------------------------------------------------------

    def send_email(self, tenancy: str, **message: Any) -> OutboxMessage:
        """Store an email in the outbox: ``to, subject, text, html=None``."""
        with self._change():
            return self._outbox.send(tenancy, **message)

    @property
    def outbox(self) -> list[OutboxMessage]:
        """The emails sent to the outbox, oldest first."""
        with self.lock:
            return self._outbox.all()

    def last_email(self, to: str | None = None) -> OutboxMessage | None:
        """The newest email (to ``to``, if given), or ``None``."""
        with self.lock:
            return self._outbox.last(to)

    def clear_outbox(self) -> None:
        with self._change():
            self._outbox.clear()

    # -- faults and the request log ---------------------------------------------------------

    def inject(self, fault: Fault, times: int = 1) -> None:
        with self.lock:
            self._faults.extend([fault] * times)

    def next_fault(self) -> Fault | None:
        with self.lock:
            return self._faults.pop(0) if self._faults else None

    def clear_faults(self) -> None:
        with self.lock:
            self._faults.clear()

    @property
    def faults(self) -> list[Fault]:
        """Faults not used yet."""
        with self.lock:
            return list(self._faults)

    def record_request(self, method: str, uri: str) -> None:
        with self.lock:
            self.requests.append((method, uri))

    def record_peer(self, host: str, port: int) -> None:
        with self.lock:
            self.peers.append((host, port))

    # -- state file -------------------------------------------------------------------------

    def _parts(self) -> dict[str, Any]:
        """What the state file holds, besides the tenancies: each part dumps and loads itself."""
        return {
            "passkeys": self._passkeys,
            "codes": self._codes,
            "keys": self._keys,
            "challenges": self._challenges,
            "outbox": self._outbox,
        }

    def _save(self) -> None:
        if self._state is None:
            return
        with self.lock:
            parts = {name: part.dump() for name, part in self._parts().items()}
            self._state.write({"tenancies": self._tenancies, **parts})

    def _restore(self, saved: dict[str, Any]) -> None:
        assert self._state is not None
        try:
            self._tenancies.update({str(k): str(v) for k, v in saved["tenancies"].items()})
            for name, part in self._parts().items():
                part.load(saved[name])
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise self._state.error(f"{type(exc).__name__}: {exc}") from exc
