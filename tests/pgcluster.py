"""A throwaway PostgreSQL cluster for tests that restart, stop or freeze the database.

:class:`PostgresCluster` runs ``initdb`` in a temporary folder and serves the cluster on a
free loopback port and its own socket folder, so it never touches another server on the
machine. PostgreSQL refuses to run as root: under root (CI) every server command runs as a
non-root user (``PASSLOCK_TEST_PG_USER``, else ``postgres``, else ``nobody``) through
``runuser``, and the folder is handed to that user.

:func:`throwaway_cluster` gives a started cluster for a block and removes it after. Without
``initdb`` and ``pg_ctl`` (on ``PATH`` or under ``/usr/lib/postgresql/*/bin``) it skips with
one line, or fails when the ``CI`` environment variable is set.
"""

from __future__ import annotations

import glob
import json
import os
import pwd
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

#: Settings for a disposable test server: small, and no waiting on the disk.
SERVER_SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "max_connections": "60",
    "shared_buffers": "'16MB'",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "logging_collector": "off",
    "log_min_messages": "warning",
}


def find_bindir() -> Path | None:
    """The folder holding ``initdb``, ``pg_ctl`` and ``postgres``, or ``None``."""
    found = shutil.which("pg_ctl")
    candidates = [Path(found).resolve().parent] if found else []
    candidates += [Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)]
    for folder in candidates:
        if all((folder / name).exists() for name in ("initdb", "pg_ctl", "postgres")):
            return folder
    return None


def server_user() -> str | None:
    """The OS user to run the server as: ``None`` when we are not root (run as ourselves)."""
    if os.geteuid() != 0:
        return None
    for name in (os.environ.get("PASSLOCK_TEST_PG_USER"), "postgres", "nobody"):
        if not name:
            continue
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        return name
    return None


def why_unavailable() -> str | None:
    """Why a throwaway cluster cannot run here, or ``None`` when it can."""
    if find_bindir() is None:
        return "initdb/pg_ctl not found (apt-get install postgresql): throwaway cluster skipped"
    if os.geteuid() == 0 and server_user() is None:
        return (
            "running as root, and no non-root user to run PostgreSQL as: set PASSLOCK_TEST_PG_USER"
        )
    if os.geteuid() == 0 and not (shutil.which("runuser") or shutil.which("su")):
        return "running as root without runuser or su to start PostgreSQL as another user"
    return None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PostgresCluster:
    """One PostgreSQL cluster in a temporary folder, on its own port.

    :meth:`create` makes it (``initdb``); :meth:`start`, :meth:`stop`, :meth:`restart` drive
    it with ``pg_ctl``; :meth:`freeze` / :meth:`thaw` stop and resume the postmaster
    (connections already open keep working, new ones hang: an overloaded or unreachable
    server, as a client sees it); :meth:`destroy` stops it and removes the folder.
    """

    def __init__(self, bindir: Path, root: Path, port: int, user: str | None) -> None:
        self.bindir = bindir
        self.root = root
        self.data = root / "data"
        self.log = root / "server.log"
        self.port = port
        self.user = user

    @classmethod
    def create(cls) -> PostgresCluster:
        bindir = find_bindir()
        if bindir is None:
            raise RuntimeError("initdb/pg_ctl not found")
        user = server_user()
        root = Path(tempfile.mkdtemp(prefix="passlock-pg-"))
        if user is not None:
            entry = pwd.getpwnam(user)
            os.chown(root, entry.pw_uid, entry.pw_gid)
        cluster = cls(bindir, root, free_port(), user)
        cluster._run(
            "initdb",
            "-D",
            str(cluster.data),
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        )
        settings = dict(SERVER_SETTINGS, port=str(cluster.port))
        settings["unix_socket_directories"] = f"'{root}'"
        with open(cluster.data / "postgresql.conf", "a", encoding="utf-8") as conf:
            conf.write("".join(f"{key} = {value}\n" for key, value in settings.items()))
        return cluster

    # -- server commands ----------------------------------------------------------------------

    def _run(self, program: str, *args: str, timeout: float = 60) -> None:
        command = [str(self.bindir / program), *args]
        if self.user is not None:
            if shutil.which("runuser"):
                command = ["runuser", "-u", self.user, "--", *command]
            else:
                command = ["su", self.user, "-s", "/bin/sh", "-c", shlex.join(command)]
        result = subprocess.run(  # noqa: S603 - our own argv
            command,
            cwd=self.root,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"{program} {' '.join(args)} failed ({result.returncode}):\n"
                f"{result.stdout}{result.stderr}\n{self.log_tail()}"
            )

    def _pg_ctl(self, action: str, *args: str) -> None:
        self._run("pg_ctl", action, "-D", str(self.data), "-w", "-t", "30", *args)

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        self._pg_ctl("start", "-l", str(self.log))

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (``fast``: open sessions are cut, as in a real restart)."""
        self.thaw()
        self._pg_ctl("stop", "-m", mode)

    def restart(self, mode: str = "fast") -> None:
        """``pg_ctl restart -m fast``: every session is cut; returns once it accepts
        connections again."""
        self._pg_ctl("restart", "-m", mode, "-l", str(self.log))

    def postmaster_pid(self) -> int | None:
        try:
            return int((self.data / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def freeze(self) -> None:
        """Stop the postmaster process (SIGSTOP): new connections hang in the handshake."""
        pid = self.postmaster_pid()
        if pid is not None:
            os.kill(pid, signal.SIGSTOP)

    def thaw(self) -> None:
        """Resume a frozen postmaster (SIGCONT)."""
        pid = self.postmaster_pid()
        if pid is not None:
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass

    def destroy(self) -> None:
        """Stop the server (if running) and remove its folder."""
        try:
            if self.postmaster_pid() is not None:
                self.stop("immediate")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    # -- databases ----------------------------------------------------------------------------

    def url(self, database: str = "postgres") -> str:
        """A SQLAlchemy URL (psycopg 3) for ``database`` on this cluster."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """Create ``name`` (dropping an older one); returns its URL."""
        engine = sa.create_engine(self.url(), isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        finally:
            engine.dispose()
        return self.url(name)

    def wait_ready(self, timeout: float = 30) -> None:
        """Wait until a new connection succeeds."""
        deadline = time.monotonic() + timeout
        engine = sa.create_engine(self.url(), poolclass=sa.pool.NullPool)
        try:
            while True:
                try:
                    with engine.connect() as conn:
                        conn.execute(sa.text("SELECT 1"))
                    return
                except sa.exc.OperationalError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
        finally:
            engine.dispose()


@contextmanager
def throwaway_cluster() -> Iterator[PostgresCluster]:
    """A started cluster for the block, removed after it; for a fixture::

        @pytest.fixture(scope="module")
        def cluster():
            with throwaway_cluster() as running:
                yield running

    Skips the test (fails it when ``CI`` is set) where no cluster can run.
    """
    reason = why_unavailable()
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    cluster = PostgresCluster.create()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.destroy()


@contextmanager
def reporting_cluster(report: dict[str, Any], artifact: Path) -> Iterator[PostgresCluster]:
    """A throwaway cluster for a test module (gunicorn needed); what the module put in
    ``report`` is written to ``artifact`` (JSON) when it ends."""
    pytest.importorskip("gunicorn")
    with throwaway_cluster() as running:
        yield running
    if report:
        artifact.parent.mkdir(exist_ok=True)
        artifact.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
