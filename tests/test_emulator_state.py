"""The state file: what the emulator keeps across restarts, and a clear refusal of a bad file."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from flask_passlock.emulator import PasslockEmulator, StateFileError

from .test_emulator import call


def test_a_restart_forgets_nothing(tmp_path):
    path = tmp_path / "state.json"
    with PasslockEmulator(state_file=path) as first:
        first.add_tenancy("second", "second-key")
        registered = first.issue_code(platform_name="Bitwarden")
        first.backend.update_passkey(first.tenancy_id, registered.authenticator_id, user_id="u-1")
        pending = first.issue_code(authenticator_id=registered.authenticator_id)
        challenge = first.backend.create_challenge(
            first.tenancy_id, email="ada@example.com", purpose="login"
        )
        call(first, "POST", "_emulator/outbox", json={"to": "a@b.co", "subject": "s", "text": "t"})
        old_kid = first.signing_key()[0]
        first.rotate_keys()
        kid, passkeys, jwks = first.signing_key()[0], first.passkeys, first.backend.jwks()
    with PasslockEmulator(state_file=path) as second:
        assert second.passkeys == passkeys
        assert second.signing_key()[0] == kid
        assert second.backend.jwks() == jwks and old_kid in json.dumps(jwks)
        principal = call(second, "GET", f"principal/{pending.code}").json()
        assert principal["userId"] == "u-1" and principal["passkey"]["platformName"] == "Bitwarden"
        fields = {k: challenge[k] for k in ("challengeId", "secret", "code")}
        assert call(second, "POST", "challenges/verify", json=fields).status_code == 200
        assert second.last_email().subject == "s"
        assert call(second, "GET", "passkeys/", tenancy="second", key="second-key").ok
        assert second.issue_code().id_token != registered.id_token


def test_every_change_is_saved_at_once_and_whole(tmp_path):
    path = tmp_path / "state.json"
    emulator = PasslockEmulator(state_file=path)
    for _ in range(5):
        issued = emulator.issue_code()
        saved = json.loads(path.read_text())
        assert issued.authenticator_id in {p["id"] for p in saved["passkeys"]["records"]}
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]  # no temporary file left


def test_the_given_api_key_wins_over_the_saved_one(tmp_path):
    path = tmp_path / "state.json"
    PasslockEmulator(api_key="old-key", state_file=path)
    with PasslockEmulator(api_key="new-key", state_file=path) as emulator:
        assert call(emulator, "GET", "passkeys/", key="new-key").ok
        assert call(emulator, "GET", "passkeys/", key="old-key").status_code == 403


BAD_FILES = {
    "not JSON": ("{not json", "not JSON"),
    "another format": ('{"format": "something-else"}', "not a state file"),
    "another version": ('{"format": "flask-passlock-emulator-state", "version": 9}', "version 9"),
    "fields missing": ('{"format": "flask-passlock-emulator-state", "version": 1}', "KeyError"),
    "a bad key": (None, "ValueError"),
}


@pytest.mark.parametrize("content, reason", BAD_FILES.values(), ids=BAD_FILES.keys())
def test_a_bad_file_is_a_clear_error(tmp_path, content, reason):
    path = tmp_path / "state.json"
    if content is None:
        PasslockEmulator(state_file=path)
        saved = json.loads(path.read_text())
        saved["keys"][0]["pem"] = "-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n"
        content = json.dumps(saved)
    path.write_text(content)
    with pytest.raises(StateFileError) as info:
        PasslockEmulator(state_file=path)
    message = str(info.value)
    assert str(path) in message and reason in message and "delete it" in message
    assert path.read_text() == content  # left alone for the user to fix


def test_the_command_line_refuses_a_bad_file_in_one_line(tmp_path):
    path = tmp_path / "state.json"
    path.write_text("[]")
    run = subprocess.run(
        [sys.executable, "-m", "flask_passlock.emulator", "--port", "0", "--state", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 2
    assert "Cannot load the Passlock emulator state" in run.stderr
    assert "Traceback" not in run.stderr
