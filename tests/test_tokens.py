"""The id_token verifier's key set: downloaded once per process and shared by threads, never
making a verification with a known key wait, and never letting a made-up ``kid`` hold up a
genuine key rotation. Time is a fake clock: nothing here sleeps to let time pass."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable
from datetime import datetime, timezone

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from flask_passlock import MalformedResponse, PasslockUnavailable
from flask_passlock.exceptions import InvalidIdToken
from flask_passlock.tokens import REFRESH_FLOOR, REQUIRED_CLAIMS, IdTokenVerifier

AUDIENCE = "tenancy"

#: RSA keys generated so far, reused by every key set of the process in the same order:
#: generating a 2048-bit key costs ~50 ms, and a key set only needs its kids' keys to differ
#: from each other.
_RSA_KEYS: list[rsa.RSAPrivateKey] = []


def _rsa_key(index: int) -> rsa.RSAPrivateKey:
    while len(_RSA_KEYS) <= index:
        _RSA_KEYS.append(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    return _RSA_KEYS[index]


class KeySet:
    """A JWKS endpoint in memory: keys can be added (rotation), answers broken or slowed."""

    def __init__(self) -> None:
        self.keys: dict[str, rsa.RSAPrivateKey] = {}
        self.downloads = 0
        self.answer: tuple[int, bytes] | None = None
        self.gate: threading.Event | None = None
        self.add("k1")

    def add(self, kid: str) -> rsa.RSAPrivateKey:
        """A key for ``kid``, different from every other key of this set."""
        self.keys[kid] = _rsa_key(len(self.keys))
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
    reasons = []
    for _ in range(3):
        with pytest.raises(PasslockUnavailable) as info:
            verifier.verify(keyset.token())
        reasons.append(info.value.reason)
    assert reasons == ["the key set answered HTTP 503"] + 2 * [
        "the key set could not be downloaded lately"
    ]
    assert keyset.downloads == 1  # the next tokens fail fast
    clock.now += 4.5
    with pytest.raises(PasslockUnavailable):
        verifier.verify(keyset.token())
    clock.now += 0.5  # min(min_refresh, 5 s) after the failure
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


# -- each check alone, and which one refused ----------------------------------------------------

NOW = 1_800_000_000  # what PyJWT reads as "now" in the tests below


@pytest.fixture
def frozen(monkeypatch) -> int:
    """PyJWT's clock (exp, iat) set to NOW."""

    class Frozen(datetime):
        @classmethod
        def now(cls, tz=None):  # type: ignore[override]
            return datetime.fromtimestamp(NOW, tz)

    monkeypatch.setattr(jwt.api_jwt, "datetime", Frozen)
    return NOW


def claims(**overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "iss": "passlock.dev",
        "aud": AUDIENCE,
        "sub": "user-1",
        "jti": "principal-1",
        "iat": NOW - 10,
        "exp": NOW + 290,
        "a:id": "passkey-1",
        "a:typ": "passkey",
        "pk:uv": True,
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not DROP}


DROP = object()


def reason_of(verifier: IdTokenVerifier, token: object) -> str | None:
    with pytest.raises(InvalidIdToken) as info:
        verifier.verify(token)
    assert info.value.code == "invalid_id_token"
    return info.value.reason


def raw_token(header: dict[str, object], payload: dict[str, object]) -> str:
    """An unsigned token (its signature is never reached)."""
    return f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(payload).encode())}.c2ln"


@pytest.mark.parametrize(
    "algorithms, refused",
    [
        (("RS256", "HS256"), "['HS256']"),
        (("none",), "['none']"),
        (("HS384", "HS512", "RS256"), "['HS384', 'HS512']"),
        (("RS256", "XY999"), "['XY999']"),
        ((), "['(none given)']"),
    ],
)
def test_only_asymmetric_algorithms_can_be_allowed(keyset, algorithms, refused):
    with pytest.raises(ValueError) as info:
        IdTokenVerifier(keyset.fetch, AUDIENCE, algorithms=algorithms)
    assert str(info.value) == f"id_token algorithms must be asymmetric; refusing {refused}."


def test_every_asymmetric_algorithm_can_be_allowed(keyset):
    every = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512")
    verifier = IdTokenVerifier(keyset.fetch, AUDIENCE, algorithms=[*every, "EdDSA"])
    assert verifier.algorithms == (*every, "EdDSA")


