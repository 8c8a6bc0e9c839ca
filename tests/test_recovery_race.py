"""Races on real PostgreSQL: many requests from one browser typing one code at the same
moment sign in once. Passlock's verify is single-use (the emulator's too); and should it ever
vouch for one challenge twice, the app's one-use table still lets a single request through."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
import sqlalchemy as sa
from werkzeug.serving import make_server

from flask_passlock import signals
from flask_passlock.emulator import Fault

from .helpers import POSTGRES_URL, listen_to
from .recovery_helpers import code_sent_to, new_address, recovery_app

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not POSTGRES_URL, reason="PASSLOCK_TEST_DATABASE_URL is not set"),
]

PARALLEL = 8


@pytest.fixture
def live(emulator):
    """The recovery test app on PostgreSQL, served by a threaded server on loopback."""
    with recovery_app(emulator, POSTGRES_URL) as rec:
        server = make_server("127.0.0.1", 0, rec.app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield rec, f"http://localhost:{server.server_port}"
        finally:
            server.shutdown()
            server.server_close()


def browser(base: str) -> requests.Session:
    session = requests.Session()
    session.headers.update({"Origin": base, "Accept": "application/json"})
    return session


def race(base: str, cookies: dict[str, str], code: str) -> list[tuple[int, dict]]:
    """PARALLEL requests with the same session cookie and code, released together."""
    start = threading.Barrier(PARALLEL)

    def attempt(_: int) -> tuple[int, dict]:
        session = browser(base)
        session.cookies.update(cookies)
        start.wait()
        answer = session.post(base + "/passkey/recover/verify", json={"code": code}, timeout=30)
        return answer.status_code, answer.json()

    with ThreadPoolExecutor(PARALLEL) as pool:
        return list(pool.map(attempt, range(PARALLEL)))


def used_rows(rec, challenge_id: str) -> int:
    with rec.app.app_context(), rec.db.engine.connect() as conn:
        query = sa.text("SELECT count(*) FROM passlock_used_token WHERE jti = :k")
        return int(conn.execute(query, {"k": f"challenge:{challenge_id}"}).scalar_one())


def start_recovery(rec, emulator, base):
    address = new_address("racer")
    user_id = rec.create_user("racer", email=address)
    session = browser(base)
    assert session.post(base + "/passkey/recover", json={"email": address}).status_code == 200
    [challenge] = [c for c in emulator.challenges if c.email == address]
    assert code_sent_to(emulator, address) == challenge.code
    return user_id, session.cookies.get_dict(), challenge


def check_one_winner(rec, results, recovered, user_id, challenge):
    statuses = sorted(status for status, _ in results)
    assert statuses.count(200) == 1, results
    assert all(status == 400 for status in statuses if status != 200), results
    losers = {body["code"] for status, body in results if status != 200}
    assert losers <= {"invalid_challenge", "code_not_sent"}, results
    assert [event["user"].id for event in recovered] == [user_id]
    assert used_rows(rec, challenge.challenge_id) == 1


def test_one_code_typed_many_times_at_once_signs_in_once(live, emulator):
    rec, base = live
    user_id, cookies, challenge = start_recovery(rec, emulator, base)
    with listen_to(signals.account_recovered) as recovered:
        results = race(base, cookies, challenge.code)
    check_one_winner(rec, results, recovered, user_id, challenge)


def test_the_app_signs_in_once_even_if_passlock_vouched_twice(live, emulator):
    """Passlock answers ChallengeVerified to every request: the one-use table decides."""
    rec, base = live
    user_id, cookies, challenge = start_recovery(rec, emulator, base)
    verified = {"_tag": "ChallengeVerified", "challenge": challenge.readable()}
    fault = Fault(200, json.dumps(verified).encode(), "application/json")
    emulator.inject(fault, times=PARALLEL + 1)  # every verify, and the winner's delete
    with listen_to(signals.account_recovered) as recovered:
        results = race(base, cookies, challenge.code)
    emulator.clear_faults()
    check_one_winner(rec, results, recovered, user_id, challenge)
    assert {body["code"] for status, body in results if status != 200} == {"invalid_challenge"}
