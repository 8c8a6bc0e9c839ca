"""A small threaded WSGI server with HTTP/1.1 keep-alive, for the emulator.

Werkzeug's development server closes every connection, so clients could never reuse one as
they do with the real Passlock. This server keeps connections open, reads each request body
whole (``Content-Length`` only), and writes each response in one ``sendall`` (with
``TCP_NODELAY``) so keep-alive responses never wait on delayed ACKs.
"""

from __future__ import annotations

import io
import json
import socket
import ssl
import struct
import sys
import threading
import time
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

#: Set ``environ[RESET_KEY] = True`` in the app to drop the connection with a TCP RST.
RESET_KEY = "passlock.emulator.reset"
#: Set ``environ[DRIP_KEY]`` to seconds to send the body a byte at a time, that far apart.
DRIP_KEY = "passlock.emulator.drip"
#: Seconds an idle keep-alive connection stays open (override per server: ``idle_timeout``).
IDLE_TIMEOUT = 30.0

MAX_BODY = 1024 * 1024

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: _Server

    def setup(self) -> None:
        # An idle keep-alive connection is closed after the server's idle_timeout.
        self.request.settimeout(self.server.idle_timeout)
        if isinstance(self.request, ssl.SSLSocket):
            self.request.do_handshake()  # here, in the connection's thread, not in accept()
        super().setup()

    def handle(self) -> None:
        try:
            super().handle()
        except (ssl.SSLError, ConnectionError, TimeoutError):
            self.close_connection = True

    def handle_one_request(self) -> None:
        try:
            self.raw_requestline = self.rfile.readline(65537)
        except (TimeoutError, ConnectionError):
            self.close_connection = True
            return
        if not self.raw_requestline:
            self.close_connection = True
            return
        if len(self.raw_requestline) > 65536 or not self.parse_request():
            self.close_connection = True
            return
        if self.headers.get("Transfer-Encoding"):
            self._send_simple(411, "@error/BadRequest", "Length required")
            return
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_BODY:
            self._send_simple(413, "@error/BadRequest", "Request body too large")
            return
        body = self.rfile.read(length) if length else b""
        self._run_app(body)

    def _send_simple(self, status: int, tag: str, message: str) -> None:
        """A tagged JSON error the app never saw, closing the connection."""
        body = json.dumps({"_tag": tag, "message": message}).encode()
        head = (
            f"HTTP/1.1 {status} {self.responses.get(status, ('',))[0]}\r\n"
            "Content-Type: application/json\r\nAccess-Control-Allow-Origin: *\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        ).encode("latin-1")
        self.close_connection = True
        try:
            self.connection.sendall(head + body)
        except OSError:
            pass

    def _environ(self, body: bytes) -> dict[str, Any]:
        path, _, query = self.path.partition("?")
        environ: dict[str, Any] = {
            "REQUEST_METHOD": self.command,
            "SCRIPT_NAME": "",
            "PATH_INFO": unquote(path, "latin-1"),
            "QUERY_STRING": query,
            "REQUEST_URI": self.path,
            "RAW_URI": self.path,
            "SERVER_NAME": self.server.server_address[0],
            "SERVER_PORT": str(self.server.server_address[1]),
            "SERVER_PROTOCOL": self.request_version,
            "REMOTE_ADDR": self.client_address[0],
            "REMOTE_PORT": str(self.client_address[1]),
            "CONTENT_LENGTH": str(len(body)) if body else "",
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "https" if isinstance(self.connection, ssl.SSLSocket) else "http",
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }
        for key, value in self.headers.items():
            name = "HTTP_" + key.upper().replace("-", "_")
            if name in ("HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH"):
                continue
            environ[name] = f"{environ[name]},{value}" if name in environ else value
        return environ

    def _run_app(self, body: bytes) -> None:
        environ = self._environ(body)
        status_headers: list[Any] = []

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Any:
            status_headers[:] = [status, headers]
            return lambda data: None

        try:
            result = self.server.app(environ, start_response)
            try:
                payload = b"".join(result)
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
        except Exception:  # the app is ours; answer 500 rather than hang the client
            self._send_simple(500, "@error/Internal", "Internal error")
            return
        if environ.get(RESET_KEY):
            self.close_connection = True
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            return
        status, headers = status_headers
        lines = [f"HTTP/1.1 {status}"]
        lines += [f"{k}: {v}" for k, v in headers if k.lower() != "content-length"]
        lines.append(f"Content-Length: {len(payload)}")
        if self.close_connection or (self.headers.get("Connection", "").lower() == "close"):
            self.close_connection = True
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        body = b"" if self.command == "HEAD" else payload
        try:
            drip = float(environ.get(DRIP_KEY) or 0)
            if drip > 0:
                self._drip(head, body, drip)
            else:
                self.connection.sendall(head + body)
        except OSError:
            self.close_connection = True

    def _drip(self, head: bytes, body: bytes, interval: float) -> None:
        """The head at once, then the body one byte at a time (a slow server)."""
        self.connection.sendall(head)
        for i in range(len(body)):
            time.sleep(interval)
            self.connection.sendall(body[i : i + 1])

    def log_message(self, format: str, *args: Any) -> None:
        pass  # request lines carry codes: keep them out of logs


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    app: WSGIApp
    idle_timeout: float = IDLE_TIMEOUT


def make_server(
    host: str,
    port: int,
    app: WSGIApp,
    ssl_context: ssl.SSLContext | None = None,
    idle_timeout: float = IDLE_TIMEOUT,
) -> _Server:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    server_class: type[_Server] = type("_BoundServer", (_Server,), {"address_family": family})
    server = server_class((host, port), _Handler)
    if ssl_context is not None:
        server.socket = ssl_context.wrap_socket(
            server.socket, server_side=True, do_handshake_on_connect=False
        )
    server.app = app
    server.idle_timeout = idle_timeout
    return server


def serve_in_thread(server: _Server, name: str) -> threading.Thread:
    # A short poll interval: stop() (server.shutdown) returns within 50 ms, not 500.
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name=name, daemon=True
    )
    thread.start()
    return thread
