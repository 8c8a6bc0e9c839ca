"""The REST client's total deadline, and when a call is sent a second time.

A server that drips its answer defeats a per-read timeout; the deadline covers the whole call.
A pooled keep-alive connection that the server closed while the request was on its way fails
before any byte of an answer: that call (and only that kind of failure) is sent again, once.
"""

from __future__ import annotations

import http.client
import socket
import threading
import time
from collections.abc import Iterator

import pytest
from urllib3.connectionpool import HTTPSConnectionPool

from flask_passlock import PasslockClient, PasslockUnavailable, _transport
from flask_passlock._transport import Deadline, DeadlineAdapter, never_reached_server
from flask_passlock.emulator import Fault

from .loopback import LoopbackServer, Request

PRINCIPAL = (
    b'{"_tag":"ExtendedPrincipal","id":"p1","authenticatorId":"a1","authenticatorType":"passkey",'
    b'"createdAt":1,"expiresAt":2,"userId":"u1","metadata":{}}'
)


def answer(body: bytes = PRINCIPAL) -> bytes:
    return (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    )


class ScriptedServer(LoopbackServer):
    """The n-th request (over all connections) gets the n-th behaviour: ``"answer"``,
    ``"close"`` (read the request, close without a byte), ``"partial"`` (half a status line,
    then close), ``"slow"`` (answer after 0.3 s) or ``"drip-head"`` (the head a byte at a
    time). Connections are kept alive between answers."""

    def __init__(self, script: list[str]) -> None:
        self.script = list(script)
        self.requests = 0
        super().__init__()

    def respond(self, conn: socket.socket, request: Request) -> bool:
        self.requests += 1
        step = self.script.pop(0) if self.script else "answer"
        if step == "close":
            return False
        if step == "partial":
            conn.sendall(b"HTTP/1.1 2")
            return False
        if step == "slow":  # so that two calls overlap (two connections)
            time.sleep(0.3)
        if step == "drip-head":
            for byte in answer():
                conn.sendall(bytes([byte]))
                time.sleep(0.05)
            return True
        conn.sendall(answer())
        return True


@pytest.fixture
def scripted() -> Iterator[type[ScriptedServer]]:
    servers: list[ScriptedServer] = []

    class Server(ScriptedServer):
        def __init__(self, script: list[str]) -> None:
            super().__init__(script)
            servers.append(self)

    yield Server
    for server in servers:
        server.close()


def client_for(server: ScriptedServer, timeout: float | tuple[float, float] = 2.0):
    return PasslockClient("t", "k", endpoint=f"http://127.0.0.1:{server.port}", timeout=timeout)


def test_a_reused_connection_closed_under_the_request_is_sent_again(scripted):
    server = scripted(["answer", "close"])
    with client_for(server) as client:
        assert client.exchange_code("first").authenticator_id == "a1"
        assert client.exchange_code("second").authenticator_id == "a1"  # sent twice
    assert server.requests == 3 and server.connections == 2


def test_a_new_connection_closed_without_an_answer_is_not_sent_again(scripted):
    server = scripted(["close"])
    with client_for(server) as client, pytest.raises(PasslockUnavailable):
        client.exchange_code("code")
    assert server.requests == 1


def test_a_reused_connection_is_sent_again_once_only(scripted):
    server = scripted(["answer", "close", "close"])
    with client_for(server) as client:
        client.exchange_code("first")
        with pytest.raises(PasslockUnavailable):
            client.exchange_code("second")
    assert server.requests == 3


def test_an_answer_cut_off_is_never_sent_again(scripted):
    """Bytes of an answer arrived: Passlock saw the call (the code may be used up)."""
    server = scripted(["answer", "partial"])
    with client_for(server) as client:
        client.exchange_code("first")
        with pytest.raises(PasslockUnavailable):
            client.exchange_code("second")
    assert server.requests == 2


def test_a_dripped_head_is_cut_off_at_the_deadline(scripted):
    server = scripted(["drip-head"])
    started = time.monotonic()
    with client_for(server, timeout=0.5) as client, pytest.raises(PasslockUnavailable) as caught:
        client.exchange_code("code")
    assert time.monotonic() - started < 2.0  # the whole answer would take ~11 s
    assert caught.value.reason == "deadline passed"


def test_a_dripped_body_is_cut_off_at_the_deadline(emulator):
    issued = emulator.issue_code()
    emulator.inject(Fault(drip=0.2))  # the real answer, a byte every 0.2 s: ~60 s in all
    client = PasslockClient(
        emulator.tenancy_id, emulator.api_key, endpoint=emulator.url, timeout=(1.0, 1.0)
    )
    started = time.monotonic()
    with client, pytest.raises(PasslockUnavailable) as caught:
        client.exchange_code(issued.code)
    assert time.monotonic() - started < 2.5
    assert caught.value.reason == "deadline passed"
    with PasslockClient(emulator.tenancy_id, emulator.api_key, endpoint=emulator.url) as other:
        assert other.get_passkey(issued.authenticator_id)["id"] == issued.authenticator_id


