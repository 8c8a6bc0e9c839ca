"""Flask-Passlock benchmark: register, sign-up and sign-in, side by side with the recipes.

    python benchmarks/run.py [--quick] [--database-url URL] [--rtt SECONDS] [--rounds N]

In one run, for register, sign-up and sign-in: the naive recipe from Passlock's docs (a fresh
``requests.get`` per code exchange), the session recipe (one module-level
``requests.Session``), Flask-Passlock by code and by id_token, a bare Flask + Flask-Login route
doing the same database writes, and the floor; over plain loopback and over a simulated link
(TLS 1.3, +RTT, handshake charged), on SQLite and on PostgreSQL when a URL is given. The
variants are interleaved in shuffled rounds; compare them by the ratios, which are taken
within the run. Then: JWKS downloads during a burst of sign-ins right after start, page
weight, lookups by id at up to 1M rows, and a multi-worker load run.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import os
import platform
import random
import secrets
import shlex
import socket
import sqlite3
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import requests  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from apps import (  # noqa: E402
    Bench,
    Floor,
    build_app,
    create_tables,
    drop_tables,
    internals,
    link_passkey,
)
from flask import Flask  # noqa: E402
from netsim import LinkProcess, self_signed_certificate  # noqa: E402

from flask_passlock import Passlock  # noqa: E402
from flask_passlock.emulator import PasslockEmulator  # noqa: E402

ORIGIN = {"Origin": "http://localhost"}
DATABASE_ENV = "PASSLOCK_BENCH_DATABASE_URL"

OPS = ("register", "signup", "login")
OP_TITLES = {
    "register": "register (POST /passkey/register, signed in)",
    "signup": "sign-up (POST /passkey/signup)",
    "login": "sign-in (POST /passkey/login)",
}
#: Variant key -> row label. "naive" and "floor" are the references of the ratio columns.
VARIANTS = {
    "naive": "naive recipe, code",
    "session": "session recipe, code",
    "code": "passlock, code",
    "id_token": "passlock, id_token",
    "bare": "bare Flask+Login",
    "floor": "floor",
}
LEGEND = (
    "calls: requests to Passlock per request (code exchanges, JWKS downloads); conns: new",
    "connections to Passlock per request; cpu ms: CPU time of the thread serving the request",
    "(median; the load of other processes barely moves it); thr x: throughput over the",
    "reference's (median of per-round ratios; higher is better); p50 x / p95 x: latency over",
    "the reference's (lower is better). naive recipe: a fresh requests.get per code exchange,",
    "as in Passlock's docs; session recipe: the same with one module-level requests.Session;",
    "bare: Flask + Flask-Login doing the id_token path's database writes, without verifying",
    "anything; floor: a GET on an open http.client connection and Core statements, no Flask.",
)
STATUS = {"register": 201, "signup": 201, "login": 200}
PACKAGES = (
    "flask-passlock",
    "Flask",
    "Werkzeug",
    "Flask-Login",
    "Flask-SQLAlchemy",
    "SQLAlchemy",
    "requests",
    "urllib3",
    "PyJWT",
    "cryptography",
    "psycopg",
)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


# -- what was measured, where -----------------------------------------------------------------


def command_line(database_from_env: bool) -> str:
    python = sys.executable
    try:
        relative = os.path.relpath(python)
        if not relative.startswith(".."):
            python = relative
    except ValueError:
        pass
    words = [python, *sys.argv]
    if not database_from_env:
        return shlex.join(words)
    return f"{DATABASE_ENV}={shlex.quote(hidden(os.environ[DATABASE_ENV]))} " + shlex.join(words)


def hidden(url: str) -> str:
    """A database URL without its password."""
    return sa.make_url(url).render_as_string(hide_password=True)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    memory = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = f", {int(line.split()[1]) / 1024**2:.0f} GiB"
                break
    except OSError:
        pass
    return f"{platform.platform()}, {cpu}, {os.cpu_count()} CPUs{memory}"


def versions() -> str:
    found = []
    for name in PACKAGES:
        try:
            found.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            continue
    return ", ".join(found)


def git_revision() -> str:
    try:
        head = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "--", "flask_passlock", "benchmarks"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + (" with local changes" if dirty else "")


def database_version(url: str) -> str:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            if engine.dialect.name == "postgresql":
                return "PostgreSQL " + str(conn.execute(sa.text("SHOW server_version")).scalar())
            return f"{engine.dialect.name} {sqlite3.sqlite_version}"
    finally:
        engine.dispose()


def print_header(databases: list[str], from_env: bool) -> None:
    print(f"Flask-Passlock benchmark  {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC")
    print(f"command:  {command_line(from_env)}")
    print(f"machine:  {machine()}; load average {os.getloadavg()[0]:.2f} at start")
    print(
        f"python:   {platform.python_implementation()} {platform.python_version()}, "
        f"{ssl.OPENSSL_VERSION}"
    )
    print(f"packages: {versions()}")
    print(f"source:   git {git_revision()}")
    print("database: " + "; ".join(database_version(url) for url in databases))


# -- where Passlock is --------------------------------------------------------------------------


@dataclass
class Network:
    """Where the app finds Passlock: the emulator on loopback, or behind the simulated link."""

    name: str
    emulator: PasslockEmulator
    config: dict[str, str]
    cafile: str | None = None
    note: str = ""


def calibrate(network: Network, rtt: float, samples: int = 15) -> str:
    """The link's cost as a client sees it, in round trips: a fresh ``requests.get`` (TCP +
    TLS + request) and a ``requests.Session`` call on a kept-alive connection."""
    url = network.config["PASSLOCK_ENDPOINT"] + "calibrate"  # any path: a 404 answer
    fresh, pooled = [], []
    session = requests.Session()
    session.get(url, timeout=10)
    for _ in range(samples):
        start = time.perf_counter()
        requests.get(url, timeout=10)
        fresh.append(time.perf_counter() - start)
        start = time.perf_counter()
        session.get(url, timeout=10)
        pooled.append(time.perf_counter() - start)
    session.close()
    host, port = network.config["PASSLOCK_ENDPOINT"].split("//")[1].rstrip("/").split(":")
    context = ssl.create_default_context(cafile=network.cafile)
    with socket.create_connection((host, int(port))) as raw:
        with context.wrap_socket(raw, server_hostname=host) as tls:
            version = tls.version()
    f, p = statistics.median(fresh), statistics.median(pooled)
    return (
        f"{version}, +{rtt * 1000:.0f} ms RTT: a fresh requests.get costs {f * 1000:.1f} ms "
        f"({f / rtt:.2f} RTT), a pooled Session.get {p * 1000:.1f} ms ({p / rtt:.2f} RTT)"
    )


# -- the side-by-side ---------------------------------------------------------------------------


@dataclass
class Cell:
    """One variant of one operation in one block: every latency, and each round's rate."""

    latencies: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    rates: list[float] = field(default_factory=list)
    calls: int = 0
    connections: int = 0


