"""Serve ``tests/apps/pg_app.py`` under gunicorn on a PostgreSQL database, and talk to it the
way browsers do: through the blueprint, with a session cookie and a same-origin ``Origin``."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests
import sqlalchemy as sa

from flask_passlock.emulator import PasslockEmulator
from flask_passlock.testing import gunicorn_server

ROOT = Path(__file__).resolve().parents[1]
APP = "tests.apps.pg_app:create_app()"

#: The engine options docs/deployment.rst recommends (psycopg 3).
RECOMMENDED_ENGINE_OPTIONS: dict[str, Any] = {
    "pool_pre_ping": True,
    "pool_recycle": 300,
    "connect_args": {
        "connect_timeout": 3,
        "options": "-c statement_timeout=5000 -c lock_timeout=3000",
    },
}


def create_tables(url: str, emulator: PasslockEmulator) -> None:
    """Create the app's tables in the (empty) database at ``url``."""
    from .apps.pg_app import create_app, db

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, **emulator.app_config()})
    with app.app_context():
        db.create_all()
        db.engine.dispose()


@contextmanager
def serve(
    url: str,
    emulator: PasslockEmulator,
    engine_options: dict[str, Any],
    *,
    workers: int,
    threads: int = 1,
    other_sign_in: bool = True,
    config: dict[str, Any] | None = None,
    gunicorn_args: str = "",
) -> Iterator[str]:
    """The test app under gunicorn on ``url``, with more ``config`` if given (JSON values)
    and ``gunicorn_args`` (``GUNICORN_CMD_ARGS``); yields its base URL."""
    env = dict(
        os.environ,
        PGAPP_SECRET_KEY="shared-by-all-workers",
        PGAPP_SQLALCHEMY_DATABASE_URI=url,
        PGAPP_SQLALCHEMY_ENGINE_OPTIONS=json.dumps(engine_options),
        PGAPP_OTHER_SIGN_IN=json.dumps(other_sign_in),
        **{f"PGAPP_{key}": value for key, value in emulator.app_config().items()},
    )
    env.update({f"PGAPP_{key}": json.dumps(value) for key, value in (config or {}).items()})
    if gunicorn_args:
        env["GUNICORN_CMD_ARGS"] = gunicorn_args
    with gunicorn_server(APP, env=env, cwd=ROOT, workers=workers, threads=threads) as base:
        yield base


def query(url: str, sql: str, **params: Any) -> list[Any]:
    """Rows of ``sql`` on ``url``, through a connection of its own."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            return list(conn.execute(sa.text(sql), params).all())
    finally:
        engine.dispose()


class Visitor:
    """One browser: its own cookie jar and connection, a same-origin ``Origin``, JSON
    answers. Not thread-safe: one per thread."""

    def __init__(self, base: str, timeout: float = 20) -> None:
        self.base = base
        self.timeout = timeout
        self.http = requests.Session()
        self.http.headers.update({"Origin": base, "Accept": "application/json"})

    def post(self, path: str, body: dict[str, Any]) -> requests.Response:
        return self.http.post(self.base + path, json=body, timeout=self.timeout)

    def get(
        self, path: str, *, html: bool = False, timeout: float | None = None
    ) -> requests.Response:
        headers = {"Accept": "text/html"} if html else None
        return self.http.get(self.base + path, headers=headers, timeout=timeout or self.timeout)

    def twin(self) -> Visitor:
        """Another browser holding the same session cookie (the same user, signed in)."""
        other = Visitor(self.base, self.timeout)
        other.http.cookies.update(self.http.cookies)
        return other

    def sign_up(self, username: str, emulator: PasslockEmulator) -> str:
        """Passkey-first sign-up (signs this visitor in); returns the new passkey's id."""
        issued = emulator.issue_code(username=username)
        answer = self.post("/passkey/signup", {"username": username, "code": issued.code})
        assert answer.status_code == 201, answer.text
        return issued.authenticator_id

    def add_passkey(self, emulator: PasslockEmulator) -> str:
        issued = emulator.issue_code()
        answer = self.post("/passkey/register", {"code": issued.code})
        assert answer.status_code == 201, answer.text
        return issued.authenticator_id
