"""HTTP plumbing of the REST client: a total deadline per call, and telling a request that
never reached Passlock apart from one that did.

``requests`` (and urllib3 under it) only bound each socket operation: a server that sends an
answer one byte at a time keeps a call going for as long as it likes. Here every call gets a
:class:`Deadline`; one watchdog thread shuts down the call's socket when it passes, so the
blocked read returns at once, whatever phase the call is in (connecting, waiting for the
status line, reading headers or body).

The connection pools record, per call, whether the connection was reused from the pool:
a reused keep-alive connection that the server closed while it sat idle fails before a single
byte of an answer arrives, and only then may a call be sent again (see
:func:`never_reached_server`).
"""

from __future__ import annotations

import heapq
import http.client
import ipaddress
import itertools
import logging
import os
import re
import socket
import threading
import time
from typing import Any

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

_current = threading.local()


class Deadline:
    """The end of one call; :meth:`expire` aborts it by shutting its socket down."""

    def __init__(self, seconds: float) -> None:
        self.at = time.monotonic() + seconds
        #: Set by the watchdog once the deadline passed.
        self.expired = False
        #: Whether the connection used came from the pool (kept alive from an earlier call).
        self.reused = False
        self._socket: Any = None
        self._done = False

    def remaining(self) -> float:
        return max(0.0, self.at - time.monotonic())

    def attach(self, connection: Any) -> None:
        """Called by the pool with the connection the call is about to use (its socket, if
        it is kept alive from an earlier call; a new one reports its socket on connecting)."""
        self._socket = getattr(connection, "sock", None)
        self.reused = self._socket is not None

    def connected(self, sock: Any) -> None:
        """Called by a new connection with its socket, once connected. The socket is kept
        here: an answer with ``Connection: close`` takes it off the connection (http.client
        hands it to the response), and the deadline must still reach it."""
        self._socket = sock
        if self.expired:
            self._shut(sock)

    def expire(self) -> None:
        if self._done:
            return
        self.expired = True
        self._shut(self._socket)

    @staticmethod
    def _shut(sock: Any) -> None:
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def __enter__(self) -> Deadline:
        _current.deadline = self
        _WATCHDOG.watch(self)
        return self

    def __exit__(self, *exc: object) -> None:
        self._done = True
        _current.deadline = None


class _Watchdog:
    """One daemon thread that expires deadlines in time order."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Deadline]] = []
        self._counter = itertools.count()
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None

    def watch(self, deadline: Deadline) -> None:
        with self._wake:
            heapq.heappush(self._heap, (deadline.at, next(self._counter), deadline))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="passlock-deadlines", daemon=True
                )
                self._thread.start()
            elif deadline is self._heap[0][2]:
                self._wake.notify()

    def _run(self) -> None:
        while True:
            with self._wake:
                while self._heap and self._heap[0][2]._done:
                    heapq.heappop(self._heap)
                if not self._heap:
                    self._wake.wait()
                    continue
                wait = self._heap[0][0] - time.monotonic()
                if wait > 0:
                    self._wake.wait(wait)
                    continue
                deadline = heapq.heappop(self._heap)[2]
            deadline.expire()

    def _after_fork(self) -> None:
        self._heap = []
        self._wake = threading.Condition()
        self._thread = None


_WATCHDOG = _Watchdog()
if hasattr(os, "register_at_fork"):  # a forked worker starts its own watchdog thread
    os.register_at_fork(after_in_child=_WATCHDOG._after_fork)


class _DeadlinePool:
    """Hands the connection a call uses to that call's :class:`Deadline`."""

    def _get_conn(self, timeout: float | None = None) -> Any:
        connection = super()._get_conn(timeout)  # type: ignore[misc]
        deadline = getattr(_current, "deadline", None)
        if deadline is not None:
            deadline.attach(connection)
        return connection


class _ReportsSocket:
    """Tells the current deadline the socket of a connection it just opened."""

    sock: Any

    def connect(self) -> None:
        super().connect()  # type: ignore[misc]
        deadline = getattr(_current, "deadline", None)
        if deadline is not None:
            deadline.connected(self.sock)


class _HTTPConnection(_ReportsSocket, HTTPConnection):
    pass


class _HTTPSConnection(_ReportsSocket, HTTPSConnection):
    pass


class _HTTPPool(_DeadlinePool, HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(_DeadlinePool, HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


class DeadlineAdapter(HTTPAdapter):
    """A :class:`requests.adapters.HTTPAdapter` whose pools report to the current deadline."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}


#: Failures that happen before a server has read a request on a connection it had closed.
_NEVER_ANSWERED = (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError)


def never_reached_server(error: BaseException) -> bool:
    """Whether ``error`` (raised before any answer arrived) says the connection was closed
    under the request: the server closed it while idle, so it never processed the request."""
    seen: set[int] = set()
    stack: list[Any] = [error]
    while stack:
        current = stack.pop()
        if not isinstance(current, BaseException) or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, _NEVER_ANSWERED):
            return True
        stack.extend([current.__cause__, current.__context__, *current.args])
    return False


def loopback(host: str) -> bool:
    """Whether ``host`` names this machine (``localhost``, ``127.0.0.0/8``, ``::1``)."""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


#: A code in a URL that urllib3 logs.
_SECRET_PATH_RE = re.compile(r"(/principal/)[^/?#\s\"]+")
#: Longest connect wait, however long the total deadline.
MAX_CONNECT_TIMEOUT = 3.05


class RedactCodes(logging.Filter):
    """Masks codes in the URLs that urllib3 logs at DEBUG (``/principal/{code}``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                _SECRET_PATH_RE.sub(r"\1[redacted]", arg) if isinstance(arg, str) else arg
                for arg in record.args
            )
        if isinstance(record.msg, str) and "/principal/" in record.msg:
            record.msg = _SECRET_PATH_RE.sub(r"\1[redacted]", record.msg)
        return True


def install_log_redaction() -> None:
    """Put :class:`RedactCodes` on urllib3's logger (once)."""
    logger = logging.getLogger("urllib3.connectionpool")
    if not any(isinstance(f, RedactCodes) for f in logger.filters):
        logger.addFilter(RedactCodes())


def parse_timeout(value: object) -> tuple[float, float]:
    """``(connect, total)`` seconds from a number (the total) or a ``(connect, total)`` pair;
    :class:`ValueError` for anything else."""

    def positive(v: object) -> bool:
        return isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0

    if positive(value):
        total = float(value)  # type: ignore[arg-type]
        return (min(MAX_CONNECT_TIMEOUT, total), total)
    if isinstance(value, (tuple, list)) and len(value) == 2 and all(map(positive, value)):
        connect, total = float(value[0]), float(value[1])
        return (min(connect, total), total)
    raise ValueError(
        f"the timeout must be a positive number of seconds or a (connect, total) pair, "
        f"got {value!r}"
    )
