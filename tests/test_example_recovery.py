"""The example app's email features: on where the emulator's outbox takes the mail, off
against the real service without a mail server, and an older database given its email
column."""

from __future__ import annotations

import sqlalchemy as sa


def make(tmp_path, **config):
    from example_app import create_app

    config.setdefault("SQLALCHEMY_DATABASE_URI", f"sqlite:///{tmp_path / 'example.sqlite'}")
    config.setdefault("SECRET_KEY", "x")
    return create_app(config, instance_path=str(tmp_path / "instance"))


def test_on_with_the_emulator(emulator, tmp_path):
    app = make(tmp_path, **emulator.app_config())
    assert app.config["PASSLOCK_RECOVERY"] is True
    assert app.config["PASSLOCK_SIGNUP_VERIFY_EMAIL"] is True
    page = app.test_client().get("/passkey/login").get_data(as_text=True)
    assert "Lost your device?" in page


def test_off_against_the_real_service(tmp_path, monkeypatch):
    monkeypatch.delenv("PASSLOCK_RECOVERY", raising=False)
    app = make(tmp_path, PASSLOCK_TENANCY_ID="t", PASSLOCK_API_KEY="k")
    assert app.config["PASSLOCK_RECOVERY"] is False
    assert app.config["PASSLOCK_SIGNUP_VERIFY_EMAIL"] is False


def test_an_older_database_gets_the_email_column(emulator, tmp_path):
    database = f"sqlite:///{tmp_path / 'old.sqlite'}"
    engine = sa.create_engine(database)
    with engine.begin() as connection:
        connection.execute(
            sa.text('CREATE TABLE "user" (id INTEGER PRIMARY KEY, username VARCHAR(64) NOT NULL)')
        )
        connection.execute(sa.text("INSERT INTO \"user\" (id, username) VALUES (1, 'old')"))
    app = make(tmp_path, SQLALCHEMY_DATABASE_URI=database, **emulator.app_config())
    client = app.test_client()
    answer = client.post(
        "/passkey/recover",
        data={"email": "old@example.com"},
        headers={"Origin": "http://localhost"},
    )
    assert answer.status_code == 303, answer.get_data(as_text=True)
    columns = {c["name"] for c in sa.inspect(engine).get_columns("user")}
    assert "email" in columns
    engine.dispose()
    from example_app import db

    with app.app_context():
        db.engine.dispose()
