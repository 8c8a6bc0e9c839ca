"""Mailbox challenges: email one-time codes with Passlock's rules (validation, expiry, an
attempt cap, a rate limit, single use)."""

from __future__ import annotations

import hmac
import math
import re
import secrets
from dataclasses import asdict, dataclass, replace
from html import escape
from typing import Any

from .clock import Clock
from .errors import ApiError, bad_request, not_found

#: How long a challenge lives, in seconds.
CHALLENGE_TTL = 600
#: Wrong codes a challenge takes; the next try is ``@error/ChallengeAttemptsExceeded``.
CHALLENGE_ATTEMPTS = 5
#: Challenges one email address (or userId) may be sent per window...
CHALLENGE_RATE_LIMIT = 5
#: ...of this many seconds, before ``@error/ChallengeRateLimited``.
CHALLENGE_RATE_WINDOW = 600

#: @passlock/server's own patterns (``schemas/challenge.ts``); JS's ``.`` skips line breaks.
PURPOSE = re.compile(r"[A-Za-z0-9._:-]{1,64}")
EMAIL = re.compile(r"[^@]+@[^@]+[^\n\r\u2028\u2029][^@]+")
MAX_METADATA_DEPTH = 32


@dataclass
class Challenge:
    """One mailbox challenge, as the emulator holds it (times in epoch milliseconds)."""

    challenge_id: str
    tenancy_id: str
    purpose: str
    email: str
    user_id: str | None
    metadata: dict[str, Any] | None
    secret: str
    code: str
    created_at: int
    expires_at: int
    attempts: int = 0

    def readable(self) -> dict[str, Any]:
        """``{_tag: "Challenge", ...}``: what GET and verify answer (no secret, no code)."""
        record: dict[str, Any] = {
            "_tag": "Challenge",
            "challengeId": self.challenge_id,
            "purpose": self.purpose,
            "email": self.email,
            "createdAt": self.created_at,
            "expiresAt": self.expires_at,
            "metadata": self.metadata,
        }
        if self.user_id is not None:
            record["userId"] = self.user_id
        return record

    def created(self) -> dict[str, Any]:
        """The ``challenge`` of ``ChallengeCreated``: with the secret, the code and the email."""
        record = self.readable()
        del record["_tag"]
        minutes = max(1, round((self.expires_at - self.created_at) / 60_000))
        text = (
            f"Your one-time code is {self.code}.\n\nIt expires in {minutes} minutes. "
            "If you did not ask for it, you can ignore this email."
        )
        html = (
            f"<p>Your one-time code is <strong>{escape(self.code)}</strong>.</p>"
            f"<p>It expires in {minutes} minutes. If you did not ask for it, "
            "you can ignore this email.</p>"
        )
        return {
            **record,
            "secret": self.secret,
            "code": self.code,
            "message": {"html": html, "text": text},
        }


