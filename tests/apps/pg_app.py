"""A small app using Flask-Passlock as a real one would (Flask-Login, a User model,
Flask-SQLAlchemy), configured from ``PGAPP_*`` environment variables so that gunicorn can
serve it: ``PGAPP_SQLALCHEMY_DATABASE_URI``, ``PGAPP_SQLALCHEMY_ENGINE_OPTIONS`` (JSON),
``PGAPP_PASSLOCK_*``, ``PGAPP_SECRET_KEY`` and ``PGAPP_OTHER_SIGN_IN`` (``false``: users sign in
with passkeys only, so their last passkey cannot be deleted).

Serve it with ``gunicorn 'tests.apps.pg_app:create_app()'`` from the repository root.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app
from flask_login import LoginManager

from flask_passlock import Passlock

from .models import declare_users

db, User = declare_users()


login_manager = LoginManager()
passlock = Passlock(db=db, user_model=User)


@login_manager.user_loader
def load_user(user_id: str) -> Any:
    return db.session.get(User, int(user_id))


@passlock.has_other_sign_in
def has_other_sign_in(user: Any) -> bool:
    return bool(current_app.config["OTHER_SIGN_IN"])


def create_app(config: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__)
    app.config["OTHER_SIGN_IN"] = True
    app.config.from_prefixed_env("PGAPP")
    app.config.update(config or {})
    db.init_app(app)
    login_manager.init_app(app)
    passlock.init_app(app)

    @app.get("/")
    def index() -> str:
        return "ok"  # touches no database: gunicorn_server's readiness probe

    return app