@dataclass
class Block:
    network: str
    database: str
    note: str
    rounds: int
    batch: int
    cells: dict[tuple[str, str], Cell]
    load: tuple[float, float] = (0.0, 0.0)


def signed_in(app: Flask) -> Any:
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = "1"
        session["_fresh"] = True
    return client


def poster(app: Flask, path: str, status: int, client: Any = None) -> Callable[[Any], None]:
    """One POST through the test client (a fresh, anonymous one unless ``client`` is given)."""

    def call(body: Any) -> None:
        response = (client or app.test_client()).post(path, json=body, headers=ORIGIN)
        if response.status_code != status:
            text = response.get_data(as_text=True)[:300]
            raise RuntimeError(f"{path}: HTTP {response.status_code} {text}")

    return call


def variants(
    op: str,
    code_app: Bench,
    token_app: Bench,
    floor: Floor,
    emulator: PasslockEmulator,
    passkey: str,
) -> dict[str, tuple[Callable[[], Any], Callable[[Any], None]]]:
    """Variant key -> (make one request's input, outside the clock; send it)."""
    names = itertools.count()
    status = STATUS[op]
    register = op == "register"
    code_client = signed_in(code_app.app) if register else None
    token_client = signed_in(token_app.app) if register else None

    def ceremony() -> Any:  # what the browser holds after registerPasskey / authenticatePasskey
        if op == "login":
            return emulator.issue_code(authenticator_id=passkey)
        return emulator.issue_code()

    def body(**fields: str) -> dict[str, str]:
        if op == "signup":
            fields["username"] = f"user-{secrets.token_hex(6)}-{next(names)}"
        return fields

    def by_code() -> dict[str, str]:
        return body(code=ceremony().code)

    def by_token() -> dict[str, str]:
        return body(id_token=ceremony().id_token)

    def bare_input() -> dict[str, str]:
        authenticator = passkey if op == "login" else secrets.token_urlsafe(16)
        return body(authenticator_id=authenticator, jti=secrets.token_urlsafe(16))

    def floor_call(data: dict[str, str]) -> None:
        if op == "signup":
            floor.signup(data["code"], data["username"])
        else:
            getattr(floor, op)(data["code"])

    app, client = code_app.app, code_client
    return {
        "naive": (by_code, poster(app, f"/recipe/naive/{op}", status, client)),
        "session": (by_code, poster(app, f"/recipe/session/{op}", status, client)),
        "code": (by_code, poster(app, f"/passkey/{op}", status, client)),
        "id_token": (by_token, poster(token_app.app, f"/passkey/{op}", status, token_client)),
        "bare": (bare_input, poster(app, f"/bare/{op}", status, client)),
        "floor": (by_code, floor_call),
    }


