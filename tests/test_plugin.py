"""The pytest plugin's fixtures, as an app's test suite would use them."""

from __future__ import annotations

import textwrap

pytest_plugins = ["pytester"]


def test_fixtures_in_a_user_suite(pytester):
    pytester.makepyfile(
        textwrap.dedent(
            """
            import pytest
            from flask import Flask
            from flask_sqlalchemy import SQLAlchemy
            from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
            from flask_passlock import Passlock


            class Base(DeclarativeBase):
                pass


            db = SQLAlchemy(model_class=Base)


            class User(db.Model):
                id: Mapped[int] = mapped_column(primary_key=True)
                username: Mapped[str]


            passlock = Passlock(db=db, user_model=User)


            @pytest.fixture
            def app(passlock_config):
                app = Flask(__name__)
                app.config.update(passlock_config, SECRET_KEY="x",
                                  SQLALCHEMY_DATABASE_URI="sqlite://")
                db.init_app(app)
                passlock.init_app(app)
                with app.app_context():
                    db.create_all()
                    yield app


            def test_sign_up_then_sign_in(app, passlock_code):
                passlock.login_user(lambda user: None)
                client = app.test_client()
                issued = passlock_code(username="ada")
                r = client.post("/passkey/signup", json={"username": "ada", "code": issued.code},
                                headers={"Origin": "http://localhost"})
                assert r.status_code == 201, r.get_json()
                again = passlock_code(authenticator_id=issued.authenticator_id)
                r = client.post("/passkey/login", json={"code": again.code},
                                headers={"Origin": "http://localhost"})
                assert r.status_code == 200, r.get_json()
            """
        )
    )
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def _executable(folder, name):
    path = folder / name
    path.write_text("#!/bin/sh\n")
    path.chmod(0o755)
    return str(path)


def test_the_page_fixtures_prefer_the_headless_shell(tmp_path, monkeypatch):
    """Chromium's headless shell renders the same pages as the full browser at about half the
    CPU: the page fixtures take it when it is installed, the full browser otherwise, and
    PASSLOCK_TEST_CHROMIUM over both."""
    from flask_passlock.testing import chromium_path

    monkeypatch.delenv("PASSLOCK_TEST_CHROMIUM", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    full = _executable(tmp_path, "chromium")
    assert chromium_path() == full
    shell = _executable(tmp_path, "chromium-headless-shell")
    assert chromium_path() == shell
    monkeypatch.setenv("PASSLOCK_TEST_CHROMIUM", "/opt/my/chrome")
    assert chromium_path() == "/opt/my/chrome"
