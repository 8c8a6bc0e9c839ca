"""What the benchmark drives: one Flask app holding Flask-Passlock beside the two recipes a
developer writes from Passlock's docs and a bare Flask + Flask-Login route, plus the floor
(no framework at all). Everything writes to the same tables.

- the naive recipe: ``requests.get`` per code exchange, as in the docs (a new connection, and
  on a real link a new TCP + TLS handshake, every time);
- the session recipe: the same with one module-level ``requests.Session`` (what a careful
  developer writes: connections are reused);
- Flask-Passlock, by code (``PASSLOCK_VERIFY_ID_TOKEN = False``, the body holds only the code)
  or by id_token (``PASSLOCK_VERIFY_ID_TOKEN = True``, the body holds only the id_token);
- the bare route: Flask + Flask-Login and the same database writes as Flask-Passlock's
  id_token path (the replay-guard row and the passkey row), no verification, no call to
  Passlock: the cost of the framework and the database alone;
- the floor: one GET over an open ``http.client`` connection and Core statements on an open
  database connection: the least work that accepts a ceremony by code.
"""

from __future__ import annotations

import http.client
import json
import ssl
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

import requests
import sqlalchemy as sa
from flask import Flask, request
from flask_login import LoginManager, UserMixin, current_user, login_required, login_user
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from flask_passlock import Passlock, get_state

#: The session recipe's one ``requests.Session`` for the whole process.
SESSION = requests.Session()

#: How long the bare route keeps a replay-guard row (the id_token's lifetime at Passlock).
TOKEN_TTL = timedelta(minutes=5)


def internals(app: Flask) -> SimpleNamespace:
    """The extension's per-app state (``flask_passlock.get_state``): ``verifier`` to time a
    bare verification, ``extension`` for lookups by id."""
    state = get_state(app)
    return SimpleNamespace(client=state.client, verifier=state.verifier, extension=state.extension)


@dataclass
class Bench:
    """One app and its models."""

    app: Flask
    db: SQLAlchemy
    passlock: Passlock
    User: Any
    Authenticator: Any
    UsedJti: Any


def build_app(
    database_url: str, passlock_config: dict[str, Any], *, verify_id_token: bool
) -> Bench:
    """The app under test; ``verify_id_token`` is set explicitly, whatever the default."""

    class Base(DeclarativeBase):
        pass

    db = SQLAlchemy(model_class=Base)

    class User(UserMixin, db.Model):  # type: ignore[name-defined,misc]
        __tablename__ = "bench_user"
        id: Mapped[int] = mapped_column(primary_key=True)
        username: Mapped[str] = mapped_column(sa.String(64), unique=True)

    class UsedJti(db.Model):  # type: ignore[name-defined,misc]
        """The bare route's replay guard, shaped like Flask-Passlock's."""

        __tablename__ = "bench_used_jti"
        jti: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
        expires_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), index=True)

    app = Flask(__name__)
    app.config.update(
        SECRET_KEY="bench",
        SQLALCHEMY_DATABASE_URI=database_url,
        **passlock_config,
        PASSLOCK_VERIFY_ID_TOKEN=verify_id_token,
    )
    db.init_app(app)
    login = LoginManager(app)
    login.user_loader(lambda user_id: db.session.get(User, int(user_id)))
    passlock = Passlock(app, db=db, user_model=User)
    bench = Bench(app, db, passlock, User, passlock.authenticator_model, UsedJti)
    add_recipe(bench, "naive", requests.get)
    add_recipe(bench, "session", SESSION.get)
    add_bare_routes(bench)
    return bench


def create_tables(bench: Bench) -> None:
    """Fresh tables, and user 1 (``ada``), who registers passkeys."""
    with bench.app.app_context():
        bench.db.drop_all()
        bench.db.create_all()
        bench.db.session.add(bench.User(id=1, username="ada"))
        bench.db.session.commit()
        if bench.db.engine.dialect.name == "postgresql":  # ids given above: move the sequence
            bench.db.session.execute(
                sa.text("SELECT setval(pg_get_serial_sequence('bench_user', 'id'), 1)")
            )
            bench.db.session.commit()


def drop_tables(bench: Bench) -> None:
    with bench.app.app_context():
        bench.db.session.remove()
        bench.db.drop_all()
        bench.db.engine.dispose()


def link_passkey(bench: Bench, authenticator_id: str, user_id: int = 1) -> None:
    """A passkey row for sign-ins."""
    with bench.app.app_context():
        bench.db.session.add(bench.Authenticator(id=authenticator_id, user_id=user_id))
        bench.db.session.commit()


# -- the recipes from Passlock's docs -------------------------------------------------------------


