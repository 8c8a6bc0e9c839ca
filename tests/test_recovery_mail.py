"""How the emails with codes are sent: the send_email hook, Flask-Mailman, Flask-Mail or the
emulator's outbox; and init_app refusing a config that emails codes with no way to send."""

from __future__ import annotations

import pytest
from flask import Flask

from flask_passlock import Passlock, PasslockClient
from flask_passlock.mail import OutboxMailer, send_with_flask_mail, send_with_mailman

from .recovery_helpers import code_sent_to, new_address, recovery_app

REMOTE = {
    "PASSLOCK_TENANCY_ID": "t",
    "PASSLOCK_API_KEY": "k",
    "PASSLOCK_ENDPOINT": "https://api.passlock.dev",
}


def send(to, subject, text, html):
    """A send_email hook for the init_app tests."""


@pytest.mark.parametrize("key", ["PASSLOCK_RECOVERY", "PASSLOCK_SIGNUP_VERIFY_EMAIL"])
def test_codes_with_no_way_to_send_them_fail_at_init_app(key):
    app = Flask(__name__)
    app.config.update(REMOTE, **{key: True})
    with pytest.raises(RuntimeError) as info:
        Passlock(app)
    text = str(info.value)
    assert key in text
    for fix in ("Flask-Mailman", "Flask-Mail", "@passlock.send_email", "send_email="):
        assert fix in text
    assert "passlock" not in app.extensions


def test_off_by_default_needs_no_mail():
    app = Flask(__name__)
    app.config.update(REMOTE)
    Passlock(app)
    assert app.extensions["passlock"].recovery is None


def test_recovery_needs_the_database():
    app = Flask(__name__)
    app.config.update(REMOTE, PASSLOCK_RECOVERY=True)
    with pytest.raises(RuntimeError, match="PASSLOCK_RECOVERY needs the database"):
        Passlock(app, send_email=send)


def test_a_hook_given_to_the_constructor_or_before_init_app():
    app = Flask(__name__)
    app.config.update(REMOTE, PASSLOCK_SIGNUP_VERIFY_EMAIL=True)
    Passlock(app, send_email=send)
    assert app.extensions["passlock"].recovery is send
    factory = Passlock()
    factory.send_email(send)
    other = Flask(__name__)
    other.config.update(REMOTE, PASSLOCK_SIGNUP_VERIFY_EMAIL=True)
    factory.init_app(other)
    assert other.extensions["passlock"].recovery is send


def test_mail_extensions_are_found():
    from flask_mail import Mail as FlaskMail
    from flask_mailman import Mail as Mailman

    app = Flask(__name__)
    app.config.update(REMOTE, PASSLOCK_SIGNUP_VERIFY_EMAIL=True, MAIL_BACKEND="locmem")
    Mailman(app)
    Passlock(app)
    assert app.extensions["passlock"].recovery is send_with_mailman
    app = Flask(__name__)
    app.config.update(REMOTE, PASSLOCK_SIGNUP_VERIFY_EMAIL=True)
    FlaskMail(app)
    Passlock(app)
    assert app.extensions["passlock"].recovery is send_with_flask_mail


def test_the_emulator_outbox_is_the_last_resort(emulator, database_url):
    with recovery_app(emulator, database_url) as rec:
        mailer = rec.app.extensions["passlock"].recovery
        assert isinstance(mailer, OutboxMailer) and emulator.api_key not in repr(mailer)


@pytest.fixture
def address():
    return new_address("mail")


def recover(rec, address):
    rec.create_user("mailed", email=address)
    answer = rec.app.test_client().post("/passkey/recover", data={"email": address})
    assert answer.status_code == 303, answer.get_data(as_text=True)


def test_sent_with_flask_mailman(emulator, database_url, address):
    from flask_mailman import Mail

    mail = Mail()
    config = {"MAIL_BACKEND": "locmem", "MAIL_DEFAULT_SENDER": "app@example.com"}
    with recovery_app(emulator, database_url, **config) as rec:
        mail.init_app(rec.app)
        rec.app.extensions["passlock"].recovery = send_with_mailman
        recover(rec, address)
        [message] = rec.app.extensions["mailman"].outbox
    assert message.to == [address] and message.from_email == "app@example.com"
    assert message.subject == "Your code to get back into your account"
    [challenge] = [c for c in emulator.challenges if c.email == address]
    assert challenge.code in message.body
    assert (
        message.alternatives[0][1] == "text/html" and challenge.code in message.alternatives[0][0]
    )
    assert emulator.last_email(to=address) is None  # not the outbox


def test_sent_with_flask_mail_and_the_configured_sender_and_subject(
    emulator, database_url, address
):
    from flask_mail import Mail

    mail = Mail()
    config = {
        "MAIL_DEFAULT_SENDER": "default@example.com",
        "PASSLOCK_MAIL_SENDER": "Support <help@example.com>",
        "PASSLOCK_MAIL_SUBJECT": "Your sign-in code",
    }
    with recovery_app(emulator, database_url, **config) as rec:
        mail.init_app(rec.app)
        rec.app.extensions["passlock"].recovery = send_with_flask_mail
        with rec.app.app_context(), mail.record_messages() as sent:
            recover(rec, address)
    [message] = sent
    assert message.recipients == [address] and message.sender == "Support <help@example.com>"
    assert message.subject == "Your sign-in code"
    [challenge] = [c for c in emulator.challenges if c.email == address]
    assert challenge.code in message.body and challenge.code in message.html


def test_sent_to_the_emulator_outbox(emulator, database_url, address):
    with recovery_app(emulator, database_url) as rec:
        recover(rec, address)
    message = emulator.last_email(to=address)
    assert message.tenancy_id == emulator.tenancy_id and message.html
    assert code_sent_to(emulator, address)


def test_the_outbox_refusing_is_an_email_not_sent(emulator, database_url, address):
    with recovery_app(emulator, database_url) as rec:
        wrong_key = PasslockClient(emulator.tenancy_id, "wrong-key", endpoint=emulator.url)
        rec.app.extensions["passlock"].recovery = OutboxMailer(wrong_key)
        rec.create_user("refused", email=address)
        answer = rec.app.test_client().post("/passkey/recover", json={"email": address})
    assert answer.status_code == 503 and answer.get_json()["code"] == "email_not_sent"
