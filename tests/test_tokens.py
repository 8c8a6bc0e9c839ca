"""The id_token verifier's key set: downloaded once per process and shared by threads, never
making a verification with a known key wait, and never letting a made-up ``kid`` hold up a
genuine key rotation. Time is a fake clock: nothing here sleeps to let time pass."""

from __future__ import annotations

import base64
import json
import threading
import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from flask_passlock import MalformedResponse, PasslockUnavailable
from flask_passlock.exceptions import InvalidIdToken
from flask_passlock.tokens import REFRESH_FLOOR, IdTokenVerifier

AUDIENCE = "tenancy"


class KeySet:
    """A JWKS endpoint in memory: keys can be added (rotation), answers broken or slowed."""

    def __init__(self) -> None:
        self.keys: dict[str, rsa.RSAPrivateKey] = {}
        self.downloads = 0
        self.answer: tuple[int, bytes] | None = None
        self.gate: threading.Event | None = None
        self.add("k1")

    def add(self, kid: str) -> rsa.RSAPrivateKey:
        self.keys[kid] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return self.keys[kid]

    def fetch(self) -> tuple[int, bytes]:
        self.downloads += 1
        if self.gate is not None:
            self.gate.wait(5)
        if self.answer is not None:
            return self.answer
        keys = [
            {**jwt.algorithms.RSAAlgorithm.to_jwk(k.public_key(), as_dict=True), "kid": kid}
            for kid, k in self.keys.items()
        ]
        return 200, json.dumps({"keys": keys}).encode()

    def token(self, kid: str = "k1", alg: str = "RS256", **claims: object) -> str:
        now = int(time.time())
        body = {
            "iss": "passlock.dev",
            "aud": AUDIENCE,
            "sub": "u",
            "jti": f"j{time.monotonic_ns()}",
            "iat": now,
            "exp": now + 300,
            "a:id": "passkey",
            "a:typ": "passkey",
            "pk:uv": True,
            **claims,
        }
        return jwt.encode(body, self.keys[kid], algorithm=alg, headers={"kid": kid})


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def keyset() -> KeySet:
    return KeySet()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def verifier(keyset, clock) -> IdTokenVerifier:
    return IdTokenVerifier(keyset.fetch, AUDIENCE, clock=clock, sleep=clock.sleep)


def test_a_burst_after_start_downloads_the_key_set_once(keyset):
    verifier = IdTokenVerifier(keyset.fetch, AUDIENCE)
    keyset.gate = threading.Event()  # the first download is slow: everyone piles up behind it
    tokens = [keyset.token() for _ in range(200)]
    results: list[object] = []
    threads = [
        threading.Thread(target=lambda t=t: results.append(verifier.verify(t).id)) for t in tokens
    ]
    for thread in threads:
        thread.start()
    keyset.gate.set()
    for thread in threads:
        thread.join()
    assert len(results) == 200 and keyset.downloads == 1


def test_a_known_key_never_waits_for_a_download(keyset, verifier):
    verifier.verify(keyset.token())  # the key set is cached
    keyset.add("k2")
    keyset.gate = threading.Event()  # the next download hangs until released
    unknown = threading.Thread(target=lambda: verifier.verify(keyset.token("k2")))
    unknown.start()
    while keyset.downloads < 2:
        time.sleep(0.001)
    started = time.monotonic()
    assert verifier.verify(keyset.token()).authenticator_id == "passkey"
    assert time.monotonic() - started < 0.5  # not behind the hanging download
    keyset.gate.set()
    unknown.join()


def test_a_made_up_kid_delays_a_real_rotation_by_the_floor_at_most(keyset, verifier, clock):
    verifier.verify(keyset.token())
    with pytest.raises(InvalidIdToken, match="unknown kid"):
        verifier.verify(jwt.encode({"a": 1}, keyset.keys["k1"], "RS256", {"kid": "made-up"}))
    assert keyset.downloads == 2
    keyset.add("k2")  # the genuine rotation, right after
    clock.now += 0.2
    waited = sum(clock.slept)
    assert verifier.verify(keyset.token("k2")).authenticator_id == "passkey"
    assert keyset.downloads == 3
    assert sum(clock.slept) - waited == pytest.approx(REFRESH_FLOOR - 0.2)  # the floor, no more


def test_each_unknown_kid_is_looked_for_once_per_min_refresh(keyset, verifier, clock):
    verifier.verify(keyset.token())
    fake = jwt.encode({"a": 1}, keyset.keys["k1"], "RS256", {"kid": "made-up"})
    for _ in range(5):
        with pytest.raises(InvalidIdToken):
            verifier.verify(fake)
        clock.now += 5
    assert keyset.downloads == 2  # the first try only, within 30 s
    clock.now += 30
    with pytest.raises(InvalidIdToken):
        verifier.verify(fake)
    assert keyset.downloads == 3


