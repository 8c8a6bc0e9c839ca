"""An example app using Flask-Passlock: passkey-first sign-up, sign-in (button, by username,
autofill), managing passkeys, and a page behind a fresh passkey check (step-up).

Run it with ``python -m example_app``. With no ``PASSLOCK_TENANCY_ID`` in the environment it
starts the built-in Passlock emulator and uses it, so it works offline. Set
``PASSLOCK_TENANCY_ID`` and ``PASSLOCK_API_KEY`` (and optionally ``PASSLOCK_ENDPOINT``,
``PASSLOCK_CLIENT_URL``, ``PASSLOCK_VERIFY_ID_TOKEN=1``) to use the real Passlock service;
``DATABASE_URL`` to use another database than the SQLite file in the instance folder. Under
gunicorn: ``gunicorn -w 4 'example_app:create_app()'``.
"""

from __future__ import annotations

import os
from typing import Any

import sqlalchemy as sa
from flask import Flask, flash, redirect, render_template, request, url_for
from flask_login import (
    LoginManager,
    UserMixin,
    current_user,
    login_required,
    login_user,
    logout_user,
)
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from flask_passlock import Passlock, fresh_passkey_required


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)
login_manager = LoginManager()
login_manager.login_view = "passlock.login_page"


class User(UserMixin, db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "user"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(64), unique=True, nullable=False)


passlock = Passlock(db=db, user_model=User)


@passlock.has_other_sign_in
def has_other_sign_in(user: User) -> bool:
    """This app has no passwords: a user's last passkey is their only way in."""
    return False


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    return db.session.get(User, int(user_id))


PASSLOCK_ENV_KEYS = (
    "PASSLOCK_TENANCY_ID",
    "PASSLOCK_API_KEY",
    "PASSLOCK_ENDPOINT",
    "PASSLOCK_CLIENT_URL",
)


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the app; ``config`` overrides everything else (tests use it)."""
    app = Flask(__name__, instance_relative_config=True)
    os.makedirs(app.instance_path, exist_ok=True)
    app.config.update(
        SECRET_KEY=os.environ.get("SECRET_KEY", "example-only-change-me"),
        SQLALCHEMY_DATABASE_URI=os.environ.get(
            "DATABASE_URL", "sqlite:///" + os.path.join(app.instance_path, "example.sqlite")
        ),
    )
    app.config.update({k: os.environ[k] for k in PASSLOCK_ENV_KEYS if os.environ.get(k)})
    verify_id_token = os.environ.get("PASSLOCK_VERIFY_ID_TOKEN", "")
    if verify_id_token:
        app.config["PASSLOCK_VERIFY_ID_TOKEN"] = verify_id_token.lower() in ("1", "true")
    app.config.update(config or {})
    if not app.config.get("PASSLOCK_TENANCY_ID"):
        from flask_passlock.emulator import PasslockEmulator

        emulator = PasslockEmulator(port=int(os.environ.get("PASSLOCK_EMULATOR_PORT", 0))).start()
        app.config.update(emulator.app_config())
        app.extensions["passlock_emulator"] = emulator

    db.init_app(app)
    login_manager.init_app(app)
    passlock.init_app(app)
    with app.app_context():
        db.create_all()
    _routes(app)
    return app


def _routes(app: Flask) -> None:
    @app.get("/")
    def index() -> Any:
        passkeys = (
            passlock.authenticators_for(current_user) if current_user.is_authenticated else []
        )
        return render_template("index.html", passkeys=passkeys)

    @app.route("/signup", methods=["GET", "POST"])
    def signup() -> Any:
        if request.method == "POST":
            username = request.form.get("username", "").strip()
            if not 1 <= len(username) <= 64:
                flash("Choose a username of 1 to 64 characters.", "error")
                return render_template("signup.html"), 400
            if db.session.scalar(sa.select(User).where(User.username == username)):
                flash("That username is taken.", "error")
                return render_template("signup.html"), 409
            user = User(username=username)
            db.session.add(user)
            db.session.commit()
            login_user(user)
            flash(f"Welcome, {username}! Now create a passkey.", "info")
            return redirect(url_for("passlock.register_page"))
        return render_template("signup.html")

    @app.get("/secret")
    @fresh_passkey_required
    def secret() -> Any:
        return render_template("secret.html")

    @app.post("/logout")
    @login_required
    def logout() -> Any:
        logout_user()
        return redirect(url_for("index"))