def run_block(
    network: Network,
    database_url: str,
    rounds: int,
    batch: int,
    rng: random.Random,
    warm: int = 3,
) -> Block:
    """Every operation x variant, ``rounds`` times ``batch`` requests, in shuffled order."""
    emulator = network.emulator
    load_before = os.getloadavg()[0]
    code_app = build_app(database_url, network.config, verify_id_token=False)
    token_app = build_app(database_url, network.config, verify_id_token=True)
    create_tables(code_app)
    passkey = emulator.issue_code().authenticator_id
    link_passkey(code_app, passkey)
    floor = Floor(code_app, network.cafile)
    try:
        table = {
            (op, key): pair
            for op in OPS
            for key, pair in variants(op, code_app, token_app, floor, emulator, passkey).items()
        }
        for make, send in table.values():  # warm: pools, JWKS, compiled statements
            for _ in range(warm):
                send(make())
        cells = {pair: Cell() for pair in table}
        gc.collect()
        gc.freeze()  # long-lived objects out of the collector's way; it still runs as usual
        seen_peers = set(emulator.peers)
        order = list(table)
        for _ in range(rounds):
            rng.shuffle(order)
            for pair in order:
                make, send = table[pair]
                inputs = [make() for _ in range(batch)]
                cell = cells[pair]
                calls, peers = len(emulator.requests), len(emulator.peers)
                started = time.perf_counter()
                for data in inputs:
                    t, c = time.perf_counter(), time.thread_time()
                    send(data)
                    cell.latencies.append(time.perf_counter() - t)
                    cell.cpu.append(time.thread_time() - c)
                cell.rates.append(batch / (time.perf_counter() - started))
                cell.calls += len(emulator.requests) - calls
                new = set(emulator.peers[peers:]) - seen_peers
                cell.connections += len(new)
                seen_peers |= new
    finally:
        gc.unfreeze()
        floor.close()
        drop_tables(code_app)
        drop_tables(token_app)
    return Block(
        network.name,
        sa.make_url(database_url).get_backend_name(),
        network.note,
        rounds,
        batch,
        cells,
        (load_before, os.getloadavg()[0]),
    )


# -- the table ----------------------------------------------------------------------------------


def rate_ratio(cell: Cell, reference: Cell) -> float:
    """Median over rounds of this round's throughput over the reference's in the same round."""
    return statistics.median(a / b for a, b in zip(cell.rates, reference.rates, strict=True))


def rate_ratio_range(cell: Cell, reference: Cell) -> tuple[float, float]:
    ratios = [a / b for a, b in zip(cell.rates, reference.rates, strict=True)]
    return min(ratios), max(ratios)


def latency_ratio(cell: Cell, reference: Cell, q: float) -> float:
    return percentile(cell.latencies, q) / percentile(reference.latencies, q)


def fmt_ratio(value: float) -> str:
    return f"{value:6.2f}" if value < 9.995 else f"{value:6.1f}"


