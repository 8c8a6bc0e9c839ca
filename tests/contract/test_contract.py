"""The emulator against the real @passlock/server 2.4.2: every REST function the library
exports, through its ``safe`` entry point, in success and error cases (``contract.mjs``).

A case fails when the library resolves to another tag than expected, when a check on the
answer fails, or when the library rejects (a defect: it could not decode the emulator's answer).
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import jwt
import pytest

from flask_passlock.emulator import PasslockEmulator

HERE = Path(__file__).resolve().parent
SCRIPT = HERE / "contract.mjs"
BUNDLE = Path(
    os.environ.get("PASSLOCK_SERVER_BUNDLE")
    or HERE.parents[1].parent / "shared" / "passlock-server" / "passlock-server-2.4.2.mjs"
)
NODE = shutil.which("node")


def _node_major() -> int:
    if NODE is None:
        return 0
    version = subprocess.run([NODE, "--version"], capture_output=True, text=True, timeout=30)
    return int(version.stdout.strip().lstrip("v").split(".")[0] or 0)


if _node_major() < 20 or not BUNDLE.is_file():
    pytest.skip(
        "node 20+ and ../shared/passlock-server/ needed for the contract test",
        allow_module_level=True,
    )


def _node(*args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PASSLOCK_SERVER_BUNDLE": str(BUNDLE)}
    assert NODE is not None
    return subprocess.run(
        [NODE, str(SCRIPT), *args], capture_output=True, text=True, timeout=timeout, env=env
    )


def _listing() -> dict[str, Any]:
    """The script's cases and the library's REST functions (no emulator needed)."""
    run = _node("--list", timeout=60)
    if run.returncode != 0:
        raise RuntimeError(f"contract.mjs --list failed:\n{run.stderr[-3000:]}")
    return json.loads(run.stdout)  # type: ignore[no-any-return]


LISTING = _listing()
CASES = [case["name"] for case in LISTING["cases"]]

PAGE_SIZE, ATTEMPTS, RATE_LIMIT, RATE_WINDOW = 3, 3, 3, 60


def _forge(
    emulator: PasslockEmulator, issued: Any, *, kid: str | None = None, **claims: Any
) -> str:
    own_kid, key = emulator.signing_key()
    body = jwt.decode(issued.id_token, options={"verify_signature": False})
    return jwt.encode({**body, **claims}, key, algorithm="RS256", headers={"kid": kid or own_kid})


def _tampered(token: str) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["a:id"] = "someone-else"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"


def _seed(emulator: PasslockEmulator) -> dict[str, Any]:
    """What the cases need, made through the emulator's Python API."""
    backend, tenancy = emulator.backend, emulator.tenancy_id

    def issued(**options: Any) -> dict[str, str]:
        code = emulator.issue_code(**options)
        return {"code": code.code, "authenticatorId": code.authenticator_id}

    previous_key = emulator.issue_code().id_token
    emulator.rotate_keys()
    valid = emulator.issue_code()
    now = int(time.time())
    user_passkeys = [emulator.issue_code().authenticator_id for _ in range(2)]
    for passkey_id in user_passkeys:
        backend.update_passkey(tenancy, passkey_id, user_id="shared-user")
    expired = backend.create_challenge(tenancy, email="late@example.com", purpose="login")
    emulator.expire_challenge(expired["challengeId"])
    seed = {
        "codeGet": issued(platform_name="iCloud Keychain"),
        "codePost": issued(),
        "tokens": {
            "valid": {"token": valid.id_token, "authenticatorId": valid.authenticator_id},
            "previousKey": previous_key,
            "tampered": _tampered(valid.id_token),
            "expired": _forge(emulator, valid, iat=now - 4000, exp=now - 3600),
            "wrongAudience": _forge(emulator, valid, aud="another-tenancy"),
            "unknownKid": _forge(emulator, valid, kid="no-such-kid"),
        },
        "updateId": issued()["authenticatorId"],
        "assignId": issued()["authenticatorId"],
        "deleteId": issued()["authenticatorId"],
        "userId": "shared-user",
        "userPasskeys": len(user_passkeys),
        "expired": expired,
        "pageSize": PAGE_SIZE,
        "maxAttempts": ATTEMPTS,
        "rateLimit": RATE_LIMIT,
        "rateWindow": RATE_WINDOW,
    }
    seed["passkeyCount"] = len(emulator.passkeys)
    return seed


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """The script's result for each case, run once against a fresh emulator."""
    with PasslockEmulator(
        page_size=PAGE_SIZE,
        challenge_attempts=ATTEMPTS,
        challenge_rate_limit=RATE_LIMIT,
        challenge_rate_window=RATE_WINDOW,
    ) as emulator:
        config = {
            "endpoint": emulator.url,
            "tenancyId": emulator.tenancy_id,
            "apiKey": emulator.api_key,
            "seed": _seed(emulator),
        }
        path = tmp_path_factory.mktemp("contract") / "config.json"
        path.write_text(json.dumps(config))
        run = _node(str(path), timeout=120)
    lines = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    assert run.returncode == 0 and lines, f"contract.mjs failed:\n{run.stderr[-3000:]}"
    return {line["name"]: line for line in lines}


@pytest.mark.parametrize("name", CASES)
def test_case(report: dict[str, dict[str, Any]], name: str) -> None:
    case = report.get(name)
    assert case is not None, f"{name}: no result (the script stopped before it)"
    assert case["ok"], (
        f"{case['fn']}: expected {case['expected']}, got {case['got']}\n{case['defect']}"
    )


def test_every_rest_function_is_run() -> None:
    """A function the library adds (or renames) needs a case here before the test passes."""
    covered = {case["fn"] for case in LISTING["cases"]}
    assert sorted(covered) == LISTING["functions"]
    assert len(LISTING["functions"]) == 13


def test_every_function_meets_an_error_and_a_success() -> None:
    kinds: dict[str, set[bool]] = {}
    for case in LISTING["cases"]:
        kinds.setdefault(case["fn"], set()).add(case["expected"].startswith("@error/"))
    assert {fn: seen for fn, seen in kinds.items() if seen != {True, False}} == {}