def test_a_good_token_gives_its_principal(keyset, verifier, frozen):
    token = jwt.encode(claims(), keyset.keys["k1"], "RS256", {"kid": "k1"})
    principal = verifier.verify(token)
    assert principal.id == "principal-1"
    assert principal.authenticator_id == "passkey-1"
    assert principal.authenticator_type == "passkey"
    assert principal.user_id == "user-1"
    assert principal.created_at == datetime.fromtimestamp(NOW - 10, timezone.utc)
    assert principal.created_at.timestamp() == NOW - 10
    assert principal.expires_at.timestamp() == NOW + 290
    assert principal.created_at.tzinfo is timezone.utc
    assert principal.expires_at.tzinfo is timezone.utc
    assert principal.passkey is not None
    assert principal.passkey.verified is True and principal.passkey.user_verified is True
    assert principal.user_verified is True
    assert principal.raw == claims()
    assert verifier.fetches == 1


@pytest.mark.parametrize(
    "uv, expected", [(True, True), (False, False), (DROP, False)], ids=["true", "false", "absent"]
)
def test_user_verification_comes_from_pk_uv(keyset, verifier, frozen, uv, expected):
    token = jwt.encode(claims(**{"pk:uv": uv}), keyset.keys["k1"], "RS256", {"kid": "k1"})
    principal = verifier.verify(token)
    assert principal.user_verified is expected
    assert principal.passkey is not None and principal.passkey.verified is True


def test_the_authenticator_type_is_passed_on(keyset, verifier, frozen):
    token = jwt.encode(claims(**{"a:typ": "password"}), keyset.keys["k1"], "RS256", {"kid": "k1"})
    assert verifier.verify(token).authenticator_type == "password"  # the caller refuses it


TOKEN_REFUSALS = {
    "not a string": (5, "not a token"),
    "empty": ("", "not a token"),
    "one character too long": ("a" * 8193, "not a token"),
    "longest, but not a JWT": ("a" * 8192, "not a JWT"),
    "not a JWT": ("a.b.c", "not a JWT"),
    "two segments": (f"{_b64(b'{}')}.e30", "not a JWT"),
    "four segments": (f"{_b64(b'{}')}.e30.c2ln.c2ln", "not a JWT"),
    "header a list": (f"{_b64(b'[1]')}.e30.c2ln", "not a JWT"),
    "header a string": (f"{_b64(b'1')}.e30.c2ln", "not a JWT"),
    "lone surrogate": ("a\ud800.b.c", "not a JWT"),
    "header nested deeply": (f"{_b64(b'[' * 3000 + b']' * 3000)}.e30.c2ln", "not a JWT"),
    "no alg": (raw_token({"kid": "k1"}, claims()), "algorithm None not allowed"),
    "alg none": (raw_token({"alg": "none", "kid": "k1"}, claims()), "algorithm 'none' not allowed"),
    "HS256": (raw_token({"alg": "HS256", "kid": "k1"}, claims()), "algorithm 'HS256' not allowed"),
    "RS384 (not allowed here)": (
        raw_token({"alg": "RS384", "kid": "k1"}, claims()),
        "algorithm 'RS384' not allowed",
    ),
    "no kid": (raw_token({"alg": "RS256"}, claims()), "no kid"),
    "kid not a string": (raw_token({"alg": "RS256", "kid": 5}, claims()), "no kid"),
    "kid empty": (raw_token({"alg": "RS256", "kid": ""}, claims()), "no kid"),
    "kid too long": (raw_token({"alg": "RS256", "kid": "k" * 256}, claims()), "no kid"),
    "longest kid, unknown": (
        raw_token({"alg": "RS256", "kid": "k" * 255}, claims()),
        "unknown kid",
    ),
}


@pytest.mark.parametrize("token, reason", TOKEN_REFUSALS.values(), ids=TOKEN_REFUSALS.keys())
def test_which_check_refuses_a_token(keyset, verifier, frozen, token, reason):
    assert reason_of(verifier, token) == reason


def test_a_deeply_nested_signed_payload_is_refused(keyset, verifier, frozen):
    header = _b64(json.dumps({"alg": "RS256", "kid": "k1", "typ": "JWT"}).encode())
    payload = _b64(b"[" * 2000 + b"]" * 2000)
    signing_input = f"{header}.{payload}".encode()
    algorithm = jwt.algorithms.RSAAlgorithm(jwt.algorithms.RSAAlgorithm.SHA256)
    signature = _b64(algorithm.sign(signing_input, keyset.keys["k1"]))
    assert reason_of(verifier, f"{header}.{payload}.{signature}") == "DecodeError"


