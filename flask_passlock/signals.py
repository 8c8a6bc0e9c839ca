"""Blinker signals sent by Flask-Passlock. The sender is always the Flask app.

Subscribe as with any Flask signal::

    from flask_passlock.signals import passkey_registered

    @passkey_registered.connect_via(app)
    def on_passkey(app, user, principal, authenticator, **extra):
        audit_log.info("user %s added passkey %s", user.id, principal.authenticator_id)
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

#: Sent after a passkey was linked to a user and committed. Arguments: ``user``,
#: ``principal`` (:class:`~flask_passlock.Principal`) and ``authenticator`` (the row, or
#: whatever the ``link_passkey`` hook returned).
passkey_registered = _signals.signal("passkey-registered")

#: Sent when a code exchange with Passlock failed. Arguments: ``error`` (the
#: :class:`~flask_passlock.PasslockError`; its message holds no secret) and ``action``
#: (``"register"``...).
exchange_failed = _signals.signal("exchange-failed")

#: Sent when linking a passkey was refused or failed. Arguments: ``user``, ``principal`` and
#: ``error``.
link_failed = _signals.signal("link-failed")

#: Sent after a passkey sign-in, once the user is logged in. Arguments: ``user``,
#: ``principal`` and ``authenticator``.
passkey_authenticated = _signals.signal("passkey-authenticated")

#: Sent when a sign-in was refused after Passlock vouched for the passkey (unknown passkey,
#: disabled user...). Arguments: ``principal`` and ``error``.
login_failed = _signals.signal("login-failed")

#: Sent after passkey-first sign-up created an account. Arguments: ``user``, ``principal`` and
#: ``authenticator``.
user_signed_up = _signals.signal("user-signed-up")

#: Sent after a passkey was renamed. Arguments: ``user``, ``authenticator`` and ``label``.
passkey_renamed = _signals.signal("passkey-renamed")

#: Sent after a passkey was deleted here and at Passlock. Arguments: ``user``,
#: ``authenticator_id`` and ``record`` (Passlock's record of it, or ``None``).
passkey_removed = _signals.signal("passkey-removed")

#: Sent after a step-up re-verification. Arguments: ``user`` and ``authenticator``.
passkey_verified = _signals.signal("passkey-verified")

#: Sent after :meth:`~flask_passlock.Passlock.forget_user` deleted a user's passkeys at
#: Passlock and here. Arguments: ``user``, ``authenticator_ids`` and ``records`` (Passlock's
#: records of the deleted passkeys).
user_forgotten = _signals.signal("user-forgotten")

#: Sent after ``POST /passkey/recover`` emailed a code. Arguments: ``email`` (the address
#: typed) and ``user`` (the account that has it, or ``None``: a code goes out either way, so
#: that the page tells nothing). For an audit log, or a "someone asked to get into your
#: account" notice. The code and the challenge's secret are never sent with it.
recovery_requested = _signals.signal("recovery-requested")

#: Sent after a recovery code signed a user in (for recovery only: they are sent on to create a
#: new passkey, and it never counts as a fresh passkey check). Arguments: ``user`` and
#: ``challenge`` (the verified :class:`~flask_passlock.Challenge`: no secret, no code).
account_recovered = _signals.signal("account-recovered")
