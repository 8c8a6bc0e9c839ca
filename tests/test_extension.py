"""Passlock(app) / init_app: config, per-app state, application factories."""

from __future__ import annotations

import pytest
from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from flask_passlock import Passlock, PasslockClient
from flask_passlock.emulator import PasslockEmulator

from .helpers import build_app


def make_flask(**config: object) -> Flask:
    app = Flask(__name__)
    app.config.update(config)
    return app


@pytest.mark.parametrize("missing", ["PASSLOCK_TENANCY_ID", "PASSLOCK_API_KEY"])
@pytest.mark.parametrize("value", [None, "", "   "])
def test_missing_required_key_names_it(missing, value):
    config = {"PASSLOCK_TENANCY_ID": "t", "PASSLOCK_API_KEY": "k"}
    if value is None:
        del config[missing]
    else:
        config[missing] = value
    app = make_flask(**config)
    with pytest.raises(RuntimeError, match=missing):
        Passlock(app)
    assert "passlock" not in app.extensions


def test_defaults_are_seeded():
    app = make_flask(PASSLOCK_TENANCY_ID="t", PASSLOCK_API_KEY="k")
    Passlock(app)
    assert app.config["PASSLOCK_ENDPOINT"] == "https://api.passlock.dev"
    assert app.config["PASSLOCK_URL_PREFIX"] == "/passkey"
    assert app.config["PASSLOCK_CLIENT_URL"].startswith("https://")
    assert app.config["PASSLOCK_TIMEOUT"] == 5.0
    assert app.config["PASSLOCK_VERIFY_ID_TOKEN"] is True
    assert app.extensions["passlock"].client.timeout == (3.05, 5.0)
    assert isinstance(app.extensions["passlock"].client, PasslockClient)
    assert "/passkey/register" in {r.rule for r in app.url_map.iter_rules()}


@pytest.mark.parametrize(
    "timeout, expected",
    [(5, (3.05, 5.0)), (2, (2.0, 2.0)), ((1, 2), (1.0, 2.0)), ([1, 2], (1.0, 2.0))],
)
def test_timeout_forms(timeout, expected):
    app = make_flask(PASSLOCK_TENANCY_ID="t", PASSLOCK_API_KEY="k", PASSLOCK_TIMEOUT=timeout)
    Passlock(app)
    assert app.extensions["passlock"].client.timeout == expected


@pytest.mark.parametrize("timeout", [0, -1, "5", (1,), (1, 2, 3), True, None])
def test_bad_timeout_is_refused(timeout):
    app = make_flask(PASSLOCK_TENANCY_ID="t", PASSLOCK_API_KEY="k", PASSLOCK_TIMEOUT=timeout)
    with pytest.raises(RuntimeError, match="PASSLOCK_TIMEOUT"):
        Passlock(app)


def test_bad_endpoint_is_refused():
    app = make_flask(PASSLOCK_TENANCY_ID="t", PASSLOCK_API_KEY="k", PASSLOCK_ENDPOINT="nowhere")
    with pytest.raises(RuntimeError, match="PASSLOCK_ENDPOINT"):
        Passlock(app)


def test_second_init_app_is_an_error():
    app = make_flask(PASSLOCK_TENANCY_ID="t", PASSLOCK_API_KEY="k")
    passlock = Passlock(app)
    with pytest.raises(RuntimeError, match="already been registered"):
        passlock.init_app(app)
    with pytest.raises(RuntimeError, match="already been registered"):
        Passlock(app)


def test_url_prefix():
    app = make_flask(
        PASSLOCK_TENANCY_ID="t", PASSLOCK_API_KEY="k", PASSLOCK_URL_PREFIX="/auth/passkeys"
    )
    Passlock(app)
    rules = {r.rule for r in app.url_map.iter_rules()}
    assert "/auth/passkeys/register" in rules and "/passkey/register" not in rules


def test_accessors_outside_init_app_say_so():
    passlock = Passlock()
    app = make_flask()
    with app.app_context():
        with pytest.raises(RuntimeError, match="init_app"):
            passlock.client


def test_api_key_never_reaches_a_page(parts):
    app = parts.app
    user_id = parts.create_user("ada")
    client = app.test_client(user=user_id)
    page = client.get("/passkey/register")
    assert page.status_code == 200
    assert app.config["PASSLOCK_API_KEY"] not in page.get_data(as_text=True)
    assert app.config["PASSLOCK_TENANCY_ID"] in page.get_data(as_text=True)


def test_factory_with_two_apps_and_two_tenancies(tmp_path):
    """One extension object, two apps, each talking to its own tenancy."""
    with (
        PasslockEmulator(tenancy_id="tenancy-a") as emu_a,
        PasslockEmulator(tenancy_id="tenancy-b") as emu_b,
    ):
        a = build_app(emu_a, f"sqlite:///{tmp_path / 'a.sqlite'}")
        b = build_app(emu_b, f"sqlite:///{tmp_path / 'b.sqlite'}")
        results = {}
        for name, parts, emu in (("a", a, emu_a), ("b", b, emu_b)):
            user_id = parts.create_user("ada")
            client = parts.app.test_client(user=user_id)
            issued = emu.issue_code()
            response = client.post("/passkey/register", json={"code": issued.code})
            assert response.status_code == 201, response.json
            results[name] = (issued.authenticator_id, user_id)
            # a code from the other tenancy is refused
            other = (emu_b if emu is emu_a else emu_a).issue_code()
            refused = client.post("/passkey/register", json={"code": other.code})
            assert refused.status_code == 400
            assert refused.get_json()["code"] == "invalid_code"
        assert a.rows() == [results["a"]]
        assert b.rows() == [results["b"]]
        for parts in (a, b):
            with parts.app.app_context():
                parts.db.engine.dispose()


def test_factory_pattern_init_app_later(emulator, tmp_path):
    class Base(DeclarativeBase):
        pass

    db = SQLAlchemy(model_class=Base)

    class Member(db.Model):  # type: ignore[name-defined,misc]
        id: Mapped[str] = mapped_column(primary_key=True)

    passlock = Passlock(db=db, user_model=Member)
    model = passlock.authenticator_model
    assert model.__table__.c.user_id.references(Member.__table__.c.id)

    def create_app() -> Flask:
        app = make_flask(
            SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'f.sqlite'}", **emulator.app_config()
        )
        db.init_app(app)
        passlock.init_app(app)
        return app

    first, second = create_app(), create_app()
    assert first.extensions["passlock"].client is not second.extensions["passlock"].client
    with first.app_context():
        db.create_all()
        db.session.add(Member(id="m1"))
        db.session.commit()
        member = db.session.get(Member, "m1")
        row = passlock.link(member, passlock.client.exchange_code(emulator.issue_code().code))
        db.session.commit()
        assert passlock.authenticators_for(member) == [row]
        db.engine.dispose()