def print_table(blocks: list[Block]) -> None:
    print("\nSide by side: one worker, sequential; ratios within each block (x = times)")
    head1 = f"  {'':<23}{'Passlock':>12}{'p50':>8}{'cpu':>8} |{'vs naive recipe':^20}|"
    head1 += f"{'vs floor':^20}|{'vs bare':^7}"
    head2 = f"  {'variant':<23}{'calls':>6}{'conns':>6}{'ms':>8}{'ms':>8} |"
    head2 += (" thr x" + " p50 x" + " p95 x" + "  |") * 2 + " p50 x"
    for block in blocks:
        n = block.rounds * block.batch
        print(
            f"\n{block.network}, {block.database}: {block.rounds} rounds x {block.batch} "
            f"requests per variant (n={n}); load average {block.load[0]:.1f} -> {block.load[1]:.1f}"
        )
        if block.note:
            print(f"  {block.note}")
        print(head1)
        print(head2)
        for op in OPS:
            print(f"  {OP_TITLES[op]}")
            naive, floor, bare = (block.cells[op, key] for key in ("naive", "floor", "bare"))
            for key, label in VARIANTS.items():
                cell = block.cells[op, key]
                count = len(cell.latencies)
                row = f"    {label:<21}{cell.calls / count:>6.2f}{cell.connections / count:>6.2f}"
                row += f"{percentile(cell.latencies, 0.5) * 1000:>8.2f}"
                row += f"{statistics.median(cell.cpu) * 1000:>8.2f} |"
                for reference in (naive, floor):
                    row += fmt_ratio(rate_ratio(cell, reference))
                    row += fmt_ratio(latency_ratio(cell, reference, 0.5))
                    row += fmt_ratio(latency_ratio(cell, reference, 0.95)) + "  |"
                row += fmt_ratio(latency_ratio(cell, bare, 0.5))
                print(row)
    print()
    for line in LEGEND:
        print("  " + line)


def print_targets(blocks: list[Block]) -> None:
    print("\nTargets (median of per-round ratios, [lowest-highest round])")
    for block in blocks:
        if not block.network.startswith("link"):
            continue
        register = {key: block.cells["register", key] for key in VARIANTS}
        naive = register["naive"]
        against_naive = {
            key: f"{rate_ratio(cell, naive):.2f}x [%.2f-%.2f]" % rate_ratio_range(cell, naive)
            for key, cell in register.items()
        }

        for key, goal, others in (
            ("id_token", 15.0, ("bare",)),
            ("code", 2.5, ("session", "floor")),
        ):
            value = rate_ratio(register[key], naive)
            verdict = "met" if value >= goal else "NOT met"
            print(
                f"  {block.database:<10} {key} register on the link: throughput "
                f"{against_naive[key]} the naive recipe's (target >= {goal:g}: {verdict})"
            )
            beside = "; ".join(f"{VARIANTS[other]} {against_naive[other]}" for other in others)
            print(f"  {'':<10} beside it: {beside}")
    for block in blocks:
        cell, bare = block.cells["register", "id_token"], block.cells["register", "bare"]
        p50, p95 = latency_ratio(cell, bare, 0.5), latency_ratio(cell, bare, 0.95)
        cpu = statistics.median(cell.cpu) / statistics.median(bare.cpu)
        verdict = "met" if p50 <= 1.3 else "NOT met"
        where = "the link" if block.network.startswith("link") else "loopback"
        print(
            f"  {block.database:<10} id_token register latency on {where}: p50 {p50:.2f}x, "
            f"p95 {p95:.2f}x (cpu {cpu:.2f}x) the bare route's (target p50 <= 1.3: {verdict})"
        )


# -- JWKS downloads under a burst ---------------------------------------------------------------


def jwks_burst(network: Network, database_url: str, count: int, threads: int) -> None:
    """``count`` id_token sign-ins from ``threads`` threads, released together on an app
    that has served nothing yet: how many times is the key set downloaded?"""
    emulator = network.emulator
    before = len(emulator.requests)
    bench = build_app(database_url, network.config, verify_id_token=True)
    create_tables(bench)
    passkeys = []
    for i in range(threads):
        passkey = emulator.issue_code(username=f"burst-{i}").authenticator_id
        link_passkey(bench, passkey)
        passkeys.append(passkey)
    tokens = [
        [
            emulator.issue_code(authenticator_id=passkeys[t]).id_token
            for _ in range(count // threads)
        ]
        for t in range(threads)
    ]
    for i in range(count % threads):
        tokens[i].append(emulator.issue_code(authenticator_id=passkeys[i]).id_token)
    statuses: Counter[int] = Counter()
    lock = threading.Lock()
    start = threading.Barrier(threads)

    def worker(mine: list[str]) -> None:
        start.wait()
        for token in mine:
            client = bench.app.test_client()
            status = client.post("/passkey/login", json={"id_token": token}, headers=ORIGIN)
            with lock:
                statuses[status.status_code] += 1

    began = time.perf_counter()
    try:
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(worker, tokens))
        elapsed = time.perf_counter() - began
        served = emulator.requests[before:]
    finally:
        drop_tables(bench)
    downloads = sum(1 for _, uri in served if uri.split("?")[0] == "/.well-known/jwks.json")
    exchanges = sum(1 for _, uri in served if "/principal/" in uri)
    answers = ", ".join(f"HTTP {code}: {n}" for code, n in sorted(statuses.items()))
    verdict = "as required" if downloads == 1 else "NOT the required 1"
    print(
        f"\nJWKS under a burst ({network.name}, {sa.make_url(database_url).get_backend_name()}):"
        f" {count} id_token sign-ins from {threads} threads released together on an app that"
        " had served nothing"
    )
    print(f"  {answers}; {count / elapsed:.0f} sign-ins/s")
    print(
        f"  JWKS downloads seen by Passlock: {downloads} ({verdict}); code exchanges: {exchanges}"
    )


