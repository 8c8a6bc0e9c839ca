"""Helpers of the test suite: a small app per test, and a signal listener."""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import jwt
import sqlalchemy as sa
from flask import Flask, current_app
from flask_login import LoginManager

from flask_passlock import Passlock
from flask_passlock.emulator import PasslockEmulator
from flask_passlock.testing import PasslockTestClient

from .apps.models import declare_users


def _database_of_this_worker(url: str | None) -> str | None:
    """``url`` itself, or, in a test process of pytest-xdist, a database of that process's
    own beside it (``test`` -> ``test_gw1``), created when missing: workers never share
    tables."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not url or not worker:
        return url
    base = sa.make_url(url)
    own = base.set(database=f"{base.database}_{worker}")
    engine = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            exists = connection.scalar(
                sa.text("SELECT 1 FROM pg_database WHERE datname = :name"),
                {"name": own.database},
            )
            if not exists:
                connection.execute(sa.text(f'CREATE DATABASE "{own.database}"'))
    finally:
        engine.dispose()
    return own.render_as_string(hide_password=False)


POSTGRES_URL = _database_of_this_worker(os.environ.get("PASSLOCK_TEST_DATABASE_URL"))

_USER_IDS = itertools.count(1_000)


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

    def create_user(self, username: str, **columns: Any) -> Any:
        """A new user; its id is unique in the whole test session, because the app's user ids
        become Passlock user ids in the one emulator every test shares."""
        with self.app.app_context():
            user = self.User(id=next(_USER_IDS), username=username, **columns)
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
        client = self.app.test_client(user=user_id)
        ids = []
        for _ in range(count):
            issued = emulator.issue_code()
            answer = client.post("/passkey/register", json={field: getattr(issued, field)})
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


#: One database object and user model per process and shape: declaring models and mapping
#: them costs more than the rest of an app, and the models hold no state of a test (each app
#: has its own engine and tables).
_SCHEMAS: dict[bool, tuple[Any, Any]] = {}


def _schema(with_email: bool) -> tuple[Any, Any]:
    if with_email not in _SCHEMAS:
        _SCHEMAS[with_email] = declare_users(with_email=with_email)
    return _SCHEMAS[with_email]


def build_app(
    emulator: PasslockEmulator, database_url: str, *, with_email: bool = False, **config: Any
) -> AppParts:
    """A small app; ``with_email`` gives its users an (optional, unique) ``email`` column."""
    db, User = _schema(with_email)  # noqa: N806 - a model class

    app = Flask(__name__)
    app.test_client_class = PasslockTestClient
    app.config.update(
        TESTING=True,
        SECRET_KEY="test-secret",
        SQLALCHEMY_DATABASE_URI=database_url,
        **_engine_options(database_url, with_email),
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
        _empty_tables(db, database_url, with_email)
    return AppParts(app, db, User, passlock)


#: On a server database, the tables of each shape live in a schema of their own, created once
#: per test process and emptied for each test: creating and dropping them for every test cost
#: ~25 ms of CPU a test (client and server), emptying them ~2 ms. Other apps of the suite on
#: the same database (the example app, the gunicorn-served test app) keep to ``public``.
_CREATED: set[tuple[str, str]] = set()


def _schema_name(with_email: bool) -> str:
    return "passlock_tests_email" if with_email else "passlock_tests"


def _engine_options(database_url: str, with_email: bool) -> dict[str, Any]:
    if database_url.startswith("sqlite"):
        return {}
    options = f"-c search_path={_schema_name(with_email)}"
    return {"SQLALCHEMY_ENGINE_OPTIONS": {"connect_args": {"options": options}}}


def _empty_tables(db: Any, database_url: str, with_email: bool) -> None:
    if database_url.startswith("sqlite"):  # the test's own: in memory, or a file in tmp_path
        db.drop_all()
        db.create_all()
        return
    schema = _schema_name(with_email)
    if (database_url, schema) not in _CREATED:
        with db.engine.begin() as connection:
            connection.execute(sa.text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
            connection.execute(sa.text(f"CREATE SCHEMA {schema}"))
        db.create_all()
        _CREATED.add((database_url, schema))
        return
    with db.engine.begin() as connection:
        for table in reversed(db.metadata.sorted_tables):
            connection.execute(table.delete())


@contextmanager
def app_parts(emulator: PasslockEmulator, database_url: str, **config: Any) -> Iterator[AppParts]:
    """A test app for the block (``build_app``'s arguments)."""
    built = build_app(emulator, database_url, **config)
    try:
        yield built
    finally:
        with built.app.app_context():
            built.db.session.remove()
            built.db.engine.dispose()


@contextmanager
def statements_sent(parts: AppParts) -> Iterator[list[str]]:
    """The SQL statements the app's engine sends inside the block, in order."""
    with parts.app.app_context():
        engine = parts.db.engine
    sent: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        sent.append(statement)

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)


#: The arguments each signal sends, as ``flask_passlock.signals`` documents them.
SIGNAL_ARGUMENTS = {
    "passkey-registered": {"user", "principal", "authenticator"},
    "exchange-failed": {"error", "action"},
    "link-failed": {"user", "principal", "error"},
    "passkey-authenticated": {"user", "principal", "authenticator"},
    "login-failed": {"principal", "error"},
    "user-signed-up": {"user", "principal", "authenticator"},
    "passkey-renamed": {"user", "authenticator", "label"},
    "passkey-removed": {"user", "authenticator_id", "record"},
    "passkey-verified": {"user", "authenticator"},
    "user-forgotten": {"user", "authenticator_ids", "records"},
    "recovery-requested": {"email", "user"},
    "account-recovered": {"user", "challenge"},
}


@contextmanager
def listen_to(signal: Any) -> Iterator[list[dict[str, Any]]]:
    """Collect what ``signal`` sends inside the block, as dicts with ``sender`` added.

    Every event is held to what ``flask_passlock.signals`` documents: the sender is the app
    handling the request, and the arguments are exactly the documented ones."""
    heard: list[dict[str, Any]] = []

    def receiver(sender: Any, **kwargs: Any) -> None:
        assert sender is current_app._get_current_object(), (signal.name, sender)
        assert set(kwargs) == SIGNAL_ARGUMENTS[signal.name], (signal.name, sorted(kwargs))
        heard.append({"sender": sender, **kwargs})

    signal.connect(receiver)
    try:
        yield heard
    finally:
        signal.disconnect(receiver)


def claims_for(emulator: PasslockEmulator, passkey_id: str, **overrides: Any) -> dict[str, Any]:
    """The claims of an id_token Passlock would sign for ``passkey_id``, with ``overrides``."""
    now = int(time.time())
    return {
        "iss": "passlock.dev",
        "aud": emulator.tenancy_id,
        "sub": passkey_id,
        "jti": f"jti-{time.monotonic_ns()}",
        "iat": now,
        "exp": now + 300,
        "a:id": passkey_id,
        "a:typ": "passkey",
        "pk:uv": True,
        **overrides,
    }


def sign_id_token(emulator: PasslockEmulator, passkey_id: str, **overrides: Any) -> str:
    """An id_token for ``passkey_id`` signed by the emulator's key, with ``overrides``."""
    kid, key = emulator.signing_key()
    claims = claims_for(emulator, passkey_id, **overrides)
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})