CLAIM_REFUSALS = {
    **{f"no {name}": ({name: DROP}, "MissingRequiredClaimError") for name in REQUIRED_CLAIMS},
    "other issuer": ({"iss": "evil.example"}, "InvalidIssuerError"),
    "other audience": ({"aud": "another-tenancy"}, "InvalidAudienceError"),
    "audience in a list": ({"aud": [AUDIENCE]}, "InvalidAudienceError"),
    "expired, at the leeway": ({"exp": NOW - 30}, "expired"),
    "issued in the future, past the leeway": ({"iat": NOW + 31}, "ImmatureSignatureError"),
    "jti empty": ({"jti": ""}, "claim 'jti' missing or malformed"),
    "jti not a string": ({"jti": 5}, "InvalidJTIError"),
    "jti too long": ({"jti": "j" * 256}, "claim 'jti' missing or malformed"),
    "a:id too long": ({"a:id": "p" * 256}, "claim 'a:id' missing or malformed"),
    "a:typ not a string": ({"a:typ": ["passkey"]}, "claim 'a:typ' missing or malformed"),
    "sub empty": ({"sub": ""}, "claim 'sub' missing or malformed"),
    "iat a boolean": ({"iat": True}, "claim 'iat' missing or malformed"),
    "iat a string": ({"iat": str(NOW)}, "claim 'iat' missing or malformed"),
    "exp a string": ({"exp": str(NOW + 60)}, "claim 'exp' missing or malformed"),
    "iat out of range": ({"iat": -(10**20)}, "claim 'iat' out of range"),
    "exp out of range": ({"exp": 10**20}, "claim 'exp' out of range"),
    "pk:uv a string": ({"pk:uv": "true"}, "claim 'pk:uv' malformed"),
    "pk:uv a number": ({"pk:uv": 1}, "claim 'pk:uv' malformed"),
    "pk:uv null": ({"pk:uv": None}, "claim 'pk:uv' malformed"),
}


@pytest.mark.parametrize("overrides, reason", CLAIM_REFUSALS.values(), ids=CLAIM_REFUSALS.keys())
def test_which_claim_refuses_a_token(keyset, verifier, frozen, overrides, reason):
    token = jwt.encode(claims(**overrides), keyset.keys["k1"], "RS256", {"kid": "k1"})
    assert reason_of(verifier, token) == reason


def test_longest_ids_are_accepted(keyset, verifier, frozen):
    long = {"jti": "j" * 255, "a:id": "p" * 255, "sub": "u" * 255, "a:typ": "t" * 255}
    token = jwt.encode(claims(**long), keyset.keys["k1"], "RS256", {"kid": "k1"})
    principal = verifier.verify(token)
    assert (principal.id, principal.authenticator_id) == ("j" * 255, "p" * 255)


@pytest.mark.parametrize("leeway", [None, 30, 5, 0])
def test_leeway_on_exp_and_iat(keyset, clock, frozen, leeway):
    kwargs = {} if leeway is None else {"leeway": leeway}
    verifier = IdTokenVerifier(keyset.fetch, AUDIENCE, clock=clock, sleep=clock.sleep, **kwargs)
    margin = 30 if leeway is None else leeway
    assert verifier.leeway == margin

    def token(**overrides: object) -> str:
        return jwt.encode(claims(**overrides), keyset.keys["k1"], "RS256", {"kid": "k1"})

    assert verifier.verify(token(exp=NOW - margin + 1)).user_id == "user-1"
    assert reason_of(verifier, token(exp=NOW - margin)) == "expired"
    assert verifier.verify(token(iat=NOW + margin)).user_id == "user-1"
    assert reason_of(verifier, token(iat=NOW + margin + 1)) == "ImmatureSignatureError"


def test_the_issuer_can_be_set(keyset, clock, frozen):
    verifier = IdTokenVerifier(keyset.fetch, AUDIENCE, issuer="other", clock=clock)
    signed = lambda **c: jwt.encode(claims(**c), keyset.keys["k1"], "RS256", {"kid": "k1"})  # noqa: E731
    assert verifier.verify(signed(iss="other")).user_id == "user-1"
    assert reason_of(verifier, signed()) == "InvalidIssuerError"


def test_a_token_signed_by_another_key_is_refused(keyset, verifier, frozen):
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = jwt.encode(claims(), other, "RS256", {"kid": "k1"})
    assert reason_of(verifier, token) == "InvalidSignatureError"


def _jwk(key: object, kid: str, **extra: object) -> dict[str, object]:
    public = key.public_key()  # type: ignore[attr-defined]
    if isinstance(public, rsa.RSAPublicKey):
        entry = jwt.algorithms.RSAAlgorithm.to_jwk(public, as_dict=True)
    elif isinstance(public, ec.EllipticCurvePublicKey):
        entry = jwt.algorithms.ECAlgorithm.to_jwk(public, as_dict=True)
    else:
        entry = jwt.algorithms.OKPAlgorithm.to_jwk(public, as_dict=True)
    entry.pop("alg", None)
    return {**entry, "kid": kid, **extra}


