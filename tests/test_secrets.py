"""Secret hygiene: with logging at DEBUG, every flow (and its failures) keeps the API key,
codes and id_tokens out of logs, pages, JSON answers, signals and exception messages."""

from __future__ import annotations

import logging

import pytest

from flask_passlock import PasslockError, Principal, signals
from flask_passlock.emulator import Fault

from .helpers import build_app, listen_to


@pytest.mark.parametrize("verify_id_token", [False, True], ids=["code", "id_token"])
def test_no_secret_anywhere(emulator, tmp_path, caplog, verify_id_token):
    caplog.set_level(logging.DEBUG)
    parts = build_app(
        emulator, f"sqlite:///{tmp_path / 's.sqlite'}", PASSLOCK_VERIFY_ID_TOKEN=verify_id_token
    )
    app = parts.app
    secrets = [emulator.api_key]
    outputs: list[str] = []

    def mint(**kwargs):
        issued = emulator.issue_code(**kwargs)
        secrets.extend([issued.code, issued.id_token])
        return issued

    def post(client, path, body, status, code=None):
        """POST, and check the flow went where it should: a flow failing early would leak
        nothing and prove nothing."""
        response = client.post(path, json=body)
        outputs.append(response.get_data(as_text=True))
        assert response.status_code == status, (path, response.get_json())
        assert (response.get_json() or {}).get("code") == code, (path, response.get_json())
        return response

    all_signals = [
        getattr(signals, n) for n in dir(signals) if hasattr(getattr(signals, n), "connect")
    ]
    contexts = [listen_to(s) for s in all_signals]
    lists = [c.__enter__() for c in contexts]
    try:
        user_id = parts.create_user("ada")
        client = app.test_client(user=user_id)
        body_key = "id_token" if verify_id_token else "code"
        first = mint()
        register = {body_key: getattr(first, body_key)}
        post(client, "/passkey/register", register, 201)
        replayed = "id_token_replayed" if verify_id_token else "invalid_code"
        post(client, "/passkey/register", register, 400, replayed)
        anonymous = app.test_client()
        own = mint(authenticator_id=first.authenticator_id)
        post(anonymous, "/passkey/login", {body_key: getattr(own, body_key)}, 200)
        unknown = {body_key: getattr(mint(), body_key)}
        post(anonymous, "/passkey/login", unknown, 401, "unknown_passkey")
        signup = {"username": "bob", body_key: getattr(mint(), body_key)}
        post(app.test_client(), "/passkey/signup", signup, 201)
        taken = {"username": "bob", body_key: getattr(mint(), body_key)}
        post(app.test_client(), "/passkey/signup", taken, 409, "username_taken")
        again = mint(authenticator_id=first.authenticator_id)
        post(client, "/passkey/verify", {body_key: getattr(again, body_key)}, 200)
        for fault, status, code in (
            (Fault(500, b"<html>x</html>"), 503, "passlock_unavailable"),
            (Fault(reset=True), 201, None),  # an idle connection closed: sent again
            (Fault(200, b"{", "application/json"), 503, "passlock_unavailable"),
        ):
            emulator.inject(fault)
            post(client, "/passkey/register", {"code": mint().code}, status, code)
        post(client, f"/passkey/{first.authenticator_id}/rename", {"label": "x"}, 200)
        emulator.inject(Fault(503, b""))
        delete = f"/passkey/{first.authenticator_id}/delete"
        post(client, delete, {}, 503, "passlock_unavailable")
        post(client, delete, {}, 200)
        for path in (
            "/passkey/",
            "/passkey/register",
            "/passkey/login",
            "/passkey/signup",
            "/passkey/verify",
        ):
            outputs.append(client.get(path).get_data(as_text=True))
    finally:
        for context in contexts:
            context.__exit__(None, None, None)
    texts = outputs + [caplog.text]
    for received in lists:
        for event in received:
            for value in event.values():
                if isinstance(value, (Principal, PasslockError, str)):
                    texts.extend([str(value), repr(value)])
    assert len(secrets) == 19  # the key, and 9 codes with their id_tokens
    leaks = [s[:12] for s in secrets for t in texts if s in t]
    assert leaks == []
    assert "/principal/[redacted]" in caplog.text  # the codes sent with the faults above
    with app.app_context():
        parts.db.engine.dispose()
