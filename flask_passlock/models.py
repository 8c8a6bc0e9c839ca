"""SQLAlchemy models: the ``authenticator`` table linking Passlock passkeys to local users.

The table follows Passlock's documented shape, ``user 1—n authenticator``, keyed by the
``authenticatorId`` Passlock returns. :class:`AuthenticatorMixin` holds the columns for apps that
declare their own model; :func:`make_authenticator_model` builds the default one.
"""

from __future__ import annotations

import weakref
from datetime import datetime, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, declared_attr, mapped_column, relationship, synonym

__all__ = [
    "AuthenticatorMixin",
    "UsedTokenMixin",
    "make_authenticator_model",
    "make_used_token_model",
    "DEFAULT_TABLE_NAME",
]

#: Table name of the default model.
DEFAULT_TABLE_NAME = "passlock_authenticator"


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class AuthenticatorMixin:
    """Columns of an authenticator row.

    To use your own table, subclass it with your declarative base and add a ``user_id``
    foreign key to your user table, then pass the class as ``authenticator_model=``::

        class Passkey(AuthenticatorMixin, db.Model):
            __tablename__ = "passkey"
            user_id = db.Column(db.ForeignKey("user.id"), nullable=False, index=True)
    """

    #: Passlock's ``authenticatorId`` (the passkey ID), as given by Passlock.
    id: Mapped[str] = mapped_column(sa.String(255), primary_key=True)

    @declared_attr
    def authenticator_id(cls) -> Mapped[str]:
        """The same value under Passlock's name."""
        return synonym("id")

    #: Passlock's ``userId`` for the passkey (defaults to the authenticator ID there).
    passlock_user_id: Mapped[str | None] = mapped_column(sa.String(255), nullable=True)
    #: When the passkey was linked.
    created_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), nullable=False, default=utcnow
    )
    #: When the passkey was last used to sign in (``None`` until then).
    last_used_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    #: Whether the authenticator verified the user (PIN, biometrics) at registration.
    user_verified: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    #: Where the passkey lives, as Passlock names it ("iCloud Keychain"...), if known.
    platform_name: Mapped[str | None] = mapped_column(sa.String(255))
    #: A name the user chose for the passkey.
    label: Mapped[str] = mapped_column(sa.String(100), nullable=False, default="Passkey")

    def to_dict(self) -> dict[str, Any]:
        """The row as JSON-ready data (what the blueprint's JSON answers contain)."""

        def iso(value: datetime | None) -> str | None:
            if value is None:
                return None
            if value.tzinfo is None:  # SQLite drops the zone; values are stored in UTC
                value = value.replace(tzinfo=timezone.utc)
            return value.isoformat()

        return {
            "id": self.id,
            "label": self.label,
            "platform_name": self.platform_name,
            "user_verified": self.user_verified,
            "created_at": iso(self.created_at),
            "last_used_at": iso(self.last_used_at),
        }

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.id!r}>"


_models: weakref.WeakKeyDictionary[Any, dict[tuple[Any, str], type[Any]]] = (
    weakref.WeakKeyDictionary()
)


def make_authenticator_model(
    db: Any, user_model: type[Any], *, tablename: str = DEFAULT_TABLE_NAME
) -> type[Any]:
    """Return the default authenticator model for ``db`` (a Flask-SQLAlchemy ``SQLAlchemy``),
    with a ``user_id`` foreign key to ``user_model``'s primary key and a ``user`` relationship.

    Calling it again with the same arguments returns the same class.
    """
    cache = _models.setdefault(db, {})
    key = (user_model, tablename)
    if key in cache:
        return cache[key]
    primary_key = sa.inspect(user_model).primary_key
    if len(primary_key) != 1:
        raise TypeError(f"{user_model.__name__} must have a single-column primary key.")
    target = primary_key[0]

    attrs: dict[str, Any] = {
        "__tablename__": tablename,
        "__module__": __name__,
        "__qualname__": "Authenticator",
        "user_id": sa.Column(
            target.type,
            sa.ForeignKey(target, ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        "user": relationship(user_model, lazy="joined"),
    }
    model: type[Any] = type("Authenticator", (AuthenticatorMixin, db.Model), attrs)
    cache[key] = model
    return model


class UsedTokenMixin:
    """The id_token replay guard: one row per ``jti`` already accepted, kept until it expires.

    It lives in the database so that every worker and machine sees it.
    """

    jti: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), nullable=False, index=True
    )


def make_used_token_model(db: Any, *, tablename: str = "passlock_used_token") -> type[Any]:
    """Return the model of the id_token replay guard table for ``db``."""
    cache = _models.setdefault(db, {})
    key = (UsedTokenMixin, tablename)
    if key not in cache:
        attrs = {"__tablename__": tablename, "__module__": __name__, "__qualname__": "UsedToken"}
        cache[key] = type("UsedToken", (UsedTokenMixin, db.Model), attrs)
    return cache[key]
