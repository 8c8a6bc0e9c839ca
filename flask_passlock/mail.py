"""Sending the emails that carry one-time codes (mailbox challenges).

Passlock renders each email (``message.text`` and ``message.html``); the app sends it. How is
decided when the app is set up, first match wins:

1. the ``send_email`` hook (``@passlock.send_email``, or ``Passlock(send_email=...)``);
2. Flask-Mailman, when it is set up on the app before Passlock (``app.extensions["mailman"]``);
3. Flask-Mail, likewise (``app.extensions["mail"]``);
4. the Passlock emulator's development outbox, when ``PASSLOCK_ENDPOINT`` is on a loopback
   host (``POST /{tenancy}/_emulator/outbox``; read the emails at ``/_emulator/outbox``).

With ``PASSLOCK_RECOVERY`` or ``PASSLOCK_SIGNUP_VERIFY_EMAIL`` on and none of these,
:meth:`~flask_passlock.Passlock.init_app` raises :class:`RuntimeError` naming the fixes. The
``From`` address is ``PASSLOCK_MAIL_SENDER``, else the mail extension's default sender.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlsplit

from flask import Flask, current_app

from . import config as cfg
from ._transport import loopback
from .client import PasslockClient
from .exceptions import PasslockUnavailable

#: ``send(to, subject, text, html)``: sends one email, or raises.
Mailer = Callable[[str, str, str, "str | None"], None]

NO_MAILER = (
    "Flask-Passlock cannot send the emails of {keys}: there is no way to send email. Set up "
    "Flask-Mailman or Flask-Mail on the app before Passlock, register @passlock.send_email "
    "before init_app() (or pass Passlock(send_email=...)), or turn {keys} off."
)


def resolve(app: Flask, client: PasslockClient, hook: Mailer | None) -> Mailer | None:
    """How ``app`` sends email (see the module's docs), or ``None`` when it cannot."""
    if hook is not None:
        return hook
    if "mailman" in app.extensions:
        return send_with_mailman
    if "mail" in app.extensions:
        return send_with_flask_mail
    if _on_loopback(client.origin):
        return OutboxMailer(client)
    return None


def check(
    app: Flask, client: PasslockClient, hook: Mailer | None, *, has_store: bool = True
) -> Mailer | None:
    """The mailer of ``app`` when its config sends codes (``None`` when it sends none).

    :raises RuntimeError: it sends codes and has no way to send email, or recovery is on
        without a database (``has_store``).
    """
    keys = [key for key in (cfg.RECOVERY, cfg.SIGNUP_VERIFY_EMAIL) if app.config[key]]
    if not keys:
        return None
    mailer = resolve(app, client, hook)
    if mailer is None:
        raise RuntimeError(NO_MAILER.format(keys=" and ".join(keys)))
    if app.config[cfg.RECOVERY] and not has_store:
        raise RuntimeError(
            f"{cfg.RECOVERY} needs the database: pass db= and user_model= to Passlock() or "
            "init_app()."
        )
    return mailer


def _sender() -> str | None:
    sender = current_app.config.get(cfg.MAIL_SENDER)
    return str(sender) if sender else None


def send_with_mailman(to: str, subject: str, text: str, html: str | None) -> None:
    """Send with Flask-Mailman (``EmailMultiAlternatives``: text, and HTML when given)."""
    mailman = importlib.import_module("flask_mailman")
    message = mailman.EmailMultiAlternatives(subject, text, _sender(), [to])
    if html:
        message.attach_alternative(html, "text/html")
    message.send()


def send_with_flask_mail(to: str, subject: str, text: str, html: str | None) -> None:
    """Send with Flask-Mail."""
    flask_mail = importlib.import_module("flask_mail")
    message = flask_mail.Message(subject, recipients=[to], body=text, html=html, sender=_sender())
    current_app.extensions["mail"].send(message)


class OutboxMailer:
    """Sends to the Passlock emulator's development outbox, with the app's API key."""

    def __init__(self, client: PasslockClient) -> None:
        self.client = client
        tenancy = quote(client.tenancy_id, safe="")
        self.url = f"{client.origin}/{tenancy}/_emulator/outbox"

    def __call__(self, to: str, subject: str, text: str, html: str | None) -> None:
        body: dict[str, Any] = {"to": to, "subject": subject, "text": text}
        if html:
            body["html"] = html
        status, _ = self.client.fetch("POST", self.url, body)
        if status != 201:
            raise PasslockUnavailable(reason=f"the emulator's outbox answered HTTP {status}")

    def __repr__(self) -> str:
        return f"<OutboxMailer {self.url}>"


def _on_loopback(origin: str) -> bool:
    return loopback(urlsplit(origin).hostname or "")
