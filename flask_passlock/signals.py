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
