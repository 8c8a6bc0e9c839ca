"""An example app using Flask-Passlock: passkey-first sign-up with a confirmed email address,
sign-in (button, by username, autofill), account recovery by email code ("Lost your device?"),
managing passkeys, and a page behind a fresh passkey check (step-up).

Run it with ``python -m example_app`` and open http://localhost:5000/.

With no ``PASSLOCK_TENANCY_ID`` in the environment it uses the built-in Passlock emulator on
port 8787 (``PASSLOCK_EMULATOR_PORT``), with the emulator's fixed development tenancy
``emulator`` and API key ``emulator-api-key``: it reuses an emulator already listening there
(so ``flask --app example_app passlock ...`` and every gunicorn worker reach the same one),
else starts one that keeps its passkeys in ``instance/emulator-state.json``. Set
``PASSLOCK_TENANCY_ID`` and ``PASSLOCK_API_KEY`` (and optionally ``PASSLOCK_ENDPOINT``,
``PASSLOCK_CLIENT_URL``, ``PASSLOCK_VERIFY_ID_TOKEN=1``) to use the real Passlock service;
``DATABASE_URL`` to use another database than the SQLite file in the instance folder;
``SECRET_KEY`` to keep sessions across restarts.

Emails (the one-time codes of sign-up and recovery) go to the emulator's development outbox,
linked from the development banner (``<emulator>/_emulator/outbox``). Against the real Passlock
service the app has no mail server, so both email features are off unless
``PASSLOCK_RECOVERY=1`` is set with a way to send email (Flask-Mailman or Flask-Mail set up
before Passlock, or a ``@passlock.send_email`` hook). Under gunicorn::

    flask --app example_app init-db        # optional: tables are also created on first use
    gunicorn -w 4 'example_app:create_app()'
"""

from __future__ import annotations

import ipaddress
import logging
import os
import secrets
import sys
import threading
import time
from typing import Any

import click
import sqlalchemy as sa
from flask import Flask, abort, flash, redirect, render_template, request, url_for
from flask_login import (
    LoginManager,
    UserMixin,
    current_user,
    login_required,
    login_user,
    logout_user,
)
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from flask_passlock import Passlock, fresh_passkey_required
from flask_passlock.csrf import check_same_origin
from flask_passlock.exceptions import PasslockError
from flask_passlock.messages import message

logger = logging.getLogger("example_app")


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)
login_manager = LoginManager()
login_manager.login_view = "passlock.login_page"
login_manager.login_message = "Please sign in to see that page."
login_manager.login_message_category = "info"


class User(UserMixin, db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "user"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(64), unique=True, nullable=False)
    #: Confirmed with a code at passkey-first sign-up; the way back in (account recovery).
    #: Accounts made with a username alone (``/signup``) have none.
    email: Mapped[str | None] = mapped_column(sa.String(254), unique=True, nullable=True)


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
    "PASSLOCK_BROWSER_ENDPOINT",
    "PASSLOCK_CLIENT_URL",
)

#: The emulator's fixed development tenancy and API key, and its default port.
EMULATOR_TENANCY_ID = "emulator"
EMULATOR_API_KEY = "emulator-api-key"
EMULATOR_PORT = 8787


def create_app(config: dict[str, Any] | None = None, *, instance_path: str | None = None) -> Flask:
    """Build the app; ``config`` overrides everything else (tests use it), and
    ``instance_path`` replaces the ``instance`` folder (database, emulator state, keys).

    Nothing here touches the database: a worker starts even while the database is down,
    and its requests answer 503 until it is back.
    """
    app = Flask(__name__, instance_relative_config=True, instance_path=instance_path)
    os.makedirs(app.instance_path, exist_ok=True)
    app.config.update(
        SQLALCHEMY_DATABASE_URI=os.environ.get(
            "DATABASE_URL", "sqlite:///" + os.path.join(app.instance_path, "example.sqlite")
        ),
        PASSLOCK_BASE_TEMPLATE="layout.html",
    )
    if os.environ.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = os.environ["SECRET_KEY"]
    app.config.update({k: os.environ[k] for k in PASSLOCK_ENV_KEYS if os.environ.get(k)})
    verify_id_token = os.environ.get("PASSLOCK_VERIFY_ID_TOKEN", "")
    if verify_id_token:
        app.config["PASSLOCK_VERIFY_ID_TOKEN"] = verify_id_token.lower() in ("1", "true")
    app.config.update(config or {})
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = development_secret_key(app.instance_path)
        warn(
            "SECRET_KEY is not set: using a random one for this start, so sessions won't "
            "survive a restart. Set SECRET_KEY (the same for every worker) to keep them."
        )
    if not app.config.get("PASSLOCK_TENANCY_ID"):
        use_emulator(app)
    # Codes are emailed where the emulator's outbox can take them (or when asked for).
    asked = os.environ.get("PASSLOCK_RECOVERY", "").lower() in ("1", "true")
    emails = asked or _on_loopback(app.config.get("PASSLOCK_ENDPOINT"))
    app.config.setdefault("PASSLOCK_RECOVERY", emails)
    app.config.setdefault("PASSLOCK_SIGNUP_VERIFY_EMAIL", emails)

    db.init_app(app)
    login_manager.init_app(app)
    passlock.init_app(app)
    _tables(app)
    _routes(app)
    return app


