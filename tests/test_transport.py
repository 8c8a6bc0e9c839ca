"""The REST client's total deadline, and when a call is sent a second time.

A server that drips its answer defeats a per-read timeout; the deadline covers the whole call.
A pooled keep-alive connection that the server closed while the request was on its way fails
before any byte of an answer: that call (and only that kind of failure) is sent again, once.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from flask_passlock import PasslockClient, PasslockUnavailable
from flask_passlock.emulator import Fault

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


class ScriptedServer:
    """A loopback HTTP/1.1 server whose n-th request (over all connections) gets the n-th
    behaviour: ``"answer"``, ``"close"`` (read the request, close without a byte),
    ``"partial"`` (half a status line, then close) or ``"drip-head"`` (the head a byte at a
    time). Connections are kept alive between answers."""

    def __init__(self, script: list[str]) -> None:
        self.script = list(script)
        self.connections = 0
        self.requests = 0
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            self._converse(conn)
        except OSError:
            pass  # the client gave up (its deadline): nothing to serve any more

    def _converse(self, conn: socket.socket) -> None:
        with conn:
            buffer = b""
            while True:
                while b"\r\n\r\n" not in buffer:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    buffer += chunk
                _, buffer = buffer.split(b"\r\n\r\n", 1)
                self.requests += 1
                step = self.script.pop(0) if self.script else "answer"
                if step == "close":
                    return
                if step == "partial":
                    conn.sendall(b"HTTP/1.1 2")
                    return
                if step == "drip-head":
                    for byte in answer():
                        conn.sendall(bytes([byte]))
                        time.sleep(0.05)
                    continue
                conn.sendall(answer())

    def close(self) -> None:
        self._sock.close()


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
