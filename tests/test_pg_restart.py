"""PostgreSQL restarted and stopped under load: the app answers 503 ``storage_error`` (never
500) while the database is away, serves again as soon as it is back, and rows match answers.

A small Flask-Login app (``tests/apps/pg_app.py``) runs under gunicorn, 2 workers x 2 threads,
on a throwaway cluster with the engine options of docs/deployment.rst. Client threads sign in
(id_token and code), list passkeys (JSON and HTML), ask for sign-in options and register
passkeys while the cluster is restarted three times (``pg_ctl restart -m fast``) and stopped
for a second once; then, with no load, restarted once more. The same run is made without
``pool_pre_ping`` to measure what it changes. Figures are printed and written to
``test-artifacts/pg_restart.json``.
"""

from __future__ import annotations

import random
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import flask
import pytest
import requests
from sqlalchemy.exc import SQLAlchemyError

from flask_passlock.testing import PasslockTestClient

from .pgcluster import free_port, reporting_cluster
from .pgserve import RECOMMENDED_ENGINE_OPTIONS, ROOT, Visitor, create_tables, query, serve

pytestmark = pytest.mark.long

CLIENTS = 6
THINK = 0.05  # seconds each client waits between two of its requests
WARM_UP = 1.0
GAP = 2.0  # seconds of load between two faults
RECOVERY_BOUND = 1.0  # seconds from "database ready" to the first answer that succeeded
ARTIFACT = Path(ROOT) / "test-artifacts" / "pg_restart.json"
REPORT: dict[str, Any] = {}

WITHOUT_PRE_PING = {k: v for k, v in RECOMMENDED_ENGINE_OPTIONS.items() if k != "pool_pre_ping"}


@pytest.fixture(scope="module")
def cluster():
    with reporting_cluster(REPORT, ARTIFACT) as running:
        yield running


# -- the load -------------------------------------------------------------------------------


@dataclass
class Answer:
    kind: str
    started: float
    ended: float
    status: int  # 0: no HTTP answer at all
    code: str | None = None
    ceremony: str | None = None  # the principal id (jti) of a sign-in or registration
    passkey: str | None = None  # the passkey a registration sent
    sent: str | None = None  # the code a registration sent


def error_code(response: requests.Response) -> str | None:
    """The ``code`` of an error answer: from JSON, or the error page's ``data-code``."""
    if response.status_code < 400:
        return None
    if "json" in response.headers.get("Content-Type", ""):
        return response.json().get("code")
    found = re.search(r'data-code="([^"]+)"', response.text)
    return found.group(1) if found else None


def record(kind: str, call, **extra: Any) -> Answer:
    started = time.monotonic()
    try:
        response = call()
    except requests.RequestException:
        return Answer(kind, started, time.monotonic(), 0, **extra)
    return Answer(
        kind, started, time.monotonic(), response.status_code, error_code(response), **extra
    )


class Load:
    """One thread per signed-in user, each doing a realistic mix until :meth:`stop`."""

    MIX = [
        ("sign-in id_token", 20),
        ("sign-in code", 15),
        ("list json", 25),
        ("list html", 10),
        ("options", 15),
        ("register", 15),
    ]

    def __init__(self, base: str, emulator, users: list[tuple[Visitor, str, list[str]]]) -> None:
        self.base, self.emulator, self.users = base, emulator, users
        self.answers: list[Answer] = []
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.threads = [
            threading.Thread(target=self.client, args=(i,), daemon=True) for i in range(len(users))
        ]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def stop(self) -> list[Answer]:
        self.done.set()
        for thread in self.threads:
            thread.join(30)
        return self.answers

    def client(self, index: int) -> None:
        me, username, passkeys = self.users[index]
        chance = random.Random(index)
        kinds, weights = zip(*self.MIX)
        while not self.done.is_set():
            answer = self.act(chance.choices(kinds, weights)[0], me, username, passkeys, chance)
            with self.lock:
                self.answers.append(answer)
            self.done.wait(THINK)

    def act(self, kind, me: Visitor, username: str, passkeys: list[str], chance) -> Answer:
        if kind.startswith("sign-in "):
            field = kind.split()[1]
            issued = self.emulator.issue_code(authenticator_id=chance.choice(passkeys))
            stranger = Visitor(self.base)  # a browser with no session yet
            body = {field: getattr(issued, field)}
            try:
                call = lambda: stranger.post("/passkey/login", body)  # noqa: E731
                return record(kind, call, ceremony=issued.principal["id"])
            finally:
                stranger.http.close()
        if kind.startswith("list "):
            return record(kind, lambda: me.get("/passkey/", html=kind == "list html"))
        if kind == "options":
            return record(kind, lambda: me.post("/passkey/login/options", {"username": username}))
        issued = self.emulator.issue_code(username=username)
        answer = record(
            kind,
            lambda: me.post("/passkey/register", {"code": issued.code}),
            ceremony=issued.principal["id"],
            passkey=issued.authenticator_id,
            sent=issued.code,
        )
        if answer.status == 201:
            passkeys.append(issued.authenticator_id)
        return answer


