"""The example app: one shared development emulator, a random SECRET_KEY per start,
same-origin POSTs, loud warnings, and a database that may be down or raced for."""

from __future__ import annotations

import socket
import threading

import pytest
import sqlalchemy as sa

from flask_passlock.emulator import PasslockEmulator

ORIGIN = {"Origin": "http://localhost"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def offline_env(monkeypatch, tmp_path):
    """No Passlock settings and no SECRET_KEY in the environment; a free emulator port."""
    for key in (
        "PASSLOCK_TENANCY_ID",
        "PASSLOCK_API_KEY",
        "PASSLOCK_ENDPOINT",
        "PASSLOCK_BROWSER_ENDPOINT",
        "PASSLOCK_CLIENT_URL",
        "SECRET_KEY",
        "DATABASE_URL",
    ):
        monkeypatch.delenv(key, raising=False)
    port = free_port()
    monkeypatch.setenv("PASSLOCK_EMULATOR_PORT", str(port))
    return port


def make_app(tmp_path, **config):
    from example_app import create_app

    config.setdefault("SQLALCHEMY_DATABASE_URI", f"sqlite:///{tmp_path / 'example.sqlite'}")
    return create_app(config, instance_path=str(tmp_path / "instance"))


def stop_emulator(app) -> None:
    emulator = app.extensions.get("passlock_emulator")
    if emulator is not None:
        emulator.stop()


def test_reuses_the_emulator_listening_on_its_port(offline_env, tmp_path, capsys):
    from example_app import EMULATOR_API_KEY

    with PasslockEmulator("emulator", EMULATOR_API_KEY, port=offline_env) as emulator:
        app = make_app(tmp_path)
        assert "passlock_emulator" not in app.extensions  # no second emulator
        assert app.config["PASSLOCK_ENDPOINT"] == emulator.url
        assert app.config["PASSLOCK_API_KEY"] == EMULATOR_API_KEY
        assert app.config["PASSLOCK_TENANCY_ID"] == "emulator"
    err = capsys.readouterr().err
    assert "WARNING: Using the Passlock EMULATOR" in err
    assert "SECRET_KEY is not set" in err


def test_starts_one_emulator_that_the_cli_and_other_workers_reach(offline_env, tmp_path):
    first = make_app(tmp_path)
    try:
        assert "passlock_emulator" in first.extensions
        second = make_app(tmp_path)  # another worker, or `flask passlock ...`
        assert "passlock_emulator" not in second.extensions
        assert second.config["PASSLOCK_ENDPOINT"] == first.config["PASSLOCK_ENDPOINT"]

        # A passkey made through the app is deleted by the CLI of the other instance.
        emulator = first.extensions["passlock_emulator"]
        client = first.test_client()
        assert client.post("/signup", data={"username": "cli"}, headers=ORIGIN).status_code == 302
        issued = emulator.issue_code(username="cli")
        answer = client.post("/passkey/register", json={"code": issued.code}, headers=ORIGIN)
        assert answer.status_code == 201
        result = second.test_cli_runner().invoke(
            args=["passlock", "delete", "--yes", "--", issued.authenticator_id]
        )
        assert result.exit_code == 0, result.output
        assert issued.authenticator_id not in emulator.passkeys
    finally:
        stop_emulator(first)


def test_refuses_a_port_taken_by_something_else(offline_env, tmp_path):
    with PasslockEmulator("emulator", "another-key", port=offline_env):
        with pytest.raises(RuntimeError, match=f"Port {offline_env}"):
            make_app(tmp_path)


def test_secret_key_is_random_per_start_unless_set(offline_env, tmp_path, monkeypatch):
    from example_app import EMULATOR_API_KEY

    with PasslockEmulator("emulator", EMULATOR_API_KEY, port=offline_env):
        one = make_app(tmp_path / "one")
        two = make_app(tmp_path / "two")
        assert one.config["SECRET_KEY"] != two.config["SECRET_KEY"]
        assert len(one.config["SECRET_KEY"]) >= 32
        monkeypatch.setenv("SECRET_KEY", "set-by-the-operator")
        assert make_app(tmp_path / "three").config["SECRET_KEY"] == "set-by-the-operator"


def test_own_posts_refuse_cross_site_requests(emulator, tmp_path):
    app = make_app(tmp_path, SECRET_KEY="x", **emulator.app_config())
    client = app.test_client()
    evil = {"Origin": "https://evil.example"}
    assert client.post("/signup", data={"username": "eve"}, headers=evil).status_code == 403
    assert client.post("/signup", data={"username": "eve"}).status_code == 403
    assert client.post("/signup", data={"username": "eve"}, headers=ORIGIN).status_code == 302
    assert client.post("/logout", headers=evil).status_code == 403
    assert client.get("/").get_data(as_text=True).count('id="current-user"') == 1
    signed_out = client.post("/logout", headers=ORIGIN, follow_redirects=True)
    assert "Signed out" in signed_out.get_data(as_text=True)


def test_starts_while_the_database_is_down_and_answers_503(emulator, tmp_path):
    pytest.importorskip("psycopg")
    app = make_app(
        tmp_path,
        SECRET_KEY="x",
        SQLALCHEMY_DATABASE_URI=f"postgresql+psycopg://nobody@127.0.0.1:{free_port()}/down",
        **emulator.app_config(),
    )
    response = app.test_client().get("/")
    assert response.status_code == 503
    assert "Temporarily unavailable" in response.get_data(as_text=True)
    with app.app_context():
        from example_app import db

        db.engine.dispose()


def test_workers_creating_the_tables_at_once_all_succeed(emulator, tmp_path):
    from example_app import create_tables, db

    for attempt in range(5):
        url = f"sqlite:///{tmp_path / f'race{attempt}.sqlite'}"
        apps = [
            make_app(
                tmp_path / f"w{attempt}-{i}",
                SQLALCHEMY_DATABASE_URI=url,
                SECRET_KEY="x",
                **emulator.app_config(),
            )
            for i in range(4)
        ]
        barrier = threading.Barrier(len(apps))
        errors = []

        def create(app):
            barrier.wait()
            try:
                create_tables(app)
            except Exception as exc:  # noqa: BLE001 - collected for the assert
                errors.append(exc)

        threads = [threading.Thread(target=create, args=(a,)) for a in apps]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        with apps[0].app_context():
            assert "user" in sa.inspect(db.engine).get_table_names()
        for app in apps:
            with app.app_context():
                db.engine.dispose()
