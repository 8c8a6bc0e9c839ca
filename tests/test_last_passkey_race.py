"""Races that must not be winnable, through 4 gunicorn worker processes on a real PostgreSQL
(a throwaway cluster): deleting two passkeys at once never deletes the last one when the user
has no other way to sign in, and one ceremony opens at most one session whichever of its code
and id_token arrive, however many copies at once."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from .pgcluster import throwaway_cluster
from .pgserve import RECOMMENDED_ENGINE_OPTIONS, Visitor, create_tables, query, serve

WORKERS = 4
ROUNDS = 15


@pytest.fixture(scope="module")
def cluster():
    with throwaway_cluster() as running:
        yield running


@pytest.fixture(scope="module")
def server(cluster, passlock_emulator):
    pytest.importorskip("gunicorn")
    url = cluster.create_database("races")
    create_tables(url, passlock_emulator)
    with serve(
        url, passlock_emulator, RECOMMENDED_ENGINE_OPTIONS, workers=WORKERS, other_sign_in=False
    ) as base:
        yield base, url


def at_once(calls: list[Callable[[], requests.Response]]) -> list[tuple[float, float, Any]]:
    """Run ``calls`` in threads released together; each gives ``(start, end, answer)``."""
    barrier = threading.Barrier(len(calls))

    def run(call):
        barrier.wait()
        start = time.monotonic()
        answer = call()
        return start, time.monotonic(), answer

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def overlapped(timed) -> bool:
    return max(start for start, _, _ in timed) < min(end for _, end, _ in timed)


def passkeys_of(url: str, username: str) -> list[str]:
    rows = query(
        url,
        "SELECT a.id FROM passlock_authenticator a JOIN account u ON u.id = a.user_id"
        " WHERE u.username = :username",
        username=username,
    )
    return [row.id for row in rows]


def test_two_deletes_at_once_never_remove_the_last_passkey(server, passlock_emulator):
    base, url = server
    together = 0
    for round_ in range(ROUNDS):
        username = f"last-{round_}"
        owner = Visitor(base)
        first = owner.sign_up(username, passlock_emulator)
        second = owner.add_passkey(passlock_emulator)
        tabs = [owner, owner.twin()]  # the same user in two tabs
        timed = at_once(
            [
                lambda: tabs[0].post(f"/passkey/{first}/delete", {}),
                lambda: tabs[1].post(f"/passkey/{second}/delete", {}),
            ]
        )
        together += overlapped(timed)
        answers = [answer for _, _, answer in timed]
        statuses = [a.status_code for a in answers]
        assert sorted(statuses) == [200, 409], (round_, [a.text for a in answers])
        refused = answers[statuses.index(409)]
        assert refused.json()["code"] == "last_passkey"
        kept, gone = (first, second) if statuses[0] == 409 else (second, first)
        assert passkeys_of(url, username) == [kept], round_
        at_passlock = passlock_emulator.passkeys
        assert kept in at_passlock and gone not in at_passlock, round_
    print(f"\nlast-passkey race: {ROUNDS} rounds, {together} with both requests in flight at once")


def signed_up_with_passkey(base: str, emulator, username: str) -> str:
    return Visitor(base).sign_up(username, emulator)


def signed_in(visitor: Visitor) -> bool:
    return visitor.get("/passkey/").status_code == 200


def test_one_id_token_posted_eight_times_signs_in_once(server, passlock_emulator):
    base, _ = server
    passkey = signed_up_with_passkey(base, passlock_emulator, "token-8")
    for round_ in range(3):
        token = passlock_emulator.issue_code(authenticator_id=passkey).id_token
        visitors = [Visitor(base) for _ in range(8)]
        timed = at_once(
            [lambda v=v: v.post("/passkey/login", {"id_token": token}) for v in visitors]
        )
        answers = [answer for _, _, answer in timed]
        statuses = sorted(a.status_code for a in answers)
        assert statuses == [200] + [400] * 7, (round_, [a.text for a in answers])
        assert {a.json()["code"] for a in answers if a.status_code == 400} == {"id_token_replayed"}
        assert sum(signed_in(v) for v in visitors) == 1


def test_code_and_id_token_of_one_ceremony_sign_in_once(server, passlock_emulator):
    base, url = server
    passkey = signed_up_with_passkey(base, passlock_emulator, "code-and-token")
    refusals: dict[str, int] = {}
    for round_ in range(10):
        issued = passlock_emulator.issue_code(authenticator_id=passkey)
        bodies = [{"code": issued.code}, {"id_token": issued.id_token}] * 2
        visitors = [Visitor(base) for _ in bodies]
        timed = at_once(
            [lambda v=v, b=b: v.post("/passkey/login", b) for v, b in zip(visitors, bodies)]
        )
        answers = [answer for _, _, answer in timed]
        statuses = sorted(a.status_code for a in answers)
        assert statuses == [200, 400, 400, 400], (round_, [a.text for a in answers])
        for answer in answers:
            if answer.status_code == 400:
                code = answer.json()["code"]
                refusals[code] = refusals.get(code, 0) + 1
        assert sum(signed_in(v) for v in visitors) == 1
        used = query(
            url, "SELECT count(*) FROM passlock_used_token WHERE jti = :j", j=issued.principal["id"]
        )
        assert used[0][0] == 1
    assert set(refusals) <= {"id_token_replayed", "invalid_code"}, refusals
    print(f"\ncode + id_token of one ceremony, 10 rounds x 4 posts: refusals {refusals}")