def fresh_requests(base: str, cookies, count: int = 20) -> list[int]:
    """``count`` signed-in JSON listings, each on a new connection (so both workers serve)."""
    statuses = []
    for _ in range(count):
        answer = requests.get(
            base + "/passkey/", cookies=cookies, headers={"Accept": "application/json"}, timeout=15
        )
        statuses.append(answer.status_code)
    return statuses


def run_restarts(cluster, emulator, database: str, engine_options: dict[str, Any]):
    url = cluster.create_database(database)
    create_tables(url, emulator)
    with serve(url, emulator, engine_options, workers=2, threads=2) as base:
        users = []
        for i in range(CLIENTS):
            me = Visitor(base)
            users.append((me, f"{database}-{i}", [me.sign_up(f"{database}-{i}", emulator)]))
        signed_up = {passkeys[0] for _, _, passkeys in users}
        load = Load(base, emulator, users)
        faults = []
        started = time.monotonic()
        load.start()
        time.sleep(WARM_UP)
        for i in range(3):
            down = time.monotonic()
            cluster.restart()
            faults.append((f"restart {i + 1}", down, time.monotonic()))
            time.sleep(GAP)
        down = time.monotonic()
        cluster.stop()
        time.sleep(1.0)
        cluster.start()
        faults.append(("stopped 1 s", down, time.monotonic()))
        time.sleep(GAP)
        answers = load.stop()
        elapsed = time.monotonic() - started
        cookies = users[0][0].http.cookies
        after_load = fresh_requests(base, cookies)
        cluster.restart()  # and once more with no load: every pooled connection is stale
        after_idle_restart = fresh_requests(base, cookies)
    return {
        "answers": answers,
        "faults": faults,
        "elapsed": elapsed,
        "after_load": after_load,
        "after_idle_restart": after_idle_restart,
        "rows": {r.id for r in query(url, "SELECT id FROM passlock_authenticator")},
        "used": {r.jti for r in query(url, "SELECT jti FROM passlock_used_token")},
        "signed_up": signed_up,
        "emulator": emulator,
    }


# -- figures ---------------------------------------------------------------------------------


def tally(answers: list[Answer]) -> dict[str, int]:
    counts = Counter(
        (f"{a.status} {a.code}" if a.code else str(a.status)) if a.status else "no answer"
        for a in answers
    )
    return dict(sorted(counts.items()))


def failed(answer: Answer) -> bool:
    return answer.status == 0 or answer.status >= 500


def fault_windows(answers: list[Answer], faults) -> list[dict[str, Any]]:
    """Per fault, the requests that ended from its start to the next fault's start: how many
    failed, how many of those were sent after the database was ready again, and how long
    after that the first request succeeded."""
    rows = []
    for i, (name, down, up) in enumerate(faults):
        until = faults[i + 1][1] if i + 1 < len(faults) else float("inf")
        window = [a for a in answers if down <= a.ended < until]
        failures = [a for a in window if failed(a)]
        after_ready = [a for a in failures if a.started >= up]
        successes = [a.ended for a in window if a.started >= up and not failed(a)]
        rows.append(
            {
                "fault": name,
                "database_away_s": round(up - down, 2),
                "failed": len(failures),
                "failed_500": sum(a.status == 500 for a in failures),
                "failed_after_ready": len(after_ready),
                "first_success_after_ready_s": round(min(successes) - up, 2) if successes else None,
            }
        )
    return rows


def report(name: str, run) -> dict[str, Any]:
    answers = run["answers"]
    registered = {a.passkey for a in answers if a.kind == "register" and a.status == 201}
    refused = [a for a in answers if a.kind == "register" and a.status != 201]
    exchanged = "".join(uri for _, uri in run["emulator"].requests if "/principal/" in uri)
    figures = {
        "requests": len(answers),
        "load_seconds": round(run["elapsed"], 1),
        "answers": tally(answers),
        "answers_500_by_kind": dict(Counter(a.kind for a in answers if a.status == 500)),
        "faults": fault_windows(answers, run["faults"]),
        "registered_under_load": len(registered),
        "registrations_refused": {
            "after the code exchange": sum(a.sent in exchanged for a in refused),
            "before it (passkey left at Passlock)": sum(a.sent not in exchanged for a in refused),
        },
        "after_load": dict(Counter(run["after_load"])),
        "after_idle_restart": dict(Counter(run["after_idle_restart"])),
    }
    REPORT[name] = figures
    print(f"\n{name}: {len(answers)} requests in {run['elapsed']:.1f} s")
    for key, value in figures.items():
        if key == "faults":
            for row in value:
                print("   ", row)
        elif key not in ("requests", "load_seconds"):
            print(f"  {key}: {value}")
    return figures


# -- with the recommended engine options ----------------------------------------------------


@pytest.fixture(scope="module")
def recommended(cluster, passlock_emulator):
    run = run_restarts(cluster, passlock_emulator, "restarts", RECOMMENDED_ENGINE_OPTIONS)
    run["figures"] = report("recommended engine options", run)
    return run


def test_restarts_never_answer_500(recommended):
    assert "500" not in recommended["figures"]["answers"]


