"""Shared fixtures: a real emulator on loopback, real databases, a small app per test."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask_login import LoginManager, UserMixin
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from flask_passlock import Passlock
from flask_passlock.emulator import PasslockEmulator

POSTGRES_URL = os.environ.get("PASSLOCK_TEST_DATABASE_URL")


@pytest.fixture(scope="session")
def emulator(passlock_emulator: PasslockEmulator) -> PasslockEmulator:
    """The plugin's emulator (flask_passlock.testing), under a short name."""
    return passlock_emulator


@pytest.fixture(autouse=True)
def _clean_faults(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "emulator" in request.fixturenames:
        request.getfixturevalue("emulator").clear_faults()


def _database_params() -> list[Any]:
    params: list[Any] = ["sqlite"]
    params.append(
        pytest.param(
            "postgresql",
            marks=pytest.mark.skipif(
                not POSTGRES_URL, reason="PASSLOCK_TEST_DATABASE_URL is not set"
            ),
        )
    )
    return params


@pytest.fixture(params=_database_params())
def database_url(request: pytest.FixtureRequest, tmp_path: Any) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'test.sqlite'}"
    assert POSTGRES_URL
    return POSTGRES_URL


@dataclass
class AppParts:
    """One test app and the pieces tests reach for."""

    app: Flask
    db: Any
    User: Any
    passlock: Passlock
    signed_in: dict[str, Any] = field(default_factory=dict)

    @property
    def Authenticator(self) -> Any:  # noqa: N802 - a model class
        return self.passlock.authenticator_model

    def create_user(self, username: str) -> Any:
        with self.app.app_context():
            user = self.User(username=username)
            self.db.session.add(user)
            self.db.session.commit()
            return user.id

    def user_with_passkeys(
        self, emulator: PasslockEmulator, username: str, count: int = 1, field: str = "code"
    ) -> tuple[Any, int, list[str]]:
        """A new user, signed in on a test client, with ``count`` passkeys registered through
        the blueprint (sending ``field``: ``code`` or ``id_token``). Returns ``(client, user
        id, authenticator ids)``."""
        user_id = self.create_user(username)
        client = self.app.test_client()
        sign_in(client, user_id)
        ids = []
        for _ in range(count):
            issued = emulator.issue_code()
            answer = client.post(
                "/passkey/register", json={field: getattr(issued, field)}, headers=ORIGIN
            )
            assert answer.status_code == 201, answer.get_json()
            ids.append(issued.authenticator_id)
        return client, user_id, ids

    def rows(self) -> list[tuple[str, Any]]:
        with self.app.app_context():
            model = self.Authenticator
            return [
                (r.id, r.user_id)
                for r in self.db.session.scalars(sa.select(model).order_by(model.id))
            ]


def build_app(emulator: PasslockEmulator, database_url: str, **config: Any) -> AppParts:
    class Base(DeclarativeBase):
        pass

    db = SQLAlchemy(model_class=Base)

    class User(UserMixin, db.Model):  # type: ignore[name-defined,misc]
        __tablename__ = "account"
        id: Mapped[int] = mapped_column(primary_key=True)
        username: Mapped[str] = mapped_column(sa.String(64), unique=True)

    app = Flask(__name__)
    app.config.update(
        TESTING=True,
        SECRET_KEY="test-secret",
        SQLALCHEMY_DATABASE_URI=database_url,
        **emulator.app_config(),
    )
    app.config.update(config)
    db.init_app(app)
    login = LoginManager(app)

    @login.user_loader
    def load(user_id: str) -> Any:
        return db.session.get(User, int(user_id))

    passlock = Passlock(app, db=db, user_model=User)
    with app.app_context():
        db.drop_all()
        db.create_all()
    return AppParts(app, db, User, passlock)


@contextmanager
def app_parts(emulator: PasslockEmulator, database_url: str, **config: Any) -> Iterator[AppParts]:
    """A test app for the block; its tables are dropped after it."""
    built = build_app(emulator, database_url, **config)
    try:
        yield built
    finally:
        with built.app.app_context():
            built.db.session.remove()
            built.db.drop_all()
            built.db.engine.dispose()


@pytest.fixture
def parts(emulator: PasslockEmulator, database_url: str) -> Iterator[AppParts]:
    with app_parts(emulator, database_url) as built:
        yield built


@pytest.fixture
def app(parts: AppParts) -> Flask:
    return parts.app


ORIGIN = {"Origin": "http://localhost"}


def sign_in(client: Any, user_id: int) -> None:
    with client.session_transaction() as session:
        session["_user_id"] = str(user_id)
        session["_fresh"] = True


@contextmanager
def listen_to(signal: Any) -> Iterator[list[dict[str, Any]]]:
    """Collect what ``signal`` sends inside the block, as dicts with ``sender`` added."""
    heard: list[dict[str, Any]] = []

    def receiver(sender: Any, **kwargs: Any) -> None:
        heard.append({"sender": sender, **kwargs})

    signal.connect(receiver)
    try:
        yield heard
    finally:
        signal.disconnect(receiver)
