"""Secret hygiene of email codes: with logging at DEBUG, every recovery and sign-up step (and
its failures) keeps each challenge's secret and one-time code out of logs, pages, JSON
answers, signal payloads and exception messages. The code reaches the email alone; the secret
only the signed session (which never holds the code)."""

from __future__ import annotations

import logging

from flask_passlock import PasslockError, signals
from flask_passlock.emulator import Fault

from .helpers import listen_to
from .recovery_helpers import code_sent_to, new_address, other_than, recovery_app


def every_signal():
    return [getattr(signals, n) for n in dir(signals) if hasattr(getattr(signals, n), "connect")]


def test_no_secret_or_code_anywhere(emulator, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    database = f"sqlite:///{tmp_path / 'secrets.sqlite'}"
    known, other, fresh = new_address("known"), new_address("other"), new_address("fresh")
    unknown, stray = new_address("unknown"), new_address("stray")
    secrets: list[str] = []
    outputs: list[str] = []
    sessions: list[str] = []

    def keep(response):
        outputs.append(response.get_data(as_text=True))
        outputs.append(str({k: v for k, v in response.headers if k != "Set-Cookie"}))
        return response

    def sent(address):
        """Remember the secret and code of the challenge just made for ``address``."""
        [challenge] = [c for c in emulator.challenges if c.email == address]
        assert challenge.code not in secrets
        secrets.extend([challenge.secret, challenge.code])
        assert code_sent_to(emulator, address) == challenge.code
        return challenge.code

    contexts = [listen_to(s) for s in every_signal()]
    heard = [c.__enter__() for c in contexts]
    try:
        with recovery_app(emulator, database, PASSLOCK_SIGNUP_VERIFY_EMAIL=True) as rec:
            rec.create_user("known", email=known)
            rec.create_user("other", email=other)
            for address, as_json in (
                (known, True),
                (other, False),
                (unknown, True),
                (stray, False),
            ):
                client = rec.app.test_client()
                body = {"email": address}
                keep(
                    client.post(
                        "/passkey/recover", **({"json": body} if as_json else {"data": body})
                    )
                )
                code = sent(address)
                keep(client.get("/passkey/recover/verify"))
                keep(client.post("/passkey/recover/verify", json={"code": other_than(code)}))
                keep(client.post("/passkey/recover/verify", data={"code": other_than(code)}))
                for tag in ("@error/ChallengeExpired", "@error/Internal"):
                    emulator.inject(Fault.error(tag))
                    keep(client.post("/passkey/recover/verify", data={"code": code}))
                    keep(client.post("/passkey/recover", data=body))
                    code = sent(address)
                keep(client.post("/passkey/recover/verify", data={"code": code}))
                keep(client.post("/passkey/recover/verify", json={"code": code}))  # replay
                with client.session_transaction() as session:
                    sessions.append(str(dict(session)))
            signup = rec.app.test_client()
            keep(signup.post("/passkey/signup/email", data={"username": "fresh", "email": fresh}))
            code = sent(fresh)
            keep(signup.get("/passkey/signup/email/verify"))
            keep(signup.post("/passkey/signup/email/verify", data={"code": other_than(code)}))
            with signup.session_transaction() as session:
                sessions.append(str(dict(session)))
            keep(signup.post("/passkey/signup/email/verify", data={"code": code}))
            keep(signup.get("/passkey/signup"))
            issued = emulator.issue_code()
            keep(signup.post("/passkey/signup", json={"username": "fresh", "code": issued.code}))
            keep(signup.get("/passkey/"))
    finally:
        for context in contexts:
            context.__exit__(None, None, None)
    texts = outputs + [caplog.text]
    for received in heard:
        for event in received:
            for value in event.values():
                texts.extend([str(value), repr(value)])
                if isinstance(value, PasslockError):
                    texts.append(str(value.answer()))
    assert len(secrets) == 26  # 13 challenges (3 per address and mode, 1 sign-up), 2 each
    assert [s[:4] for s in secrets for t in texts if s in t] == []
    codes = secrets[1::2]
    assert [c for c in codes for s in sessions if c in s] == []
    by_name = {signal.name: events for signal, events in zip(every_signal(), heard)}
    assert len(by_name["account-recovered"]) == 2  # the known addresses, by JSON and by form
    assert len(by_name["recovery-requested"]) == 12