def _on_loopback(url: object) -> bool:
    from urllib.parse import urlsplit

    try:
        host = urlsplit(str(url or "")).hostname or ""
    except ValueError:
        return False
    return host in ("localhost", "127.0.0.1", "::1")


def warn(text: str) -> None:
    """A warning in the log and, loudly, on stderr."""
    logger.warning(text)
    line = "=" * 78
    print(f"\n{line}\n  WARNING: {text}\n{line}\n", file=sys.stderr, flush=True)


def development_secret_key(instance_path: str) -> str:
    """A random key for this start, shared by the worker processes of one gunicorn (or
    reloader) so that a session works on all of them; a new start makes a new key."""
    under_a_master = "gunicorn.arbiter" in sys.modules or os.environ.get("WERKZEUG_RUN_MAIN")
    boot = str(os.getppid() if under_a_master else os.getpid())
    try:
        import fcntl
    except ImportError:  # not POSIX: one key per process
        return secrets.token_hex(32)
    path = os.path.join(instance_path, "dev-secret-key")
    with open(path + ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            with open(path) as stored:
                stored_boot, key = stored.read().split()
            if stored_boot == boot:
                return key
        except (OSError, ValueError):
            pass
        key = secrets.token_hex(32)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(f"{boot} {key}\n")
        return key


# -- the emulator -----------------------------------------------------------------------------


def _emulator_answers(url: str) -> bool | None:
    """True: a Passlock emulator with the development key listens at ``url``; False:
    something else (or an emulator with another key) does; None: nothing does."""
    import requests

    try:
        jwks = requests.get(url + ".well-known/jwks.json", timeout=2)
    except requests.RequestException:
        return None
    if jwks.status_code != 200 or "keys" not in jwks.text:
        return False
    try:
        listed = requests.get(
            f"{url}{EMULATOR_TENANCY_ID}/passkeys/",
            headers={"Authorization": f"Bearer {EMULATOR_API_KEY}"},
            timeout=2,
        )
    except requests.RequestException:
        return False
    return listed.status_code == 200


def use_emulator(app: Flask) -> None:
    """Point the app at the development emulator on PASSLOCK_EMULATOR_PORT: the one already
    listening there, else a new one in this process (state in the instance folder)."""
    port = int(os.environ.get("PASSLOCK_EMULATOR_PORT", EMULATOR_PORT))
    url = f"http://127.0.0.1:{port}/"
    found = _emulator_answers(url)
    if found is None:
        found = _start_emulator(app, port, url)
    if not found:
        raise RuntimeError(
            f"Port {port} is taken by something that is not a Passlock emulator with the "
            f"development key {EMULATOR_API_KEY!r}. Stop it, start the emulator with "
            f"'python -m flask_passlock.emulator --port {port} --api-key {EMULATOR_API_KEY}', "
            "or set PASSLOCK_EMULATOR_PORT to a free port."
        )
    app.config.update(
        PASSLOCK_TENANCY_ID=EMULATOR_TENANCY_ID,
        PASSLOCK_API_KEY=EMULATOR_API_KEY,
        PASSLOCK_ENDPOINT=url,
        PASSLOCK_CLIENT_URL=app.config.get("PASSLOCK_CLIENT_URL") or url + "client.js",
        EXAMPLE_EMULATOR_URL=url,
    )
    warn(
        f"Using the Passlock EMULATOR at {url}, not the real Passlock service: passkeys "
        "made here are for development only. Set PASSLOCK_TENANCY_ID and PASSLOCK_API_KEY "
        "to use Passlock."
    )


def _start_emulator(app: Flask, port: int, url: str) -> bool:
    from flask_passlock.emulator import PasslockEmulator

    state_file = os.path.join(app.instance_path, "emulator-state.json")
    options: dict[str, Any] = {
        "tenancy_id": EMULATOR_TENANCY_ID,
        "api_key": EMULATOR_API_KEY,
        "port": port,
    }
    try:
        emulator = PasslockEmulator(**options, state_file=state_file)
    except TypeError:  # an emulator without state files: passkeys live in memory only
        emulator = PasslockEmulator(**options)
    try:
        emulator.start()
    except OSError:
        # Another process (a worker starting at the same time) took the port: use its.
        for _ in range(50):
            found = _emulator_answers(url)
            if found is not None:
                return found
            time.sleep(0.1)
        return False
    app.extensions["passlock_emulator"] = emulator
    return True


# -- the database -----------------------------------------------------------------------------


def create_tables(app: Flask, attempts: int = 5) -> None:
    """Create the tables that are missing. Safe when several workers do it at once: the
    loser of a race (table "already exists") tries again, and then finds them."""
    for attempt in range(attempts):
        try:
            with app.app_context():
                db.create_all()
                _add_email_column()
            return
        except SQLAlchemyError:
            if attempt == attempts - 1:
                raise
            time.sleep(0.2 * (attempt + 1))


def _add_email_column() -> None:
    """Give a database made by an older version of this example its ``user.email`` column."""
    columns = {c["name"] for c in sa.inspect(db.engine).get_columns("user")}
    if "email" not in columns:
        with db.engine.begin() as connection:
            connection.execute(sa.text('ALTER TABLE "user" ADD COLUMN email VARCHAR(254)'))


def _tables(app: Flask) -> None:
    """Tables are created on the first request of each process (not at import: a database
    that is down must not stop a worker from starting); until then, and while the database
    is down, pages answer 503."""
    ready = threading.Event()
    lock = threading.Lock()

    @app.before_request
    def ensure_tables() -> Any:
        if ready.is_set() or request.endpoint == "static":
            return None
        with lock:
            if not ready.is_set():
                try:
                    create_tables(app, attempts=3)
                except SQLAlchemyError as exc:
                    logger.error("Database unavailable: %s", type(exc).__name__)
                    return render_template("unavailable.html"), 503
                ready.set()
        return None

    @app.errorhandler(SQLAlchemyError)
    def database_down(exc: SQLAlchemyError) -> Any:
        db.session.rollback()
        logger.error("Database error: %s", type(exc).__name__)
        return render_template("unavailable.html"), 503

    @app.cli.command("init-db")
    def init_db() -> None:
        """Create the tables (run once before starting several workers)."""
        create_tables(app)
        click.echo("Tables created.")


# -- pages ------------------------------------------------------------------------------------


def same_origin() -> None:
    """Refuse cross-site POSTs (the same Origin check as the passlock blueprint's)."""
    try:
        check_same_origin()
    except PasslockError:
        abort(403)


def localhost_url() -> str | None:
    """This page's URL on localhost when it was opened by a loopback IP address (passkeys
    refuse IP addresses), else None."""
    host = request.host.rsplit(":", 1)[0] if not request.host.endswith("]") else request.host
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None
    if not (address.is_loopback or address.is_unspecified):
        return None
    port = request.host[len(host) :]
    return f"{request.scheme}://localhost{port}{request.full_path.rstrip('?')}"


def _routes(app: Flask) -> None:
    @app.context_processor
    def example_context() -> dict[str, Any]:
        return {"localhost_url": localhost_url()}

    @app.get("/")
    def index() -> Any:
        passkeys = (
            passlock.authenticators_for(current_user) if current_user.is_authenticated else []
        )
        return render_template("index.html", passkeys=passkeys)

    @app.route("/signup", methods=["GET", "POST"])
    def signup() -> Any:
        if request.method == "POST":
            same_origin()
            username = request.form.get("username", "").strip()
            if not 1 <= len(username) <= 64:
                flash("Choose a username of 1 to 64 characters.", "error")
                return render_template("signup.html"), 400
            if db.session.scalar(sa.select(User).where(User.username == username)):
                flash("That username is taken. Please choose another one.", "error")
                return render_template("signup.html"), 409
            user = User(username=username)
            db.session.add(user)
            db.session.commit()
            login_user(user)
            flash(f"Welcome, {username}! Now create a passkey to sign in next time.", "info")
            return redirect(url_for("passlock.register_page"))
        return render_template("signup.html")

    @app.get("/secret")
    @fresh_passkey_required
    def secret() -> Any:
        return render_template("secret.html")

    @app.post("/logout")
    @login_required
    def logout() -> Any:
        same_origin()
        logout_user()
        flash(message("flash.signed_out"), "success")
        return redirect(url_for("index"))

    @app.errorhandler(403)
    def forbidden(_: Exception) -> Any:
        return render_template("forbidden.html"), 403
