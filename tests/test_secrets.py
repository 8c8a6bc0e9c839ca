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

    def post(client, path, body, **headers):
        response = client.post(path, json=body, headers={**headers})
        outputs.append(response.get_data(as_text=True))
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
        assert (
            post(client, "/passkey/register", {body_key: getattr(first, body_key)}).status_code
            == 201
        )
        post(client, "/passkey/register", {body_key: getattr(first, body_key)})  # replay
        anonymous = app.test_client()
        assert (
            post(
                anonymous,
                "/passkey/login",
                {body_key: getattr(mint(authenticator_id=first.authenticator_id), body_key)},
            ).status_code
            == 200
        )
        post(anonymous, "/passkey/login", {body_key: getattr(mint(), body_key)})  # unknown passkey
        assert (
            post(
                app.test_client(),
                "/passkey/signup",
                {"username": "bob", body_key: getattr(mint(), body_key)},
            ).status_code
            == 201
        )
        post(
            app.test_client(),
            "/passkey/signup",
            {"username": "bob", body_key: getattr(mint(), body_key)},
        )  # taken
        post(
            client,
            "/passkey/verify",
            {body_key: getattr(mint(authenticator_id=first.authenticator_id), body_key)},
        )
        for fault in (
            Fault(500, b"<html>x</html>"),
            Fault(reset=True),
            Fault(200, b"{", "application/json"),
        ):
            emulator.inject(fault)
            post(client, "/passkey/register", {"code": mint().code})
        post(client, f"/passkey/{first.authenticator_id}/rename", {"label": "x"})
        emulator.inject(Fault(503, b""))
        post(client, f"/passkey/{first.authenticator_id}/delete", {})
        post(client, f"/passkey/{first.authenticator_id}/delete", {})
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
    assert "/principal/[redacted]" in caplog.text or verify_id_token
    with app.app_context():
        parts.db.engine.dispose()
