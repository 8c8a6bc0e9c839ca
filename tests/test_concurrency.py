"""Races through a multi-worker gunicorn on real PostgreSQL: each code, id_token and
authenticator is linked or accepted exactly once; losers get a clear 4xx, never a 500."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from flask_passlock.testing import gunicorn_server

from .helpers import POSTGRES_URL

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parents[1]
WORKERS = 4
PARALLEL = 8


def example_tables(action: str) -> None:
    from example_app import create_app, db

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": POSTGRES_URL,
            "PASSLOCK_TENANCY_ID": "t",
            "PASSLOCK_API_KEY": "k",
        }
    )
    with app.app_context():
        if action == "reset":
            db.drop_all()
            db.create_all()
        else:
            db.drop_all()
        db.engine.dispose()


@pytest.fixture(scope="module")
def server(passlock_emulator):
    pytest.importorskip("gunicorn")
    example_tables("reset")
    env = dict(
        os.environ,
        DATABASE_URL=POSTGRES_URL,
        SECRET_KEY="shared-by-all-workers",
        PASSLOCK_VERIFY_ID_TOKEN="1",
        **passlock_emulator.app_config(),
    )
    try:
        with gunicorn_server(
            "example_app:create_app()", env=env, cwd=ROOT, workers=WORKERS, threads=2
        ) as base:
            yield base
    finally:
        example_tables("drop")


def signed_up(base: str, username: str) -> requests.Session:
    session = requests.Session()
    session.headers["Origin"] = base
    response = session.post(base + "/signup", data={"username": username}, allow_redirects=False)
    assert response.status_code == 302, response.text
    return session


def rows(authenticator_id=None):
    engine = sa.create_engine(POSTGRES_URL)
    try:
        with engine.connect() as conn:
            query = "SELECT id, user_id FROM passlock_authenticator"
            if authenticator_id:
                return conn.execute(
                    sa.text(query + " WHERE id = :i"), {"i": authenticator_id}
                ).all()
            return conn.execute(sa.text(query)).all()
    finally:
        engine.dispose()


def fire(calls):
    with ThreadPoolExecutor(PARALLEL) as pool:
        return list(pool.map(lambda call: call(), calls))


def test_same_code_eight_times_links_once(server, passlock_emulator):
    ada = signed_up(server, "race-ada")
    code = passlock_emulator.issue_code().code
    answers = fire([lambda: ada.post(server + "/passkey/register", json={"code": code})] * PARALLEL)
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [201] + [400] * (PARALLEL - 1), [a.text for a in answers]
    assert {a.json()["code"] for a in answers if a.status_code == 400} == {"invalid_code"}


def test_same_id_token_eight_times_links_once(server, passlock_emulator):
    ada = signed_up(server, "race-ada-token")
    issued = passlock_emulator.issue_code()
    answers = fire(
        [lambda: ada.post(server + "/passkey/register", json={"id_token": issued.id_token})]
        * PARALLEL
    )
    statuses = sorted(a.status_code for a in answers)
    assert 500 not in statuses
    assert statuses.count(201) == 1, [a.text for a in answers]
    assert {a.json()["code"] for a in answers if a.status_code != 201} <= {
        "id_token_replayed",
        "already_linked",
    }
    assert len(rows(issued.authenticator_id)) == 1


def test_same_id_token_sign_in_accepted_once(server, passlock_emulator):
    owner = signed_up(server, "race-owner")
    issued = passlock_emulator.issue_code()
    assert owner.post(server + "/passkey/register", json={"code": issued.code}).status_code == 201
    token = passlock_emulator.issue_code(authenticator_id=issued.authenticator_id).id_token
    sessions = [requests.Session() for _ in range(PARALLEL)]
    answers = fire(
        [
            lambda s=s: s.post(
                server + "/passkey/login", json={"id_token": token}, headers={"Origin": server}
            )
            for s in sessions
        ]
    )
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [200] + [400] * (PARALLEL - 1), [a.text for a in answers]


def test_two_users_racing_for_one_authenticator(server, passlock_emulator):
    users = [signed_up(server, f"racer-{i}") for i in range(2)]
    for round_ in range(10):
        first = passlock_emulator.issue_code()
        second = passlock_emulator.issue_code(authenticator_id=first.authenticator_id)
        answers = fire(
            [
                lambda: users[0].post(server + "/passkey/register", json={"code": first.code}),
                lambda: users[1].post(server + "/passkey/register", json={"code": second.code}),
            ]
        )
        statuses = sorted(a.status_code for a in answers)
        assert statuses == [201, 409], (round_, [a.text for a in answers])
        loser = next(a for a in answers if a.status_code == 409)
        assert loser.json()["code"] == "already_linked"
        assert len(rows(first.authenticator_id)) == 1
