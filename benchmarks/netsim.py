"""A simulated internet link on loopback: a self-signed TLS certificate and a TCP proxy that
adds a fixed round-trip time, delaying every chunk in each direction by half of it."""

from __future__ import annotations

import datetime
import ipaddress
import queue
import socket
import threading
import time
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def self_signed_certificate(directory: Path) -> tuple[str, str]:
    """Write a certificate for localhost / 127.0.0.1 and its key; return their paths."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(cert_path), str(key_path)


class _Pair:
    """Closes both sockets of a proxied connection once both directions have ended."""

    def __init__(self, *sockets: socket.socket) -> None:
        self.sockets = sockets
        self.open_directions = 2
        self.lock = threading.Lock()

    def finished(self) -> None:
        with self.lock:
            self.open_directions -= 1
            if self.open_directions:
                return
        for sock in self.sockets:
            sock.close()


class LatencyProxy:
    """Forwards TCP connections from 127.0.0.1:port to ``target``, each byte arriving
    ``rtt / 2`` later in each direction (so every round trip costs ``rtt`` more)."""

    def __init__(self, target: tuple[str, int], rtt: float) -> None:
        self.target = target
        self.delay = rtt / 2
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self._stop.set()
        self.listener.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            try:
                upstream = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            for sock in (client, upstream):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            done = _Pair(client, upstream)
            self._pipe(client, upstream, done)
            self._pipe(upstream, client, done)

    def _pipe(self, source: socket.socket, sink: socket.socket, pair: _Pair) -> None:
        pending: queue.Queue[tuple[float, bytes]] = queue.Queue()

        def read() -> None:
            while True:
                try:
                    data = source.recv(65536)
                except OSError:
                    data = b""
                pending.put((time.monotonic() + self.delay, data))
                if not data:
                    return

        def write() -> None:
            while True:
                due, data = pending.get()
                wait = due - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                if not data:
                    try:
                        sink.shutdown(socket.SHUT_WR)
                    except OSError:
                        pass
                    pair.finished()
                    return
                try:
                    sink.sendall(data)
                except OSError:
                    pair.finished()
                    return

        threading.Thread(target=read, daemon=True).start()
        threading.Thread(target=write, daemon=True).start()
