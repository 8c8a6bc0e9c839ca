"""The user model of the test apps: an ``account`` table with a unique ``username``, and with
``with_email`` an optional, unique ``email``."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask_login import UserMixin
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def declare_users(*, with_email: bool = False) -> tuple[Any, Any]:
    """A new ``SQLAlchemy`` object and its ``User`` model."""

    class Base(DeclarativeBase):
        pass

    db = SQLAlchemy(model_class=Base)

    class User(UserMixin, db.Model):  # type: ignore[name-defined,misc]
        __tablename__ = "account"
        id: Mapped[int] = mapped_column(primary_key=True)
        username: Mapped[str] = mapped_column(sa.String(64), unique=True)
        if with_email:
            email: Mapped[str | None] = mapped_column(sa.String(254), unique=True)

    return db, User
