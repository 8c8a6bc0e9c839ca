"""``flask passlock ...`` commands."""

from __future__ import annotations

import pytest

from .helpers import build_app


@pytest.fixture
def linked(parts, emulator):
    _, user_id, ids = parts.user_with_passkeys(emulator, "ada", count=2)
    return user_id, ids


def run(app, *args, **kwargs):
    return app.test_cli_runner().invoke(args=["passlock", *args], **kwargs)


def test_check_ok(parts, emulator):
    result = run(parts.app, "check")
    assert result.exit_code == 0, result.output
    assert "OK" in result.output
    assert emulator.api_key not in result.output


def test_check_wrong_key(emulator, tmp_path):
    parts = build_app(
        emulator, f"sqlite:///{tmp_path / 'k.sqlite'}", PASSLOCK_API_KEY="wrong-key-123"
    )
    result = run(parts.app, "check")
    assert result.exit_code == 1
    assert "refused the API key" in result.output
    assert "wrong-key-123" not in result.output
    with parts.app.app_context():
        parts.db.engine.dispose()


def test_check_unreachable(emulator, tmp_path):
    parts = build_app(
        emulator, f"sqlite:///{tmp_path / 'u.sqlite'}", PASSLOCK_ENDPOINT="http://127.0.0.1:9"
    )
    result = run(parts.app, "check")
    assert result.exit_code == 1
    assert "did not answer" in result.output
    with parts.app.app_context():
        parts.db.engine.dispose()


def test_list(parts, linked):
    user_id, ids = linked
    other = parts.create_user("bob")
    result = run(parts.app, "list")
    assert result.exit_code == 0
    assert all(i in result.output for i in ids) and "2 passkey(s)" in result.output
    assert "0 passkey(s)" in run(parts.app, "list", "--user", str(other)).output
    assert "2 passkey(s)" in run(parts.app, "list", "--user", str(user_id)).output
    by_name = run(parts.app, "list", "--user", "ADA").output  # a username, any case
    assert "2 passkey(s)" in by_name and f"ada ({user_id})" in by_name
    unknown = run(parts.app, "list", "--user", "nobody")
    assert unknown.exit_code == 1 and "No user named or numbered 'nobody'" in unknown.output


def test_delete(parts, emulator, linked):
    _, ids = linked
    result = run(parts.app, "delete", "--yes", "--", ids[0])
    assert result.exit_code == 0, result.output
    assert ids[0] not in emulator.passkeys
    assert [r[0] for r in parts.rows()] == [ids[1]]
    assert run(parts.app, "delete", "no-such-id", "--yes").exit_code == 1


def test_delete_asks_first(parts, emulator, linked):
    _, ids = linked
    result = run(parts.app, "delete", "--", ids[0], input="n\n")
    assert result.exit_code == 1
    assert ids[0] in emulator.passkeys and len(parts.rows()) == 2


def test_delete_when_passlock_is_down(parts, emulator, linked):
    from flask_passlock.emulator import Fault

    _, ids = linked
    emulator.inject(Fault(503, b""))
    result = run(parts.app, "delete", "--yes", "--", ids[0])
    assert result.exit_code == 1
    assert "kept here" in result.output
    assert len(parts.rows()) == 2


def test_delete_an_id_that_starts_with_a_dash(parts, emulator):
    """Passkey ids are base64url: some start with '-', which needs '--' before it."""
    client, _, _ = parts.user_with_passkeys(emulator, "dash", count=0)
    issued = emulator.issue_code(authenticator_id="-starts-with-dash")
    assert client.post("/passkey/register", json={"code": issued.code}).status_code == 201
    result = run(parts.app, "delete", "--yes", "--", "-starts-with-dash")
    assert result.exit_code == 0, result.output
    assert parts.rows() == []
