"""The RSA keys id_tokens are signed with, and the JWKS that publishes them."""

from __future__ import annotations

import secrets
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

#: How many keys the JWKS publishes: the current one and the one before it.
KEPT_KEYS = 2


class SigningKeys:
    """RS256 keys, newest first. Not thread-safe: the backend holds its lock around calls."""

    def __init__(self) -> None:
        self._keys: list[tuple[str, rsa.RSAPrivateKey]] = []

    def rotate(self) -> str:
        """Sign with a new key from now on (the old one stays published); returns its kid."""
        kid = secrets.token_hex(8)
        self._keys.insert(0, (kid, rsa.generate_private_key(public_exponent=65537, key_size=2048)))
        del self._keys[KEPT_KEYS:]
        return kid

    def current(self) -> tuple[str, rsa.RSAPrivateKey]:
        """``(kid, private key)`` of the key new id_tokens are signed with."""
        return self._keys[0]

    def sign(self, claims: dict[str, Any]) -> str:
        kid, key = self.current()
        return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})

    def jwks(self) -> dict[str, Any]:
        """The public keys as served at ``/.well-known/jwks.json``."""
        keys = []
        for kid, key in self._keys:
            jwk = jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
            keys.append({**jwk, "kid": kid, "alg": "RS256", "use": "sig"})
        return {"keys": keys}

    # -- state file -------------------------------------------------------------------------

    def dump(self) -> list[dict[str, str]]:
        return [
            {
                "kid": kid,
                "pem": key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                ).decode("ascii"),
            }
            for kid, key in self._keys
        ]

    def load(self, data: list[dict[str, str]]) -> None:
        keys = []
        for entry in data:
            key = serialization.load_pem_private_key(entry["pem"].encode("ascii"), password=None)
            if not isinstance(key, rsa.RSAPrivateKey):
                raise ValueError(f"key {entry['kid']} is not an RSA key")
            keys.append((str(entry["kid"]), key))
        if not keys:
            raise ValueError("no signing key")
        self._keys = keys[:KEPT_KEYS]