# -- page weight ----------------------------------------------------------------------------------


def page_bytes() -> None:
    import gzip

    from flask import render_template_string

    app = Flask(__name__)
    app.config.update(PASSLOCK_TENANCY_ID="t", PASSLOCK_API_KEY="k", SECRET_KEY="x")
    Passlock(app)
    script = (ROOT / "flask_passlock/static/passlock/passlock.js").read_bytes()
    with app.test_request_context():
        html = render_template_string(
            '{% import "passlock/macros.html" as p %}{{ p.register_button(username="ada") }}'
        ).encode()

    def sizes(data: bytes) -> str:
        return f"{len(data):,} B ({len(gzip.compress(data, 6)):,} B gzipped)"

    print("\nWhat the macros add to a page (unminified)")
    print(f"  register_button HTML, in every page:      {sizes(html)}")
    print(f"  passlock.js, one static file, cacheable:  {sizes(script)}")
    total = len(html) + len(script)
    verdict = "met" if total <= 10_240 else "NOT met"
    print(f"  together {total:,} B uncompressed (target <= 10,240 B: {verdict})")


# -- authenticator lookups ------------------------------------------------------------------------


def lookup_case(database_url: str, sizes: list[int], lookups: int) -> None:
    bench = build_app(
        database_url, {"PASSLOCK_TENANCY_ID": "t", "PASSLOCK_API_KEY": "k"}, verify_id_token=False
    )
    create_tables(bench)
    db = bench.db
    extension = internals(bench.app).extension
    print(f"\nAuthenticator lookup by id ({sa.make_url(database_url).get_backend_name()})")
    with bench.app.app_context():
        dialect = db.engine.dialect.name
        table = bench.Authenticator.__table__.name
        loaded = 0
        for size in sizes:
            columns = f"INSERT INTO {table} (id, user_id, created_at, user_verified, label) "
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
                db.session.execute(sa.text(f"ANALYZE {table}"))
                db.session.commit()
            loaded = size
            ids = [f"pk-{(i * 7919) % size + 1}" for i in range(lookups)]
            start = time.perf_counter()
            for authenticator_id in ids:
                db.session.expunge_all()
                assert extension.store.find_authenticator(authenticator_id) is not None
            per = (time.perf_counter() - start) / lookups * 1e6
            print(f"  {size:>9,} rows: {per:7.1f} us per lookup")
        explain = "EXPLAIN QUERY PLAN " if dialect == "sqlite" else "EXPLAIN "
        plan = db.session.execute(sa.text(explain + f"SELECT * FROM {table} WHERE id = 'pk-1'"))
        print("  plan: " + " | ".join(" ".join(str(v) for v in row) for row in plan.all()))
        db.session.rollback()
    drop_tables(bench)


# -- multi-worker load -------------------------------------------------------------------------