def _serving(*entries: object) -> Callable[[], tuple[int, bytes]]:
    return lambda: (200, json.dumps({"keys": list(entries)}).encode())


def test_keys_of_each_type_verify_their_algorithms(clock, frozen):
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    p256 = ec.generate_private_key(ec.SECP256R1())
    p384 = ec.generate_private_key(ec.SECP384R1())
    okp = ed25519.Ed25519PrivateKey.generate()
    fetch = _serving(_jwk(rsa_key, "r"), _jwk(p256, "e256"), _jwk(p384, "e384"), _jwk(okp, "o"))
    verifier = IdTokenVerifier(fetch, AUDIENCE, clock=clock, sleep=clock.sleep)
    good = [(rsa_key, "RS256", "r"), (rsa_key, "PS256", "r"), (p256, "ES256", "e256")]
    good += [(p384, "ES384", "e384"), (okp, "EdDSA", "o")]
    for key, alg, kid in good:
        assert verifier.verify(jwt.encode(claims(), key, alg, {"kid": kid})).user_id == "user-1"
    wrong = [(p256, "ES256", "r"), (rsa_key, "RS256", "e256"), (rsa_key, "RS256", "o")]
    wrong += [(okp, "EdDSA", "r"), (p384, "ES384", "e256")]
    for key, alg, kid in wrong:
        token = jwt.encode(claims(), key, alg, {"kid": kid})
        assert reason_of(verifier, token) == "the key is for another algorithm", (alg, kid)
    assert verifier.fetches == 1


def test_a_key_naming_an_alg_serves_that_alg_only(clock, frozen):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    fetch = _serving(_jwk(key, "ps", alg="PS256"), _jwk(key, "rs", alg="RS256"))
    verifier = IdTokenVerifier(fetch, AUDIENCE, clock=clock, sleep=clock.sleep)
    assert verifier.verify(jwt.encode(claims(), key, "PS256", {"kid": "ps"})).user_id == "user-1"
    assert verifier.verify(jwt.encode(claims(), key, "RS256", {"kid": "rs"})).user_id == "user-1"
    for alg, kid in (("RS256", "ps"), ("PS256", "rs")):
        token = jwt.encode(claims(), key, alg, {"kid": kid})
        assert reason_of(verifier, token) == "the key is for another algorithm"


def test_only_public_signing_keys_are_kept(clock, frozen):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    entries = [
        5,
        ["k"],
        {"kty": "RSA", "n": "AQAB", "e": "AQAB"},
        {**_jwk(key, "x"), "kid": 5},
        {"kid": "oct", "kty": "oct", "k": "c2VjcmV0"},
        {"kid": "oct-rs", "kty": "oct", "k": "c2VjcmV0", "alg": "RS256"},
        _jwk(key, "enc", use="enc"),
        _jwk(key, "alg-list", alg=["RS256"]),
        {"kid": "bad", "kty": "RSA", "n": "!!", "e": "AQAB"},
        {**_jwk(key, "no-kty"), "kty": None},
        _jwk(key, "sig", use="sig"),
        _jwk(key, "plain"),
    ]
    verifier = IdTokenVerifier(_serving(*entries), AUDIENCE, clock=clock, sleep=clock.sleep)
    for kid in ("sig", "plain"):
        assert verifier.verify(jwt.encode(claims(), key, "RS256", {"kid": kid})).user_id == "user-1"
    for kid in ("oct", "oct-rs", "enc", "alg-list", "bad", "no-kty"):
        token = jwt.encode(claims(), key, "RS256", {"kid": kid})
        assert reason_of(verifier, token) == "unknown kid", kid
    assert verifier.fetches == 1 + 6  # each unknown kid looked for once


@pytest.mark.parametrize(
    "answer, error, reason",
    [
        ((404, b'{"keys": []}'), PasslockUnavailable, "the key set answered HTTP 404"),
        ((204, b'{"keys": []}'), PasslockUnavailable, "the key set answered HTTP 204"),
        ((500, b""), PasslockUnavailable, "the key set answered HTTP 500"),
        ((200, b"<html>"), PasslockUnavailable, "the key set is not JSON"),
        ((200, b"[" * 50_000 + b"]" * 50_000), PasslockUnavailable, "the key set is not JSON"),
        ((200, b'{"keys": 5}'), MalformedResponse, "the key set has no 'keys' list"),
        ((200, b'{"key": []}'), MalformedResponse, "the key set has no 'keys' list"),
        ((200, b'[{"keys": []}]'), MalformedResponse, "the key set has no 'keys' list"),
    ],
)
def test_why_a_key_set_is_refused(keyset, verifier, frozen, answer, error, reason):
    keyset.answer = answer
    with pytest.raises(error) as info:
        verifier.verify(keyset.token())
    assert info.value.reason == reason
    assert verifier.fetches == 1


