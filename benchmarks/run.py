"""Flask-Passlock benchmarks: register and sign-in paths against the hand-written recipe.

    python benchmarks/run.py [--quick] [--database URL]

Prints, from one run: register POST latency (p50/p99) and per-worker throughput for (a) the
recipe from the Passlock docs, (b) this extension and (c) the floor, over plain loopback and
over a simulated internet link (TLS, self-signed, +20 ms RTT); sign-in with id_token
verification (calls to Passlock, verify cost); authenticator lookups at 1k/100k/1M rows with
the query plan; the bytes the macros add to a page; and a multi-worker load run.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import ssl
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import requests  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from flask import Flask, request  # noqa: E402
from flask_login import LoginManager, UserMixin, current_user  # noqa: E402
from flask_sqlalchemy import SQLAlchemy  # noqa: E402
from netsim import LatencyProxy, self_signed_certificate  # noqa: E402
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column  # noqa: E402

from flask_passlock import Passlock  # noqa: E402
from flask_passlock.emulator import PasslockEmulator  # noqa: E402
from flask_passlock.testing import gunicorn_server  # noqa: E402

ORIGIN = {"Origin": "http://localhost"}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def summary(latencies: list[float], elapsed: float) -> dict[str, float]:
    return {
        "p50_ms": percentile(latencies, 0.50) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        "per_s": len(latencies) / elapsed,
    }


def timed(n: int, step: Callable[[int], None]) -> dict[str, float]:
    latencies = []
    start = time.perf_counter()
    for i in range(n):
        t = time.perf_counter()
        step(i)
        latencies.append(time.perf_counter() - t)
    return summary(latencies, time.perf_counter() - start)


# -- the app under test, with the hand-written recipe beside the extension ---------------------


def build_app(
    database_url: str, passlock_config: dict[str, str]
) -> tuple[Flask, object, type, type]:
    class Base(DeclarativeBase):
        pass

    db = SQLAlchemy(model_class=Base)

    class User(UserMixin, db.Model):  # type: ignore[name-defined,misc]
        __tablename__ = "bench_user"
        id: Mapped[int] = mapped_column(primary_key=True)
        username: Mapped[str] = mapped_column(sa.String(64))

    app = Flask(__name__)
    app.config.update(SECRET_KEY="bench", SQLALCHEMY_DATABASE_URI=database_url, **passlock_config)
    db.init_app(app)
    login = LoginManager(app)
    login.user_loader(lambda user_id: db.session.get(User, int(user_id)))
    passlock = Passlock(app, db=db, user_model=User)
    Authenticator = passlock.authenticator_model  # noqa: N806

    @app.post("/naive/register")
    def naive_register():  # what a developer writes from the Passlock docs
        code = request.get_json()["code"]
        tenancy = app.config["PASSLOCK_TENANCY_ID"]
        endpoint = app.config["PASSLOCK_ENDPOINT"].rstrip("/")
        response = requests.get(
            f"{endpoint}/{tenancy}/principal/{code}",
            headers={"Authorization": f"Bearer {app.config['PASSLOCK_API_KEY']}"},
            timeout=10,
        )
        principal = response.json()
        db.session.add(Authenticator(id=principal["authenticatorId"], user_id=current_user.id))
        db.session.commit()
        return {"ok": True}, 201

    @app.post("/noop")
    def noop():  # the framework's share: request, session cookie, Flask-Login's user load
        return {"user": current_user.id}, 201

    with app.app_context():
        db.drop_all()
        db.create_all()
        db.session.add(User(id=1, username="ada"))
        db.session.commit()
    return app, db, User, Authenticator


def signed_in_client(app: Flask):
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = "1"
        session["_fresh"] = True
    return client


def register_cases(app: Flask, db, Authenticator, emulator: PasslockEmulator, n: int) -> dict:  # noqa: N803
    """(a) naive recipe, (b) the extension, (c) the floor, n register POSTs each."""
    client = signed_in_client(app)
    results = {}

    codes = [emulator.issue_code().code for _ in range(n)]
    for warm in range(3):
        client.post("/naive/register", json={"code": emulator.issue_code().code}, headers=ORIGIN)
        client.post("/passkey/register", json={"code": emulator.issue_code().code}, headers=ORIGIN)
        del warm

    def naive(i: int) -> None:
        r = client.post("/naive/register", json={"code": codes[i]}, headers=ORIGIN)
        assert r.status_code == 201, r.data

    results["a naive recipe"] = timed(n, naive)

    codes = [emulator.issue_code().code for _ in range(n)]

    def extension(i: int) -> None:
        r = client.post("/passkey/register", json={"code": codes[i]}, headers=ORIGIN)
        assert r.status_code == 201, r.data

    results["b flask-passlock"] = timed(n, extension)

    codes = [emulator.issue_code().code for _ in range(n)]
    endpoint = urlsplit(app.config["PASSLOCK_ENDPOINT"])
    if endpoint.scheme == "https":
        context = ssl.create_default_context(cafile=os.environ["REQUESTS_CA_BUNDLE"])
        conn: http.client.HTTPConnection = http.client.HTTPSConnection(
            endpoint.hostname, endpoint.port, context=context
        )
    else:
        conn = http.client.HTTPConnection(endpoint.hostname, endpoint.port)
    headers = {"Authorization": f"Bearer {app.config['PASSLOCK_API_KEY']}"}
    tenancy = app.config["PASSLOCK_TENANCY_ID"]
    conn.request("GET", "/.well-known/jwks.json")
    conn.getresponse().read()  # connection open and warm
    with app.app_context():
        engine = db.engine
    table = Authenticator.__table__
    with engine.connect() as dbconn:

        def floor(i: int) -> None:
            conn.request("GET", f"/{tenancy}/principal/{codes[i]}", headers=headers)
            principal = json.loads(conn.getresponse().read())
            dbconn.execute(
                table.insert().values(
                    id=principal["authenticatorId"],
                    user_id=1,
                    label="Passkey",
                    user_verified=False,
                    created_at=datetime.now(timezone.utc),
                )
            )
            dbconn.commit()

        results["c floor"] = timed(n, floor)
    conn.close()

    def framework(i: int) -> None:
        client.post("/noop", json={"code": "x"}, headers=ORIGIN)

    results["d framework only"] = timed(n, framework)
    return results


def print_register(title: str, results: dict) -> dict:
    a, b, c = results["a naive recipe"], results["b flask-passlock"], results["c floor"]
    print(f"\n{title}")
    print(f"  {'case':<20}{'p50 ms':>10}{'p99 ms':>10}{'req/s/worker':>14}")
    for name, r in results.items():
        print(f"  {name:<20}{r['p50_ms']:>10.2f}{r['p99_ms']:>10.2f}{r['per_s']:>14.1f}")
    d = results["d framework only"]
    ratios = {
        "throughput b/a": b["per_s"] / a["per_s"],
        "latency p50 b/c": b["p50_ms"] / c["p50_ms"],
        "latency p50 b/(c+d)": b["p50_ms"] / (c["p50_ms"] + d["p50_ms"]),
    }
    print(
        f"  throughput (b)/(a) = {ratios['throughput b/a']:.2f}x   "
        f"latency p50 (b)/(c) = {ratios['latency p50 b/c']:.3f}x   "
        f"(b)/((c)+(d)) = {ratios['latency p50 b/(c+d)']:.3f}x"
    )
    return ratios


# -- sign-in with local id_token verification ---------------------------------------------------


def signin_case(database_url: str, emulator: PasslockEmulator, n: int) -> None:
    config = dict(emulator.app_config(), PASSLOCK_VERIFY_ID_TOKEN=True)
    app, db, User, Authenticator = build_app(database_url, config)  # noqa: N806
    client = signed_in_client(app)
    issued = emulator.issue_code()
    client.post("/passkey/register", json={"code": issued.code}, headers=ORIGIN)
    tokens = [
        emulator.issue_code(authenticator_id=issued.authenticator_id).id_token for _ in range(n + 1)
    ]
    codes = [emulator.issue_code(authenticator_id=issued.authenticator_id).code for _ in range(n)]
    anonymous = app.test_client()
    anonymous.post("/passkey/login", json={"id_token": tokens.pop()}, headers=ORIGIN)  # warm JWKS
    before = len(emulator.requests)

    def with_token(i: int) -> None:
        r = app.test_client().post("/passkey/login", json={"id_token": tokens[i]}, headers=ORIGIN)
        assert r.status_code == 200, r.data

    token_stats = timed(n, with_token)
    calls = len(emulator.requests) - before
    before = len(emulator.requests)

    def with_code(i: int) -> None:
        r = app.test_client().post("/passkey/login", json={"code": codes[i]}, headers=ORIGIN)
        assert r.status_code == 200, r.data

    code_stats = timed(n, with_code)
    code_calls = len(emulator.requests) - before
    with app.app_context():
        verifier = app.extensions["passlock"].verifier
        sample = [
            emulator.issue_code(authenticator_id=issued.authenticator_id).id_token
            for _ in range(200)
        ]
        start = time.perf_counter()
        for token in sample:
            verifier.verify(token)
        verify_us = (time.perf_counter() - start) / len(sample) * 1e6
    print("\nSign-in (POST /passkey/login), loopback")
    print(
        f"  id_token verified locally: p50 {token_stats['p50_ms']:.2f} ms, "
        f"{calls / n:.2f} calls to Passlock per sign-in (warm JWKS), verify {verify_us:.0f} us"
    )
    print(
        f"  code exchanged:            p50 {code_stats['p50_ms']:.2f} ms, "
        f"{code_calls / n:.2f} calls to Passlock per sign-in"
    )
    with app.app_context():
        db.drop_all()
        db.engine.dispose()


# -- authenticator lookups ------------------------------------------------------------------------


def lookup_case(database_url: str, sizes: list[int], lookups: int) -> None:
    app, db, User, Authenticator = build_app(
        database_url,
        {  # noqa: N806
            "PASSLOCK_TENANCY_ID": "t",
            "PASSLOCK_API_KEY": "k",
        },
    )
    passlock = app.extensions["passlock"].extension
    dialect = None
    print(f"\nAuthenticator lookup by id ({urlsplit(database_url).scheme})")
    with app.app_context():
        dialect = db.engine.dialect.name
        loaded = 0
        for size in sizes:
            columns = (
                "INSERT INTO passlock_authenticator "
                "(id, user_id, created_at, user_verified, label) "
            )
            if dialect == "sqlite":
                fill = (
                    "WITH RECURSIVE c(x) AS "
                    "(SELECT :start UNION ALL SELECT x + 1 FROM c WHERE x < :stop) "
                    + columns
                    + "SELECT 'pk-' || x, 1, '2026-01-01 00:00:00', 0, 'Passkey' FROM c"
                )
            else:
                fill = (
                    columns + "SELECT 'pk-' || g, 1, now(), false, 'Passkey' "
                    "FROM generate_series(CAST(:start AS integer), CAST(:stop AS integer)) g"
                )
            db.session.execute(sa.text(fill), {"start": loaded + 1, "stop": size})
            db.session.commit()
            if dialect != "sqlite":
                db.session.execute(sa.text("ANALYZE passlock_authenticator"))
                db.session.commit()
            loaded = size
            ids = [f"pk-{(i * 7919) % size + 1}" for i in range(lookups)]
            start = time.perf_counter()
            for authenticator_id in ids:
                db.session.expunge_all()
                assert passlock.find_authenticator(authenticator_id) is not None
            per = (time.perf_counter() - start) / lookups * 1e6
            print(f"  {size:>9,} rows: {per:7.1f} us per lookup")
        explain = "EXPLAIN QUERY PLAN " if dialect == "sqlite" else "EXPLAIN "
        plan = db.session.execute(
            sa.text(explain + "SELECT * FROM passlock_authenticator WHERE id = 'pk-1'")
        ).all()
        print("  plan: " + " | ".join(" ".join(str(v) for v in row) for row in plan))
        db.session.rollback()
        db.drop_all()
        db.engine.dispose()


# -- page weight ----------------------------------------------------------------------------------


def page_bytes() -> None:
    from flask import render_template_string

    app = Flask(__name__)
    app.config.update(PASSLOCK_TENANCY_ID="t", PASSLOCK_API_KEY="k", SECRET_KEY="x")
    Passlock(app)
    js = (ROOT / "flask_passlock/static/passlock/passlock.js").read_bytes()
    with app.test_request_context():
        html = render_template_string(
            '{% import "passlock/macros.html" as p %}{{ p.register_button(username="ada") }}'
        ).encode()
    print("\nWhat the macros add to a page (unminified, uncompressed)")
    print(
        f"  register_button HTML {len(html):,} B + passlock.js {len(js):,} B = "
        f"{len(html) + len(js):,} B (target <= 10,240 B)"
    )


# -- multi-worker load -------------------------------------------------------------------------


def load_case(database_url: str, emulator: PasslockEmulator, seconds: float, clients: int) -> None:
    from example_app import create_app, db

    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, **emulator.app_config()})
    with app.app_context():
        db.drop_all()
        db.create_all()
        db.engine.dispose()
    env = dict(os.environ, DATABASE_URL=database_url, SECRET_KEY="load", **emulator.app_config())
    server = gunicorn_server("example_app:create_app()", env=env, cwd=ROOT, workers=4)
    try:
        with server as base:
            passkeys = []
            for i in range(clients):
                s = requests.Session()
                s.headers["Origin"] = base
                s.post(base + "/signup", data={"username": f"load-{i}"})
                issued = emulator.issue_code()
                assert (
                    s.post(base + "/passkey/register", json={"code": issued.code}).status_code
                    == 201
                )
                passkeys.append(issued.authenticator_id)
            deadline = time.monotonic() + seconds
            lock = threading.Lock()
            samples: list[tuple[float, float]] = []
            errors: list[int] = []

            def worker(i: int) -> None:
                session = requests.Session()
                while time.monotonic() < deadline:
                    code = emulator.issue_code(authenticator_id=passkeys[i]).code
                    t = time.perf_counter()
                    r = session.post(
                        base + "/passkey/login", json={"code": code}, headers={"Origin": base}
                    )
                    elapsed = time.perf_counter() - t
                    with lock:
                        samples.append((time.monotonic(), elapsed))
                        if r.status_code != 200:
                            errors.append(r.status_code)

            start = time.monotonic()
            with ThreadPoolExecutor(clients) as pool:
                list(pool.map(worker, range(clients)))
            total = time.monotonic() - start
            half = start + total / 2
            first = [e for when, e in samples if when < half]
            second = [e for when, e in samples if when >= half]
            print(
                f"\nLoad: gunicorn 4 workers, {clients} concurrent sign-ins for {seconds:.0f} s "
                f"({urlsplit(database_url).scheme})"
            )
            rate = len(samples) / total
            print(f"  {len(samples)} requests, {rate:.0f} req/s, errors: {len(errors)}")
            for name, part in (("first half", first), ("second half", second)):
                if part:
                    print(
                        f"  {name:<12} p50 {percentile(part, 0.5) * 1000:6.1f} ms   "
                        f"p99 {percentile(part, 0.99) * 1000:6.1f} ms"
                    )
    finally:
        with app.app_context():
            db.drop_all()
            db.engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes (a smoke run)")
    parser.add_argument(
        "--database",
        default=os.environ.get("PASSLOCK_TEST_DATABASE_URL"),
        help="SQLAlchemy URL (default: PASSLOCK_TEST_DATABASE_URL, else a SQLite file)",
    )
    parser.add_argument(
        "--rtt", type=float, default=0.020, help="added round trip (s), default 0.020"
    )
    args = parser.parse_args(argv)
    quick = args.quick
    n_loop, n_link = (20, 8) if quick else (300, 100)
    workdir = Path(tempfile.mkdtemp(prefix="passlock-bench-"))
    sqlite_url = f"sqlite:///{workdir / 'bench.sqlite'}"
    database = args.database or sqlite_url
    print(f"Flask-Passlock benchmark  {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC")
    print(
        f"machine: {platform.platform()}, Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs; database: {urlsplit(database).scheme}"
    )

    with PasslockEmulator() as emulator:
        app, db, _, Authenticator = build_app(database, emulator.app_config())  # noqa: N806
        loop = register_cases(app, db, Authenticator, emulator, n_loop)
        loop_ratios = print_register(f"Register POST, plain loopback (n={n_loop})", loop)
        with app.app_context():
            db.drop_all()
            db.engine.dispose()

    cert, key = self_signed_certificate(workdir)
    os.environ["REQUESTS_CA_BUNDLE"] = cert
    with PasslockEmulator(tls=(cert, key)) as emulator:
        proxy = LatencyProxy(("127.0.0.1", emulator.port), args.rtt)
        config = dict(emulator.app_config(), PASSLOCK_ENDPOINT=f"https://127.0.0.1:{proxy.port}/")
        app, db, _, Authenticator = build_app(database, config)  # noqa: N806
        link = register_cases(app, db, Authenticator, emulator, n_link)
        link_ratios = print_register(
            f"Register POST, simulated link: TLS + {args.rtt * 1000:.0f} ms RTT (n={n_link})", link
        )
        print(f"  TCP connections through the link: {proxy.connections}")
        proxy.close()
        with app.app_context():
            db.drop_all()
            db.engine.dispose()

    with PasslockEmulator() as emulator:
        signin_case(database, emulator, 20 if quick else 300)
        page_bytes()
        sizes = [1_000, 10_000] if quick else [1_000, 100_000, 1_000_000]
        lookup_case(sqlite_url, sizes, 200 if quick else 2000)
        if args.database:
            lookup_case(args.database, sizes, 200 if quick else 2000)
        try:
            import gunicorn  # noqa: F401
        except ImportError:
            print("\nLoad: skipped (gunicorn is not installed)")
        else:
            load_case(database, emulator, 2 if quick else 20, 4 if quick else 16)

    print("\nTargets")
    print(
        f"  link:     throughput (b)/(a) {link_ratios['throughput b/a']:.2f}x (target >= 3), "
        f"latency (b)/(c) {link_ratios['latency p50 b/c']:.3f}x (target <= 1.15)"
    )
    print(f"  loopback: throughput (b)/(a) {loop_ratios['throughput b/a']:.2f}x (target >= 1.3)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