def load_case(database_url: str, emulator: PasslockEmulator, seconds: float, clients: int) -> None:
    """Sign-ins by id_token (``PASSLOCK_VERIFY_ID_TOKEN=1``) against the example app under
    gunicorn with 4 workers."""
    from example_app import create_app, db
    from flask_passlock.testing import gunicorn_server

    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, **emulator.app_config()})
    with app.app_context():
        db.drop_all()
        db.create_all()
        db.engine.dispose()
    env = dict(
        os.environ,
        DATABASE_URL=database_url,
        SECRET_KEY="load",
        PASSLOCK_VERIFY_ID_TOKEN="1",
        **emulator.app_config(),
    )
    server = gunicorn_server("example_app:create_app()", env=env, cwd=ROOT, workers=4)
    try:
        with server as base:
            passkeys = []
            for i in range(clients):
                s = requests.Session()
                s.headers["Origin"] = base
                s.post(base + "/signup", data={"username": f"load-{i}"})
                issued = emulator.issue_code()
                response = s.post(base + "/passkey/register", json={"code": issued.code})
                assert response.status_code == 201, response.text
                passkeys.append(issued.authenticator_id)
            deadline = time.monotonic() + seconds
            lock = threading.Lock()
            samples: list[tuple[float, float]] = []
            errors: list[int] = []
            before = len(emulator.requests)

            def worker(i: int) -> None:
                session = requests.Session()
                while time.monotonic() < deadline:
                    token = emulator.issue_code(authenticator_id=passkeys[i]).id_token
                    t = time.perf_counter()
                    r = session.post(
                        base + "/passkey/login",
                        json={"id_token": token},
                        headers={"Origin": base},
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
            calls = len(emulator.requests) - before
            half = start + total / 2
            first = [e for when, e in samples if when < half]
            second = [e for when, e in samples if when >= half]
            print(
                f"\nLoad: gunicorn 4 workers, {clients} concurrent id_token sign-ins for "
                f"{seconds:.0f} s ({sa.make_url(database_url).get_backend_name()})"
            )
            rate = len(samples) / total
            print(
                f"  {len(samples)} requests, {rate:.0f} req/s, errors: {len(errors)}, "
                f"requests to Passlock: {calls} (JWKS, once per worker)"
            )
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


# -- main -----------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="a smoke run: a few requests, loopback only"
    )
    parser.add_argument(
        "--database-url",
        default=None,
        help=f"SQLAlchemy URL of a second database, e.g. PostgreSQL (default: ${DATABASE_ENV})",
    )
    parser.add_argument(
        "--rtt", type=float, default=0.020, help="round trip added by the link (s), default 0.020"
    )
    parser.add_argument("--rounds", type=int, default=None, help="rounds per block")
    parser.add_argument("--seed", type=int, default=1, help="seed of the shuffled order")
    args = parser.parse_args(argv)
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    from_env = args.database_url is None and bool(os.environ.get(DATABASE_ENV))
    database_url = args.database_url or os.environ.get(DATABASE_ENV) or None
    quick = args.quick
    workdir = Path(tempfile.mkdtemp(prefix="passlock-bench-"))
    sqlite_url = f"sqlite:///{workdir / 'bench.sqlite'}"
    databases = [sqlite_url] + ([database_url] if database_url else [])
    rng = random.Random(args.seed)
    print_header(databases, from_env)

    with ExitStack() as stack:
        emulator = stack.enter_context(PasslockEmulator())
        networks = [Network("loopback", emulator, emulator.app_config())]
        if not quick:
            cert, key = self_signed_certificate(workdir)
            os.environ["REQUESTS_CA_BUNDLE"] = cert  # read by requests and the extension's client
            remote = stack.enter_context(PasslockEmulator(tls=(cert, key)))
            proxy = stack.enter_context(LinkProcess(("127.0.0.1", remote.port), args.rtt))
            link = Network(
                f"link (TLS, +{args.rtt * 1000:.0f} ms RTT, handshake charged)",
                remote,
                dict(remote.app_config(), PASSLOCK_ENDPOINT=f"https://127.0.0.1:{proxy.port}/"),
                cafile=cert,
            )
            link.note = calibrate(link, args.rtt)
            networks.append(link)

        blocks = []
        for network in networks:
            loopback = network is networks[0]
            rounds = args.rounds or (2 if quick else 60 if loopback else 40)
            batch = 2 if quick else 5 if loopback else 4
            for url in databases:
                blocks.append(run_block(network, url, rounds, batch, rng, 1 if quick else 3))
        print_table(blocks)
        print_targets(blocks)
        jwks_burst(networks[-1], databases[-1], *((24, 4) if quick else (1000, 16)))

        page_bytes()
        sizes = [1_000] if quick else [1_000, 100_000, 1_000_000]
        for url in databases:
            lookup_case(url, sizes, 50 if quick else 2000)
        if quick:
            print("\nLink and load: skipped in --quick")
        else:
            load_case(databases[-1], emulator, 20, 16)
    print(f"\nload average {os.getloadavg()[0]:.2f} at the end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