def test_every_other_failure_is_503_storage_error(recommended):
    answers = recommended["answers"]
    assert not [a for a in answers if a.status == 0], "requests left without an answer"
    others = Counter(
        (a.kind, a.status, a.code)
        for a in answers
        if a.status >= 400 and a.status != 500 and (a.status, a.code) != (503, "storage_error")
    )
    assert not others, others
    assert recommended["figures"]["answers"].get("503 storage_error", 0) > 0  # the faults hit


def test_rows_match_answers(recommended, passlock_emulator):
    answers = recommended["answers"]
    registered = {a.passkey for a in answers if a.kind == "register" and a.status == 201}
    assert registered
    # Every 201 has its row, and there is no row without a 201.
    assert recommended["rows"] == registered | recommended["signed_up"]
    # A ceremony is used up exactly when it was accepted (one ceremony, one session).
    accepted = {a.ceremony for a in answers if a.ceremony and 200 <= a.status < 300}
    refused_ceremonies = {a.ceremony for a in answers if a.ceremony and a.status >= 300}
    assert accepted <= recommended["used"]
    assert not refused_ceremonies & recommended["used"]
    # A registration that failed after its code reached Passlock deleted the new passkey
    # there again (the browser is then told to forget it).
    exchanged = {uri for method, uri in passlock_emulator.requests if "/principal/" in uri}
    reached = {
        a.passkey
        for a in answers
        if a.kind == "register" and a.status != 201 and any(a.sent in u for u in exchanged)
    }
    assert not reached & set(passlock_emulator.passkeys)


def test_serves_again_as_soon_as_the_database_is_back(recommended):
    for fault in recommended["figures"]["faults"]:
        assert fault["failed_after_ready"] == 0, fault  # no stale pooled connection is used
        first = fault["first_success_after_ready_s"]
        assert first is not None and first < RECOVERY_BOUND, fault
    assert recommended["after_load"] == [200] * 20
    assert recommended["after_idle_restart"] == [200] * 20
    assert recommended["elapsed"] < 30


# -- measured: without pool_pre_ping ----------------------------------------------------------


def test_without_pre_ping_stale_connections_fail_after_a_restart(cluster, passlock_emulator):
    """For docs/deployment.rst: without ``pool_pre_ping``, a worker finds out that the
    database restarted by failing a request on a dead pooled connection."""
    run = run_restarts(cluster, passlock_emulator, "restarts_no_pre_ping", WITHOUT_PRE_PING)
    figures = report("without pool_pre_ping", run)
    assert not [a for a in run["answers"] if a.status == 0]
    assert 503 in run["after_idle_restart"], figures["after_idle_restart"]
    assert run["after_load"] == [200] * 20


# -- the two 500s, one by one ---------------------------------------------------------------


def in_process_app(emulator, url: str):
    from .apps.pg_app import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "s", **emulator.app_config()})
    app.test_client_class = PasslockTestClient
    return app


def status_of(call) -> int:
    """The status a server would send: an exception escaping the app is a 500."""
    try:
        return int(call().status_code)
    except SQLAlchemyError:
        return 500


def test_html_page_while_the_database_is_down_is_503(passlock_emulator):
    url = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/nothing-listens-here"
    client = in_process_app(passlock_emulator, url).test_client(user=1)
    assert status_of(lambda: client.get("/passkey/", headers={"Accept": "application/json"})) == 503
    assert status_of(lambda: client.get("/passkey/", headers={"Accept": "text/html"})) == 503


def cut_after_the_last_query(cluster, emulator, database: str, *, end_transaction: bool) -> int:
    """The status of a signed-in JSON listing whose database connection is cut once the
    answer is ready (as a restart does), in an app that ends its transaction in a
    ``teardown_request`` or not."""
    from .apps.pg_app import User, db

    url = cluster.create_database(database)
    create_tables(url, emulator)
    app = in_process_app(emulator, url)
    if end_transaction:

        @app.teardown_request
        def end(exc):
            try:
                db.session.rollback()
            except SQLAlchemyError:
                pass

    with app.app_context():
        db.session.add(User(id=1, username="ada"))
        db.session.commit()
    client = app.test_client(user=1)

    def cut(sender, **extra):
        query(
            cluster.url(),
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            f" WHERE datname = '{database}' AND pid <> pg_backend_pid()",
        )

    flask.request_finished.connect(cut, app)
    try:
        return status_of(lambda: client.get("/passkey/", headers={"Accept": "application/json"}))
    finally:
        flask.request_finished.disconnect(cut, app)
        with app.app_context():
            db.engine.dispose()


def test_connection_cut_after_the_last_query_is_not_500(cluster, passlock_emulator):
    assert cut_after_the_last_query(cluster, passlock_emulator, "cut", end_transaction=False) == 200


def test_ending_the_transaction_in_teardown_request_avoids_that_500(cluster, passlock_emulator):
    """The same for the app's own routes, with the teardown docs/deployment.rst gives."""
    status = cut_after_the_last_query(cluster, passlock_emulator, "cut_ended", end_transaction=True)
    assert status == 200