def _check_metadata(value: Any, depth: int = 0) -> bool:
    if depth > MAX_METADATA_DEPTH:
        return False
    if value is None or isinstance(value, (str, bool, int)):
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list):
        return all(_check_metadata(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return all(_check_metadata(v, depth + 1) for v in value.values())
    return False


class ChallengeBook:
    """The challenges of every tenancy. Not thread-safe: the backend holds its lock."""

    def __init__(
        self,
        *,
        ttl: float = CHALLENGE_TTL,
        max_attempts: int = CHALLENGE_ATTEMPTS,
        rate_limit: int = CHALLENGE_RATE_LIMIT,
        rate_window: float = CHALLENGE_RATE_WINDOW,
        clock: Clock | None = None,
    ) -> None:
        if max_attempts < 1 or rate_limit < 1:
            raise ValueError("max_attempts and rate_limit must be at least 1")
        self.ttl = ttl
        self.max_attempts = max_attempts
        self.rate_limit = rate_limit
        self.rate_window = rate_window
        self.clock = clock or Clock()
        self._challenges: dict[str, Challenge] = {}
        self._sent: dict[str, list[float]] = {}  # rate-limit subject -> send times

    def create(
        self,
        tenancy: str,
        *,
        email: Any,
        purpose: Any,
        user_id: Any = None,
        metadata: Any = None,
        invalidate_others: Any = None,
        skip_rate_limit: Any = None,
    ) -> Challenge:
        """A new challenge (``POST /{t}/challenges``); :class:`ApiError` on a refusal."""
        if not isinstance(purpose, str) or not PURPOSE.fullmatch(purpose):
            raise bad_request(
                "Challenge purpose must be 1-64 chars and use only A-Z a-z 0-9 . _ : -"
            )
        if not isinstance(email, str) or not EMAIL.fullmatch(email):
            raise bad_request("Invalid email")
        if user_id is not None and (not isinstance(user_id, str) or not user_id):
            raise bad_request("userId must be a non-empty string")
        if metadata is not None and not (isinstance(metadata, dict) and _check_metadata(metadata)):
            raise bad_request("metadata must be a JSON object of finite values")
        for name, flag in (
            ("invalidateOthers", invalidate_others),
            ("skipRateLimit", skip_rate_limit),
        ):
            if flag is not None and not isinstance(flag, bool):
                raise bad_request(f"{name} must be a boolean")
        subjects = [f"{tenancy}\0email\0{email.lower()}"]
        if user_id is not None:
            subjects.append(f"{tenancy}\0user\0{user_id}")
        if not skip_rate_limit:
            self._rate_limit(subjects)
        self._prune()
        if invalidate_others:
            for other in list(self._challenges.values()):
                same_subject = (
                    other.user_id == user_id
                    if user_id is not None
                    else other.email.lower() == email.lower()
                )
                if other.tenancy_id == tenancy and other.purpose == purpose and same_subject:
                    del self._challenges[other.challenge_id]
        now = self.clock.ms()
        challenge = Challenge(
            challenge_id=secrets.token_urlsafe(16),
            tenancy_id=tenancy,
            purpose=purpose,
            email=email,
            user_id=user_id,
            metadata=metadata,
            secret=secrets.token_urlsafe(32),
            code=f"{secrets.randbelow(1_000_000):06d}",
            created_at=now,
            expires_at=now + int(self.ttl * 1000),
        )
        self._challenges[challenge.challenge_id] = challenge
        return replace(challenge)

    def _rate_limit(self, subjects: list[str]) -> None:
        now = self.clock.time()
        for subject in subjects:
            recent = [t for t in self._sent.get(subject, []) if t > now - self.rate_window]
            self._sent[subject] = recent
            if len(recent) >= self.rate_limit:
                retry = max(1, math.ceil(recent[-self.rate_limit] + self.rate_window - now))
                raise ApiError("@error/ChallengeRateLimited", retryAfterSeconds=retry)
        for subject in subjects:
            self._sent[subject].append(now)

    def _prune(self) -> None:
        """Forget challenges expired a day ago, and rate-limit entries past their window."""
        horizon = self.clock.ms() - 86_400_000
        for key in [k for k, c in self._challenges.items() if c.expires_at < horizon]:
            del self._challenges[key]
        cutoff = self.clock.time() - self.rate_window
        for key in [k for k, times in self._sent.items() if not times or times[-1] < cutoff]:
            del self._sent[key]

    def get(self, tenancy: str, challenge_id: str) -> Challenge:
        challenge = self._challenges.get(challenge_id)
        if challenge is None or challenge.tenancy_id != tenancy:
            raise not_found("Challenge not found")
        return replace(challenge)

    def verify(self, tenancy: str, challenge_id: Any, secret: Any, code: Any) -> Challenge:
        """Check ``secret`` and ``code`` (in constant time); a right code consumes the
        challenge, a wrong one uses up an attempt."""
        challenge = self._challenges.get(challenge_id) if isinstance(challenge_id, str) else None
        given = secret.encode() if isinstance(secret, str) else b""
        if (
            challenge is None
            or challenge.tenancy_id != tenancy
            or not hmac.compare_digest(given, challenge.secret.encode())
        ):
            raise ApiError("@error/InvalidChallenge")
        if challenge.expires_at <= self.clock.ms():
            raise ApiError("@error/ChallengeExpired")
        if challenge.attempts >= self.max_attempts:
            raise ApiError("@error/ChallengeAttemptsExceeded")
        typed = code.encode() if isinstance(code, str) else b""
        if not hmac.compare_digest(typed, challenge.code.encode()):
            challenge.attempts += 1
            raise ApiError("@error/InvalidChallengeCode")
        del self._challenges[challenge.challenge_id]
        return challenge

    def delete(self, tenancy: str, challenge_id: str) -> None:
        """Forget a challenge; an unknown one is no error (Passlock answers ``Forbidden`` only)."""
        challenge = self._challenges.get(challenge_id)
        if challenge is not None and challenge.tenancy_id == tenancy:
            del self._challenges[challenge_id]

    def expire(self, challenge_id: str) -> None:
        """Make a challenge expired now (tests)."""
        challenge = self._challenges.get(challenge_id)
        if challenge is None:
            raise KeyError(challenge_id)
        challenge.expires_at = self.clock.ms() - 1

    def all(self) -> list[Challenge]:
        return [replace(c) for c in self._challenges.values()]

    def clear_rate_limits(self) -> None:
        self._sent.clear()

    # -- state file -------------------------------------------------------------------------

    def dump(self) -> dict[str, Any]:
        return {
            "challenges": [asdict(c) for c in self._challenges.values()],
            "sent": self._sent,
        }

    def load(self, data: dict[str, Any]) -> None:
        self._challenges = {c["challenge_id"]: Challenge(**c) for c in data["challenges"]}
        self._sent = {str(k): [float(t) for t in v] for k, v in data["sent"].items()}
