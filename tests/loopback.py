"""A scripted loopback HTTP/1.1 server for the REST client's tests: it accepts connections,
reads each request in turn on a kept-alive connection, and lets a subclass answer it with raw
bytes (or not at all)."""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass


@dataclass
class Request:
    method: str
    target: str
    headers: dict[str, str]
    body: bytes


def read_request(conn: socket.socket, buffer: bytes) -> tuple[Request | None, bytes]:
    """The next request on ``conn`` (``None`` when the client closed) and what was read past
    it."""
    while b"\r\n\r\n" not in buffer:
        chunk = conn.recv(65536)
        if not chunk:
            return None, buffer
        buffer += chunk
    head, buffer = buffer.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    method, target, _ = lines[0].split(" ", 2)
    headers = dict(line.split(": ", 1) for line in lines[1:])
    length = int(headers.get("Content-Length", 0))
    while len(buffer) < length:
        buffer += conn.recv(65536)
    return Request(method, target, headers, buffer[:length]), buffer[length:]


class LoopbackServer:
    """Subclasses implement :meth:`respond`."""

    def __init__(self) -> None:
        self.connections = 0
        self.stopped = threading.Event()
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self._accept, daemon=True).start()

    def respond(self, conn: socket.socket, request: Request) -> bool:
        """Answer ``request``; ``False`` closes the connection."""
        raise NotImplementedError

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            self.connections += 1
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            with conn:
                buffer = b""
                while True:
                    request, buffer = read_request(conn, buffer)
                    if request is None or not self.respond(conn, request):
                        return
        except OSError:
            pass  # the client gave up (its deadline): nothing to serve any more

    def close(self) -> None:
        self.stopped.set()
        self._sock.close()