def test_a_failed_download_is_not_retried_at_once(keyset, verifier, clock):
    keyset.answer = (503, b"")
    for _ in range(3):
        with pytest.raises(PasslockUnavailable):
            verifier.verify(keyset.token())
    assert keyset.downloads == 1  # the next tokens fail fast
    clock.now += 5
    keyset.answer = None
    assert verifier.verify(keyset.token()).authenticator_id == "passkey"
    assert keyset.downloads == 2


@pytest.mark.parametrize(
    "answer, error",
    [
        ((200, b'{"keys": 5}'), MalformedResponse),
        ((200, b"[1]"), MalformedResponse),
        ((200, b"[" * 50_000 + b"]" * 50_000), PasslockUnavailable),
        ((200, b"<html>"), PasslockUnavailable),
        ((404, b'{"keys": []}'), PasslockUnavailable),
    ],
    ids=["keys not a list", "not an object", "nested", "html", "http error"],
)
def test_broken_key_sets(keyset, verifier, answer, error):
    keyset.answer = answer
    with pytest.raises(error):
        verifier.verify(keyset.token())


def test_unusable_entries_are_skipped(keyset, verifier):
    good = json.loads(keyset.fetch()[1])["keys"][0]
    keyset.answer = (
        200,
        json.dumps(
            {
                "keys": [
                    5,
                    {"kty": "RSA"},
                    {"kid": "oct", "kty": "oct", "k": "c2VjcmV0"},
                    {"kid": "enc", **{k: v for k, v in good.items() if k != "kid"}, "use": "enc"},
                    {"kid": "bad", "kty": "RSA", "n": "!!", "e": "AQAB"},
                    good,
                ]
            }
        ).encode(),
    )
    assert verifier.verify(keyset.token()).authenticator_id == "passkey"
    for kid in ("oct", "enc", "bad"):
        with pytest.raises(InvalidIdToken):
            verifier.verify(_with_kid(keyset, kid))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _with_kid(keyset: KeySet, kid: str) -> str:
    return jwt.encode({"a": 1}, keyset.keys["k1"], "RS256", {"kid": kid})


def test_a_key_without_alg_is_bound_by_its_type(clock):
    """A key set whose keys name no ``alg``: the token's algorithm must fit the key type."""
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    jwks = [
        {**jwt.algorithms.RSAAlgorithm.to_jwk(rsa_key.public_key(), as_dict=True), "kid": "r"},
        {**jwt.algorithms.ECAlgorithm.to_jwk(ec_key.public_key(), as_dict=True), "kid": "e"},
    ]
    for entry in jwks:
        entry.pop("alg", None)
    fetch = lambda: (200, json.dumps({"keys": jwks}).encode())  # noqa: E731
    verifier = IdTokenVerifier(fetch, AUDIENCE, clock=clock, sleep=clock.sleep)
    now = int(time.time())
    body = {
        "iss": "passlock.dev",
        "aud": AUDIENCE,
        "sub": "u",
        "jti": "j",
        "iat": now,
        "exp": now + 60,
        "a:id": "p",
        "a:typ": "passkey",
    }
    assert verifier.verify(jwt.encode(body, rsa_key, "PS256", {"kid": "r"})).user_id == "u"
    assert verifier.verify(jwt.encode(body, ec_key, "ES256", {"kid": "e"})).user_id == "u"
    with pytest.raises(InvalidIdToken, match="another algorithm"):
        verifier.verify(jwt.encode(body, ec_key, "ES256", {"kid": "r"}))
    header, payload, signature = jwt.encode(body, ec_key, "ES256", {"kid": "e"}).split(".")
    relabelled = _b64(json.dumps({"alg": "ES384", "kid": "e", "typ": "JWT"}).encode())
    with pytest.raises(InvalidIdToken, match="another algorithm"):  # a P-256 key, not P-384
        verifier.verify(f"{relabelled}.{payload}.{signature}")


def test_a_key_with_alg_is_bound_to_it(keyset, verifier):
    good = json.loads(keyset.fetch()[1])["keys"][0]
    keyset.answer = (200, json.dumps({"keys": [{**good, "alg": "PS256"}]}).encode())
    with pytest.raises(InvalidIdToken, match="another algorithm"):
        verifier.verify(keyset.token(alg="RS256"))
    assert verifier.verify(keyset.token(alg="PS256")).user_id == "u"