def test_deadlines_of_concurrent_calls_are_their_own(emulator):
    """One slow call does not cut off another one that is quick."""
    emulator.inject(Fault(delay=1.5, status=200, body=b"{}", content_type="application/json"))
    client = PasslockClient(
        emulator.tenancy_id, emulator.api_key, endpoint=emulator.url, timeout=1.0
    )
    outcome: dict[str, object] = {}

    def slow() -> None:
        try:
            client.list_passkeys()
        except PasslockUnavailable as error:
            outcome["slow"] = error.reason

    thread = threading.Thread(target=slow)
    thread.start()
    time.sleep(0.1)
    issued = emulator.issue_code()
    assert client.exchange_code(issued.code).authenticator_id == issued.authenticator_id
    thread.join()
    assert outcome["slow"] == "deadline passed"
    client.close()


# -- the parts alone --------------------------------------------------------------------------


class _Sock:
    def __init__(self, fail: bool = False) -> None:
        self.shut: list[int] = []
        self.fail = fail

    def shutdown(self, how: int) -> None:
        self.shut.append(how)
        if self.fail:
            raise OSError("not connected")


class _Connection:
    def __init__(self, sock: object = None) -> None:
        self.sock = sock


def test_a_deadline_counts_down_from_its_start():
    deadline = Deadline(5)
    assert 4 < deadline.remaining() <= 5
    assert deadline.at == pytest.approx(time.monotonic() + 5, abs=1)
    assert Deadline(-1).remaining() == 0.0
    assert (deadline.expired, deadline.reused) == (False, False)


@pytest.mark.parametrize(
    "connection, reused",
    [(_Connection(_Sock()), True), (_Connection(None), False), (object(), False)],
    ids=["kept alive", "new", "no socket attribute"],
)
def test_attach_tells_a_reused_connection(connection, reused):
    deadline = Deadline(5)
    deadline.attach(connection)
    assert deadline.reused is reused


def test_expire_shuts_the_socket_down_both_ways():
    sock = _Sock()
    deadline = Deadline(5)
    deadline.attach(_Connection(sock))
    deadline.expire()
    assert deadline.expired is True
    assert sock.shut == [socket.SHUT_RDWR]


def test_expire_survives_a_socket_already_gone():
    failing = Deadline(5)
    failing.attach(_Connection(_Sock(fail=True)))
    failing.expire()
    assert failing.expired is True
    closed = Deadline(5)
    closed.attach(_Connection(None))
    closed.expire()
    assert closed.expired is True


def test_expire_before_any_connection():
    deadline = Deadline(5)
    deadline.expire()
    assert deadline.expired is True


def test_expire_shuts_the_socket_a_new_connection_reported():
    """A new connection reports its socket on connecting: http.client may take it off the
    connection later (an answer with ``Connection: close``), the deadline keeps it."""
    sock = _Sock()
    deadline = Deadline(5)
    deadline.attach(_Connection(None))
    deadline.connected(sock)
    deadline.expire()
    assert sock.shut == [socket.SHUT_RDWR]


def test_a_connection_made_after_the_deadline_passed_is_shut_at_once():
    sock = _Sock()
    deadline = Deadline(5)
    deadline.expire()
    deadline.connected(sock)
    assert sock.shut == [socket.SHUT_RDWR]


def test_a_connection_outside_a_call_connects():
    listener = socket.create_server(("127.0.0.1", 0))
    connection = _transport._HTTPConnection("127.0.0.1", listener.getsockname()[1])
    errors: list[BaseException] = []

    def connect() -> None:  # a thread that never entered a deadline
        try:
            connection.connect()
        except BaseException as error:  # noqa: BLE001 - reported to the test
            errors.append(error)

    thread = threading.Thread(target=connect)
    thread.start()
    thread.join(5)
    connection.close()
    listener.close()
    assert errors == []


def test_a_finished_call_is_never_expired():
    sock = _Sock()
    with Deadline(5) as deadline:
        assert _transport._current.deadline is deadline
        deadline.attach(_Connection(sock))
    assert _transport._current.deadline is None
    deadline.expire()
    assert deadline.expired is False and sock.shut == []


def _expired_within(deadline: Deadline, seconds: float) -> bool:
    limit = time.monotonic() + seconds
    while not deadline.expired and time.monotonic() < limit:
        time.sleep(0.005)
    return deadline.expired


