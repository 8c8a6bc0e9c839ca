"""What each deployment setting of docs/deployment.rst changes in what users see, measured
through gunicorn on a throwaway PostgreSQL cluster: how long a request takes to fail when the
database refuses or does not answer connections (``connect_timeout``), when a row lock is held
(``lock_timeout``, ``statement_timeout``), and how requests queue behind calls to a Passlock
that does not answer (``PASSLOCK_TIMEOUT`` and the worker's threads).

Each test asserts the behaviour the docs describe, with generous bounds, and writes the
figures to ``test-artifacts/pg_settings.json``.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import requests
import sqlalchemy as sa

from flask_passlock.emulator import Fault

from .pgcluster import reporting_cluster
from .pgserve import RECOMMENDED_ENGINE_OPTIONS, ROOT, Visitor, create_tables, serve

pytestmark = pytest.mark.long

ARTIFACT = Path(ROOT) / "test-artifacts" / "pg_settings.json"
REPORT: dict[str, Any] = {}
FREEZE = 6.0  # seconds the database does not answer new connections
HOLD = 7.0  # seconds another transaction holds the user's passkey rows locked


def engine_options(*, connect_timeout: bool = True, server_timeouts: str = "both"):
    """The recommended options, without ``connect_timeout`` or with only some of
    ``statement_timeout`` / ``lock_timeout``."""
    options = json.loads(json.dumps(RECOMMENDED_ENGINE_OPTIONS))
    args = options["connect_args"]
    if not connect_timeout:
        del args["connect_timeout"]
    if server_timeouts == "statement":
        args["options"] = "-c statement_timeout=5000"
    elif server_timeouts == "none":
        del args["options"]
    return options


@pytest.fixture(scope="module")
def cluster():
    with reporting_cluster(REPORT, ARTIFACT) as running:
        yield running


def timed(call) -> tuple[int, str | None, float]:
    """``(status, error code, seconds)`` of one request; status 0: no answer at all."""
    started = time.monotonic()
    try:
        answer = call()
    except requests.RequestException as error:
        return 0, type(error).__name__, round(time.monotonic() - started, 2)
    seconds = round(time.monotonic() - started, 2)
    code = None
    if answer.status_code >= 400:
        is_json = "json" in answer.headers.get("Content-Type", "")
        code = answer.json().get("code") if is_json else answer.headers.get("Content-Type")
    return answer.status_code, code, seconds


# -- connect_timeout ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "connect_timeout, threads",
    [(True, 2), (False, 2), (False, 1)],
    ids=["connect_timeout=3", "none", "none, sync worker"],
)
def test_database_down(cluster, passlock_emulator, connect_timeout, threads):
    """A refused connection fails at once either way; a database that accepts the TCP
    connection but does not answer (frozen, overloaded, a half-open network path) holds the
    request until ``connect_timeout``, or until it answers again without one. gunicorn's
    ``--timeout`` (3 s here) does not cut a request stuck in a thread of a threaded worker; a
    sync worker is killed instead, and the request gets no answer at all."""
    name = f"down_{'ct' if connect_timeout else 'none'}_{threads}"
    url = cluster.create_database(name)
    create_tables(url, passlock_emulator)
    options = engine_options(connect_timeout=connect_timeout)
    with serve(
        url, passlock_emulator, options, workers=1, threads=threads, gunicorn_args="--timeout 3"
    ) as base:
        me = Visitor(base, timeout=60)
        me.sign_up(name, passlock_emulator)
        listing = lambda: me.get("/passkey/")  # noqa: E731
        assert listing().status_code == 200

        cluster.stop()
        refused = timed(listing)
        cluster.start()
        assert listing().status_code == 200

        cluster.restart()  # the pooled connections are gone: the next request connects anew
        cluster.freeze()
        thaw = threading.Timer(FREEZE, cluster.thaw)
        thaw.start()
        try:
            frozen = timed(listing)
        finally:
            thaw.join()
        back = timed(listing)
    label = "connect_timeout=3" if connect_timeout else "no connect_timeout"
    label += ", gthread worker" if threads > 1 else ", sync worker"
    REPORT[f"database down, {label}, gunicorn --timeout 3"] = {
        "refused": refused,
        f"not answering for {FREEZE:g} s": frozen,
        "after": back,
    }
    print(f"\n{label}: refused {refused}, not answering {frozen}")
    assert refused[:2] == (503, "storage_error") and refused[2] < 1.0
    if connect_timeout:
        assert frozen[:2] == (503, "storage_error")
        assert 2.5 < frozen[2] < 4.5
    elif threads > 1:  # held for the whole outage, then served: nothing cut it short
        assert frozen[0] == 200 and frozen[2] >= FREEZE - 0.5
    else:  # the worker was killed with the request: no answer from the app
        assert frozen[0] in (0, 500) and frozen[2] < FREEZE
    assert back[0] == 200


# -- lock_timeout and statement_timeout --------------------------------------------------------


@pytest.mark.parametrize(
    "server_timeouts",
    ["both", "statement", "none"],
    ids=["lock_timeout=3000", "statement_timeout=5000 only", "none"],
)
def test_lock_held_elsewhere(cluster, passlock_emulator, server_timeouts):
    """Deleting a passkey takes the user's row lock (the last-passkey guard); while another
    transaction holds it, the delete waits: ``lock_timeout`` ends the wait with 503."""
    name = f"lock_{server_timeouts}"
    url = cluster.create_database(name)
    create_tables(url, passlock_emulator)
    options = engine_options(server_timeouts=server_timeouts)
    with serve(url, passlock_emulator, options, workers=1, threads=2, other_sign_in=False) as base:
        me = Visitor(base, timeout=60)
        first = me.sign_up(name, passlock_emulator)
        me.add_passkey(passlock_emulator)
        engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
        try:
            with engine.connect() as holder:
                holder.execute(
                    sa.text(
                        "SELECT a.id FROM passlock_authenticator a JOIN account u"
                        " ON u.id = a.user_id WHERE u.username = :n FOR UPDATE"
                    ),
                    {"n": name},
                )
                result: list[Any] = []
                deleting = threading.Thread(
                    target=lambda: result.append(
                        timed(lambda: me.post(f"/passkey/{first}/delete", {}))
                    )
                )
                deleting.start()
                time.sleep(HOLD)
                holder.rollback()  # the other transaction ends: the lock is free
                deleting.join(60)
        finally:
            engine.dispose()
    delete = result[0]
    REPORT[f"lock held {HOLD:g} s, {server_timeouts} timeouts"] = {"delete": delete}
    print(f"\nlock held {HOLD:g} s, timeouts {server_timeouts}: delete {delete}")
    if server_timeouts == "both":
        assert delete[:2] == (503, "storage_error") and 2.5 < delete[2] < 4.5
    elif server_timeouts == "statement":
        assert delete[:2] == (503, "storage_error") and 4.5 < delete[2] < 6.5
    else:
        assert delete[0] == 200 and delete[2] >= HOLD - 0.5


# -- PASSLOCK_TIMEOUT and threads ---------------------------------------------------------------


def test_requests_queue_behind_a_passlock_that_does_not_answer(cluster, emulator):
    """One worker with 2 threads, ``PASSLOCK_TIMEOUT`` 1 s, Passlock not answering: four
    sign-ins by code are answered 503 two at a time, each after the deadline, and a page that
    never calls Passlock waits behind them."""
    url = cluster.create_database("passlock_slow")
    create_tables(url, emulator)
    with serve(
        url,
        emulator,
        RECOMMENDED_ENGINE_OPTIONS,
        workers=1,
        threads=2,
        config={"PASSLOCK_TIMEOUT": 1},
    ) as base:
        me = Visitor(base)
        passkey = me.sign_up("slow", emulator)
        assert me.get("/passkey/").status_code == 200
        codes = [emulator.issue_code(authenticator_id=passkey).code for _ in range(4)]
        emulator.inject(Fault(200, b"{}", "application/json", delay=3.0), times=4)
        results: dict[str, tuple[int, str | None, float]] = {}

        def sign_in(i: int) -> None:
            stranger = Visitor(base)
            results[f"sign-in {i + 1}"] = timed(
                lambda: stranger.post("/passkey/login", {"code": codes[i]})
            )

        def listing() -> None:
            results["passkey list (no Passlock call)"] = timed(lambda: me.get("/passkey/"))

        threads = [threading.Thread(target=sign_in, args=(i,)) for i in range(4)]
        for thread in threads:
            thread.start()
            time.sleep(0.05)
        threads.append(threading.Thread(target=listing))
        threads[-1].start()
        for thread in threads:
            thread.join(30)
    REPORT["Passlock not answering, PASSLOCK_TIMEOUT=1, 1 worker x 2 threads"] = results
    print("\nPasslock not answering:", results)
    sign_ins = sorted(v for k, v in results.items() if k.startswith("sign-in"))
    assert [s[:2] for s in sign_ins] == [(503, "passlock_unavailable")] * 4
    assert all(0.8 < s[2] < 1.6 for s in sign_ins[:2])  # the first two: one deadline
    assert all(1.6 < s[2] < 2.8 for s in sign_ins[2:])  # the next two waited for a thread
    page = results["passkey list (no Passlock call)"]
    assert page[0] == 200 and page[2] > 1.0