def add_recipe(bench: Bench, name: str, get: Any) -> None:
    """``/recipe/<name>/register|signup|login``: exchange the code with ``get`` (as the docs'
    REST call), then link, create or look up, as a Flask developer writes it."""
    app, db, User, Authenticator = bench.app, bench.db, bench.User, bench.Authenticator  # noqa: N806

    def exchange(code: str) -> dict[str, Any]:
        config = app.config
        endpoint = config["PASSLOCK_ENDPOINT"].rstrip("/")
        response = get(
            f"{endpoint}/{config['PASSLOCK_TENANCY_ID']}/principal/{code}",
            headers={"Authorization": f"Bearer {config['PASSLOCK_API_KEY']}"},
            timeout=10,
        )
        response.raise_for_status()
        return response.json()  # type: ignore[no-any-return]

    @login_required
    def register() -> Any:
        principal = exchange(request.get_json()["code"])
        db.session.add(Authenticator(id=principal["authenticatorId"], user_id=current_user.id))
        db.session.commit()
        return {"id": principal["authenticatorId"]}, 201

    def signup() -> Any:
        data = request.get_json()
        principal = exchange(data["code"])
        if db.session.scalar(sa.select(User.id).where(User.username == data["username"])):
            return {"error": "username taken"}, 409
        user = User(username=data["username"])
        db.session.add(user)
        db.session.flush()
        db.session.add(Authenticator(id=principal["authenticatorId"], user_id=user.id))
        db.session.commit()
        login_user(user)
        return {"id": principal["authenticatorId"]}, 201

    def login() -> Any:
        principal = exchange(request.get_json()["code"])
        authenticator = db.session.get(Authenticator, principal["authenticatorId"])
        if authenticator is None:
            return {"error": "unknown passkey"}, 401
        login_user(authenticator.user)
        return {"id": authenticator.id}, 200

    for view in (register, signup, login):
        app.add_url_rule(
            f"/recipe/{name}/{view.__name__}",
            endpoint=f"recipe_{name}_{view.__name__}",
            view_func=view,
            methods=["POST"],
        )


# -- the bare route: the framework and the database, nothing else --------------------------------


def add_bare_routes(bench: Bench) -> None:
    """``/bare/register|signup|login``: the database writes of Flask-Passlock's id_token path
    (replay-guard row, then passkey row / user row / last use), given the values the token
    would carry; no verification, no call to Passlock."""
    app, db, User, Authenticator, UsedJti = (  # noqa: N806
        bench.app,
        bench.db,
        bench.User,
        bench.Authenticator,
        bench.UsedJti,
    )

    def guard(jti: str) -> None:
        db.session.add(UsedJti(jti=jti, expires_at=datetime.now(timezone.utc) + TOKEN_TTL))

    @login_required
    def register() -> Any:
        data = request.get_json()
        guard(data["jti"])
        db.session.add(Authenticator(id=data["authenticator_id"], user_id=current_user.id))
        db.session.commit()
        return {"id": data["authenticator_id"]}, 201

    def signup() -> Any:
        data = request.get_json()
        if db.session.scalar(sa.select(User.id).where(User.username == data["username"])):
            return {"error": "username taken"}, 409
        guard(data["jti"])
        user = User(username=data["username"])
        db.session.add(user)
        db.session.flush()
        db.session.add(Authenticator(id=data["authenticator_id"], user_id=user.id))
        db.session.commit()
        login_user(user)
        return {"id": data["authenticator_id"]}, 201

    def login() -> Any:
        data = request.get_json()
        guard(data["jti"])
        authenticator = db.session.get(Authenticator, data["authenticator_id"])
        if authenticator is None:
            return {"error": "unknown passkey"}, 401
        authenticator.last_used_at = datetime.now(timezone.utc)
        db.session.commit()
        login_user(authenticator.user)
        return {"id": data["authenticator_id"]}, 200

    for view in (register, signup, login):
        app.add_url_rule(
            f"/bare/{view.__name__}",
            endpoint=f"bare_{view.__name__}",
            view_func=view,
            methods=["POST"],
        )


# -- the floor ------------------------------------------------------------------------------------


class Floor:
    """The least work that accepts a ceremony by code: one GET over an already open
    ``http.client`` connection, Core statements on an already open database connection, no
    framework, no session, no checks."""

    def __init__(self, bench: Bench, cafile: str | None) -> None:
        config = bench.app.config
        endpoint = urlsplit(config["PASSLOCK_ENDPOINT"])
        if endpoint.scheme == "https":
            context = ssl.create_default_context(cafile=cafile)
            self.http: http.client.HTTPConnection = http.client.HTTPSConnection(
                endpoint.hostname, endpoint.port, context=context
            )
        else:
            self.http = http.client.HTTPConnection(endpoint.hostname, endpoint.port)
        self.headers = {"Authorization": f"Bearer {config['PASSLOCK_API_KEY']}"}
        self.prefix = f"/{config['PASSLOCK_TENANCY_ID']}/principal/"
        self.users = bench.User.__table__
        self.passkeys = bench.Authenticator.__table__
        with bench.app.app_context():
            self.db = bench.db.engine.connect()
        self.http.request("GET", "/.well-known/jwks.json")
        self.http.getresponse().read()  # the connection is open and warm

    def close(self) -> None:
        self.http.close()
        self.db.close()

    def exchange(self, code: str) -> dict[str, Any]:
        self.http.request("GET", self.prefix + code, headers=self.headers)
        response = self.http.getresponse()
        body = response.read()
        if response.status != 200:
            raise RuntimeError(f"exchange answered HTTP {response.status}")
        return json.loads(body)  # type: ignore[no-any-return]

    def register(self, code: str) -> None:
        principal = self.exchange(code)
        self.db.execute(self.passkeys.insert().values(id=principal["authenticatorId"], user_id=1))
        self.db.commit()

    def signup(self, code: str, username: str) -> None:
        principal = self.exchange(code)
        user_id = self.db.execute(
            self.users.insert().values(username=username)
        ).inserted_primary_key[0]
        self.db.execute(
            self.passkeys.insert().values(id=principal["authenticatorId"], user_id=user_id)
        )
        self.db.commit()

    def login(self, code: str) -> None:
        principal = self.exchange(code)
        row = self.db.execute(
            sa.select(self.users.c.id, self.users.c.username)
            .join(self.passkeys, self.passkeys.c.user_id == self.users.c.id)
            .where(self.passkeys.c.id == principal["authenticatorId"])
        ).one()
        self.db.commit()
        assert row.id