# -- the key set's timing, at each boundary -----------------------------------------------------


def test_the_defaults(keyset):
    verifier = IdTokenVerifier(keyset.fetch, AUDIENCE)
    assert (verifier.leeway, verifier.min_refresh, verifier.issuer) == (30, 30, "passlock.dev")
    assert verifier.algorithms == ("RS256", "PS256", "ES256", "ES384", "EdDSA")


def test_an_unknown_kid_is_looked_for_again_after_exactly_min_refresh(keyset, verifier, clock):
    verifier.verify(keyset.token())
    fake = _with_kid(keyset, "made-up")
    assert reason_of(verifier, fake) == "unknown kid"
    assert keyset.downloads == 2
    clock.now += 29.5
    assert reason_of(verifier, fake) == "unknown kid"
    assert keyset.downloads == 2
    clock.now += 0.5
    assert reason_of(verifier, fake) == "unknown kid"
    assert keyset.downloads == 3


def test_another_download_does_not_forget_unknown_kids(keyset, verifier, clock):
    verifier.verify(keyset.token())
    for kid in ("made-up-1", "made-up-2", "made-up-1", "made-up-2"):
        clock.now += 2
        assert reason_of(verifier, _with_kid(keyset, kid)) == "unknown kid"
    assert keyset.downloads == 3
    assert clock.slept == []  # 2 s apart: more than the floor


def test_a_known_kid_takes_no_lock(keyset, verifier):
    verifier.verify(keyset.token())
    token = keyset.token()
    done: list[str] = []
    with verifier._lock:  # what a download for another kid holds, briefly
        thread = threading.Thread(target=lambda: done.append(verifier.verify(token).user_id))
        thread.start()
        thread.join(5)
    assert done == ["u"]


@pytest.mark.parametrize("limit, refused", [(0.5, True), (REFRESH_FLOOR, False)])
def test_a_download_due_later_than_the_limit_is_not_waited_for(
    keyset, verifier, clock, monkeypatch, limit, refused
):
    monkeypatch.setattr("flask_passlock.tokens.DOWNLOAD_WAIT", limit)
    verifier.verify(keyset.token())
    keyset.add("k2")
    if refused:
        with pytest.raises(PasslockUnavailable) as info:
            verifier.verify(keyset.token("k2"))
        assert info.value.reason == "the key set is being downloaded"
        assert clock.slept == [] and keyset.downloads == 1
    else:
        assert verifier.verify(keyset.token("k2")).user_id == "u"
        assert clock.slept == [REFRESH_FLOOR] and keyset.downloads == 2


def test_waiting_for_another_download_has_a_limit(keyset, verifier, monkeypatch):
    monkeypatch.setattr("flask_passlock.tokens.DOWNLOAD_WAIT", 0.05)
    keyset.gate = threading.Event()  # the first download hangs until released
    first = threading.Thread(target=lambda: verifier.verify(keyset.token()))
    first.start()
    while keyset.downloads < 1:
        time.sleep(0.001)
    release = threading.Timer(0.5, keyset.gate.set)  # in case the limit is not kept
    release.start()
    try:
        with pytest.raises(PasslockUnavailable) as info:
            verifier.verify(keyset.token())
        assert info.value.reason == "the key set is being downloaded"
        assert not keyset.gate.is_set()
    finally:
        keyset.gate.set()
        release.cancel()
        first.join()


def test_a_short_min_refresh_shortens_the_pause_after_a_failure(keyset, clock):
    verifier = IdTokenVerifier(
        keyset.fetch, AUDIENCE, min_refresh=2, clock=clock, sleep=clock.sleep
    )
    keyset.answer = (503, b"")
    with pytest.raises(PasslockUnavailable):
        verifier.verify(keyset.token())
    keyset.answer = None
    clock.now += 1.5
    with pytest.raises(PasslockUnavailable) as info:
        verifier.verify(keyset.token())
    assert info.value.reason == "the key set could not be downloaded lately"
    clock.now += 0.5
    assert verifier.verify(keyset.token()).user_id == "u"
    assert keyset.downloads == 2
