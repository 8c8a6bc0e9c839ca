"""Where Flask-Passlock's id_token register and sign-in spend their time above the bare route.

    python benchmarks/profile_paths.py [--quick] [--database-url URL] [-n REQUESTS]

For each path (register, sign-in) it runs Flask-Passlock by id_token
(``PASSLOCK_VERIFY_ID_TOKEN = True``) and the bare Flask + Flask-Login route doing the same
database writes, both in the same app, on loopback:

1. wall-clock ms per request without a profiler, interleaved (the gap to explain);
2. the SQL each sends for one request (statement count is the cheapest thing to compare);
3. cProfile of ``n`` requests of each: the package's own functions and the library calls
   they make, in ms per request, with the bare route's figure for the same function beside
   it. cProfile slows pure-Python code more than C code, so the profiled milliseconds are
   larger than the wall-clock ones; the last column scales each row by the path's
   wall / profiled ratio as a rough guide.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import os
import pstats
import random
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import sqlalchemy as sa  # noqa: E402
from apps import Bench, build_app, create_tables, drop_tables, internals, link_passkey  # noqa: E402

from flask_passlock.emulator import PasslockEmulator  # noqa: E402

ORIGIN = {"Origin": "http://localhost"}
PACKAGE = str(ROOT / "flask_passlock")

#: Library functions worth a row when the package calls them: (file part, function name).
WATCHED = {
    ("jwt/api_jws.py", "get_unverified_header"),
    ("jwt/api_jwt.py", "decode"),
    ("jwt/api_jwt.py", "decode_complete"),
    ("jwt/algorithms.py", "verify"),
    ("sqlalchemy/orm/session.py", "flush"),
    ("sqlalchemy/orm/session.py", "commit"),
    ("sqlalchemy/orm/session.py", "get"),
    ("sqlalchemy/orm/session.py", "execute"),
    ("sqlalchemy/orm/session.py", "scalars"),
    ("sqlalchemy/orm/session.py", "rollback"),
    ("sqlalchemy/inspection.py", "inspect"),
    ("flask_login/utils.py", "login_user"),
    ("flask_login/utils.py", "_get_user"),
    ("blinker/base.py", "send"),
    ("flask/helpers.py", "url_for"),
    ("flask/json/__init__.py", "jsonify"),
    ("werkzeug/wrappers/request.py", "get_json"),
    ("flask/app.py", "full_dispatch_request"),
    ("flask/app.py", "wsgi_app"),
    ("random.py", "random"),
}


def requests_for(
    bench: Bench, emulator: PasslockEmulator, passkey: str
) -> dict[str, tuple[Callable[[], Any], Callable[[Any], None]]]:
    """Path name -> (make one request's body, send it)."""
    app = bench.app
    signed_in = app.test_client()
    with signed_in.session_transaction() as session:
        session["_user_id"] = "1"
        session["_fresh"] = True

    def post(path: str, status: int, fresh: bool) -> Callable[[Any], None]:
        def send(body: Any) -> None:
            client = app.test_client() if fresh else signed_in
            response = client.post(path, json=body, headers=ORIGIN)
            if response.status_code != status:
                raise RuntimeError(f"{path}: HTTP {response.status_code}")

        return send

    def token(login: bool) -> Callable[[], Any]:
        def make() -> Any:
            issued = emulator.issue_code(authenticator_id=passkey) if login else None
            return {"id_token": (issued or emulator.issue_code()).id_token}

        return make

    def bare(login: bool) -> Callable[[], Any]:
        def make() -> Any:
            authenticator = passkey if login else secrets.token_urlsafe(16)
            return {"authenticator_id": authenticator, "jti": secrets.token_urlsafe(16)}

        return make

    return {
        "register, id_token": (token(False), post("/passkey/register", 201, False)),
        "register, bare": (bare(False), post("/bare/register", 201, False)),
        "sign-in, id_token": (token(True), post("/passkey/login", 200, True)),
        "sign-in, bare": (bare(True), post("/bare/login", 200, True)),
    }


def wall_clock(paths: dict[str, Any], rounds: int) -> dict[str, float]:
    """Median ms per request of each path, one request of each per round in shuffled order,
    no profiler."""
    samples: dict[str, list[float]] = {name: [] for name in paths}
    rng = random.Random(1)
    names = list(paths)
    for _ in range(rounds):
        rng.shuffle(names)
        bodies = {name: paths[name][0]() for name in names}
        for name in names:
            t = time.perf_counter()
            paths[name][1](bodies[name])
            samples[name].append(time.perf_counter() - t)
    return {name: statistics.median(values) * 1000 for name, values in samples.items()}


def paired(variants: dict[str, Callable[[], None]], n: int) -> dict[str, float]:
    """Median ms of each callable, called in turn, ``n`` times each."""
    samples: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(n):
        for name, step in variants.items():
            t = time.perf_counter()
            step()
            samples[name].append(time.perf_counter() - t)
    return {name: statistics.median(values) * 1000 for name, values in samples.items()}


def costs_one_by_one(bench: Bench, emulator: PasslockEmulator, n: int) -> None:
    """What single steps of the id_token paths cost, and what a cheaper way of doing the same
    costs, measured without a profiler (alternating, medians)."""
    import jwt

    db, User, Authenticator, UsedJti = bench.db, bench.User, bench.Authenticator, bench.UsedJti  # noqa: N806
    print(f"\nCosts one by one, no profiler (median ms of {n}, alternating)")
    with bench.app.app_context():
        verifier = internals(bench.app).verifier
        tokens = iter([emulator.issue_code().id_token for _ in range(3 * n + 2)])
        verifier.verify(next(tokens))  # JWKS downloaded
        kid = jwt.get_unverified_header(next(tokens))["kid"]
        public = jwt.PyJWK(next(k for k in _jwks(bench) if k["kid"] == kid)).key
        results = paired(
            {
                "verifier.verify()": lambda: verifier.verify(next(tokens)),
                "jwt.decode() alone": lambda: jwt.decode(
                    next(tokens),
                    public,
                    algorithms=["RS256"],
                    audience=emulator.tenancy_id,
                    issuer="passlock.dev",
                ),
                "jwt.get_unverified_header()": lambda: jwt.get_unverified_header(next(tokens)),
            },
            n,
        )
        for name, ms in results.items():
            print(f"  {name:<64}{ms:8.3f}")

        def ids() -> tuple[str, str]:
            return secrets.token_urlsafe(16), secrets.token_urlsafe(16)

        used = UsedJti.__table__.insert()

        def writes(how: str) -> Callable[[], None]:
            def step() -> None:
                jti, passkey = ids()
                if how != "plain":
                    db.session.add(UsedJti(jti=jti, expires_at=_soon()))
                    if how == "3 flushes":
                        db.session.flush()
                db.session.add(Authenticator(id=passkey, user_id=1))
                if how in ("3 flushes", "2 flushes", "plain"):
                    db.session.flush()
                if how == "plain":
                    db.session.execute(used, {"jti": jti, "expires_at": _soon()})
                db.session.commit()

            return step

        ways = {
            "3 flushes": "register writes, each row flushed on its own (0.1)",
            "2 flushes": "passkey flushed, one-use row flushed by the commit (0.2.dev)",
            "1 flush": "both rows in the commit's flush (the bare route)",
            "plain": "passkey flushed, one-use row by a plain INSERT (now)",
        }
        results = paired({how: writes(how) for how in ways}, n)
        for how, text in ways.items():
            print(f"  {text:<64}{results[how]:8.3f}")

        user = db.session.get(User, 1)

        def refresh_after_commit() -> None:
            user.get_id()
            db.session.commit()
            user.get_id()  # expired by the commit: SELECT

        def id_before_commit() -> None:
            user.get_id()
            db.session.commit()

        results = paired({"after": refresh_after_commit, "before": id_before_commit}, n)
        print(
            f"  {'user.get_id() after COMMIT (a SELECT; now read before it)':<64}"
            f"{results['after'] - results['before']:8.3f}"
        )

        housekeeping = sa.delete(UsedJti).where(UsedJti.expires_at < sa.func.now())

        def sweep() -> None:
            db.session.execute(housekeeping)
            db.session.commit()

        results = paired({"sweep": sweep, "commit": db.session.commit}, n)
        print(
            f"  {'DELETE of expired rows (0.1: 2% of requests; now once a minute)':<64}"
            f"{results['sweep'] - results['commit']:8.3f}"
        )


def statements(bench: Bench, make: Callable[[], Any], send: Callable[[Any], None]) -> list[str]:
    """The SQL one request sends, in order (COMMIT included)."""
    seen: list[str] = []
    with bench.app.app_context():
        engine = bench.db.engine

    def on_execute(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(" ".join(statement.split())[:90])

    def on_commit(conn: Any) -> None:
        seen.append("COMMIT")

    body = make()
    sa.event.listen(engine, "before_cursor_execute", on_execute)
    sa.event.listen(engine, "commit", on_commit)
    try:
        send(body)
    finally:
        sa.event.remove(engine, "before_cursor_execute", on_execute)
        sa.event.remove(engine, "commit", on_commit)
    return seen


def _soon() -> Any:
    from datetime import datetime, timedelta, timezone

    return datetime.now(timezone.utc) + timedelta(minutes=5)


def _jwks(bench: Bench) -> list[dict[str, Any]]:
    """The key set, as the app's Passlock serves it."""
    import requests

    return requests.get(internals(bench.app).client.jwks_url, timeout=10).json()["keys"]  # type: ignore[no-any-return]


def profile(make: Callable[[], Any], send: Callable[[Any], None], n: int) -> pstats.Stats:
    bodies = [make() for _ in range(n)]
    profiler = cProfile.Profile()
    profiler.enable()
    for body in bodies:
        send(body)
    profiler.disable()
    return pstats.Stats(profiler)


def rows(stats: pstats.Stats) -> dict[tuple[str, int, str], tuple[int, float, float]]:
    """(file, line, function) -> (calls, cumulative s, own s) for the package's functions and
    the watched library functions."""
    found: dict[tuple[str, int, str], tuple[int, float, float]] = {}
    for (filename, line, name), (_, calls, own, cumulative, _) in stats.stats.items():  # type: ignore[attr-defined]
        if filename.startswith(PACKAGE):
            key = (os.path.relpath(filename, ROOT), line, name)
        else:
            match = next((f for f, fn in WATCHED if filename.endswith(f) and fn == name), None)
            if match is None:
                continue
            key = (match, line, name)
        found[key] = (calls, cumulative, own)
    return found


def total(stats: pstats.Stats) -> float:
    return sum(own for (_, _, own, _, _) in stats.stats.values())  # type: ignore[attr-defined]


def report(title: str, path: pstats.Stats, bare: pstats.Stats, n: int, wall: float) -> None:
    path_rows, bare_rows = rows(path), rows(bare)
    profiled = total(path) / n * 1000
    scale = wall / profiled
    print(f"\n{title}: cProfile, {n} requests; {profiled:.2f} ms per request profiled")
    print(f"  {'file:function':<64}{'calls':>6}{'cum ms':>8}{'own ms':>8}{'bare':>7}{'~wall':>7}")
    ordered = sorted(path_rows.items(), key=lambda item: -item[1][1])
    for (filename, line, name), (calls, cumulative, own) in ordered:
        cum_ms = cumulative / n * 1000
        if cum_ms < 0.005:
            continue
        other = bare_rows.get((filename, line, name))
        bare_ms = f"{other[1] / n * 1000:7.3f}" if other else f"{'-':>7}"
        label = f"{filename}:{line}:{name}"
        print(
            f"  {label[-58:]:<64}{calls / n:>6.2f}{cum_ms:>8.3f}{own / n * 1000:>8.3f}"
            f"{bare_ms}{cum_ms * scale:>7.3f}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("PASSLOCK_BENCH_DATABASE_URL"),
        help="SQLAlchemy URL (default: $PASSLOCK_BENCH_DATABASE_URL, else a SQLite file)",
    )
    parser.add_argument("-n", type=int, default=None, help="profiled requests per path")
    args = parser.parse_args(argv)
    n = args.n or (5 if args.quick else 1000)
    workdir = Path(tempfile.mkdtemp(prefix="passlock-profile-"))
    url = args.database_url or f"sqlite:///{workdir / 'profile.sqlite'}"
    backend = sa.make_url(url).get_backend_name()
    print(f"Flask-Passlock profile: id_token paths against the bare route, loopback, {backend}")
    with PasslockEmulator() as emulator:
        bench = build_app(url, emulator.app_config(), verify_id_token=True)
        create_tables(bench)
        passkey = emulator.issue_code().authenticator_id
        link_passkey(bench, passkey)
        try:
            paths = requests_for(bench, emulator, passkey)
            for make, send in paths.values():
                for _ in range(1 if args.quick else 5):
                    send(make())
            gc.collect()
            gc.freeze()  # long-lived objects out of the collector's way; it still runs
            wall = wall_clock(paths, 3 if args.quick else 500)
            print("\nWall clock, no profiler (median ms per request, interleaved)")
            for name, ms in wall.items():
                print(f"  {name:<20}{ms:8.2f}")
            for op in ("register", "sign-in"):
                gap = wall[f"{op}, id_token"] - wall[f"{op}, bare"]
                print(f"  {op}: {gap:.2f} ms above the bare route")
            print("\nSQL sent by one request")
            for name, (make, send) in paths.items():
                print(f"  {name}:")
                for statement in statements(bench, make, send):
                    print(f"    {statement}")
            costs_one_by_one(bench, emulator, 3 if args.quick else 300)
            profiles = {name: profile(make, send, n) for name, (make, send) in paths.items()}
            for op in ("register", "sign-in"):
                report(
                    f"{op}, id_token (bare column: the bare route's figure)",
                    profiles[f"{op}, id_token"],
                    profiles[f"{op}, bare"],
                    n,
                    wall[f"{op}, id_token"],
                )
        finally:
            drop_tables(bench)
    return 0


if __name__ == "__main__":
    sys.exit(main())