def test_the_watchdog_expires_the_earliest_deadline_first():
    watchdog = _transport._Watchdog()
    late, soon = Deadline(30), Deadline(0.05)
    watchdog.watch(late)
    watchdog.watch(soon)  # earlier than the one the watchdog sleeps for: wakes it
    assert _expired_within(soon, 2)
    assert late.expired is False
    late._done = True
    after = Deadline(0.05)
    watchdog.watch(after)  # the finished one ahead of it is dropped, not waited for
    assert _expired_within(after, 2)
    assert late.expired is False
    thread = watchdog._thread
    assert thread is not None and thread.name == "passlock-deadlines" and thread.daemon
    last = Deadline(0.05)
    watchdog.watch(last)  # the watchdog had nothing left to watch: it waits, then goes on
    assert _expired_within(last, 2)
    assert watchdog._thread is thread  # one thread, for good


def test_the_watchdog_does_not_expire_a_deadline_early():
    watchdog = _transport._Watchdog()
    deadline = Deadline(0.5)
    started = time.monotonic()
    watchdog.watch(deadline)
    assert _expired_within(deadline, 3)
    assert time.monotonic() - started >= 0.45


def test_the_watchdog_restarts_after_a_fork():
    """In a forked child the parent's thread is gone but its state was copied."""
    watchdog = _transport._Watchdog()
    watchdog._heap.append((time.monotonic() + 30, -1, Deadline(30)))
    watchdog._thread = threading.Thread(target=lambda: None)  # as copied: never runs here
    old_condition = watchdog._wake
    watchdog._after_fork()
    assert watchdog._heap == [] and watchdog._thread is None
    assert watchdog._wake is not old_condition
    deadline = Deadline(0.05)
    watchdog.watch(deadline)
    assert _expired_within(deadline, 2)


def test_the_adapter_uses_the_reporting_pools():
    assert DeadlineAdapter(pool_block=True).poolmanager.connection_pool_kw["block"] is True
    adapter = DeadlineAdapter()
    pools = adapter.poolmanager.pool_classes_by_scheme
    assert pools["http"] is _transport._HTTPPool
    assert pools["https"] is _transport._HTTPSPool
    assert issubclass(_transport._HTTPSPool, HTTPSConnectionPool)


def test_a_pool_outside_a_call_reports_to_nobody():
    pool = _transport._HTTPPool("127.0.0.1", 9)
    got: list[object] = []
    thread = threading.Thread(target=lambda: got.append(pool._get_conn()))  # no deadline yet
    thread.start()
    thread.join(5)
    assert len(got) == 1 and got[0] is not None
    with Deadline(5) as deadline:
        attached: list[object] = []
        deadline.attach = attached.append  # type: ignore[method-assign]
        connection = pool._get_conn()
        assert attached == [connection] and connection is not None


def _wrapped(inner: BaseException, how: str) -> BaseException:
    outer = ConnectionError("outer")
    if how == "cause":
        outer.__cause__ = inner
    elif how == "context":
        outer.__context__ = inner
    else:
        outer = ConnectionError("outer", inner)
    return outer


@pytest.mark.parametrize(
    "error",
    [
        http.client.RemoteDisconnected("closed"),
        BrokenPipeError(),
        ConnectionResetError(),
        _wrapped(BrokenPipeError(), "cause"),
        _wrapped(ConnectionResetError(), "context"),
        _wrapped(http.client.RemoteDisconnected("closed"), "args"),
    ],
    ids=["remote disconnected", "broken pipe", "reset", "as cause", "as context", "as argument"],
)
def test_errors_that_never_reached_the_server(error):
    assert never_reached_server(error) is True


def _looped() -> BaseException:
    error = ConnectionError("loop")
    error.__context__ = ValueError("x")
    error.__context__.__context__ = error
    return error


@pytest.mark.parametrize(
    "error",
    [ConnectionError("refused"), TimeoutError(), ValueError("x", 5, None), _looped()],
    ids=["other", "timeout", "plain arguments", "a loop"],
)
def test_errors_that_may_have_reached_it(error):
    assert never_reached_server(error) is False


def test_a_resend_that_fails_too_is_not_sent_a_third_time(scripted):
    """Even with a second idle connection in the pool: urllib3 answers the resend with a new
    connection (a failed one leaves an empty slot on top of its last-in-first-out pool)."""
    server = scripted(["slow", "slow", "close", "close", "close"])
    with client_for(server) as client:
        threads = [threading.Thread(target=client.exchange_code, args=(c,)) for c in "ab"]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert server.connections == 2  # both kept in the pool
        with pytest.raises(PasslockUnavailable) as info:
            client.exchange_code("third")
    assert info.value.reason == "could not be reached"
    assert server.requests == 4


@pytest.mark.parametrize(
    "host, expected",
    [
        ("localhost", True),
        ("app.localhost", True),
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("localhost.example.com", False),
        ("notlocalhost", False),
        ("10.0.0.5", False),
        ("::2", False),
        ("api.passlock.dev", False),
        ("", False),
    ],
)
def test_which_hosts_are_this_machine(host, expected):
    """Only these may be reached over plain HTTP (the emulator)."""
    assert _transport.loopback(host) is expected
