"""A simulated internet link on loopback: a self-signed TLS certificate and a TCP proxy that
adds a fixed round-trip time, delaying every chunk in each direction by half of it.

The proxy also charges the TCP handshake. It accepts on loopback, where the kernel completes
the handshake at once, so on its own a fresh connection would cost no round trip before the
first byte. On a real link ``connect()`` returns one RTT after it starts (SYN out, SYN-ACK
back), so the first byte can leave no sooner. The proxy therefore holds the first bytes a
client sends on a new connection until one RTT after it accepted it, then delays them by half
an RTT like every other chunk. The client waits in ``recv()`` instead of in ``connect()``;
the time it waits is the same. With TLS 1.3 (one round trip of handshake) a fresh HTTPS
request then costs 3 RTT (TCP + TLS + request) and one on a kept-alive connection 1 RTT,
as on a real link; ``run.py`` measures both at the start of every link run and prints them.
"""

from __future__ import annotations

import datetime
import ipaddress
import queue
import socket
import subprocess
import sys
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
    ``rtt / 2`` later in each direction (so every round trip costs ``rtt`` more), and the
    first bytes of a new connection no sooner than a real TCP handshake would allow."""

    def __init__(self, target: tuple[str, int], rtt: float) -> None:
        self.target = target
        self.rtt = rtt
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
            accepted = time.monotonic()
            self.connections += 1
            try:
                upstream = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            for sock in (client, upstream):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            done = _Pair(client, upstream)
            # The SYN / SYN-ACK round trip: nothing the client sends can leave before it ends.
            self._pipe(client, upstream, done, not_before=accepted + self.rtt)
            self._pipe(upstream, client, done)

    def _pipe(
        self, source: socket.socket, sink: socket.socket, pair: _Pair, not_before: float = 0.0
    ) -> None:
        pending: queue.Queue[tuple[float, bytes]] = queue.Queue()

        def read() -> None:
            while True:
                try:
                    data = source.recv(65536)
                except OSError:
                    data = b""
                sent = max(time.monotonic(), not_before)
                pending.put((sent + self.delay, data))
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


class LinkProcess:
    """A :class:`LatencyProxy` in a process of its own, so that its threads never wait for
    the GIL of the process being measured (nor make it wait). Use as a context manager;
    ``port`` is where to connect."""

    def __init__(self, target: tuple[str, int], rtt: float) -> None:
        self.process = subprocess.Popen(  # noqa: S603 - our own argv
            [sys.executable, __file__, target[0], str(target[1]), repr(rtt)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        self.port = int(self.process.stdout.readline())

    def close(self) -> None:
        if self.process.poll() is None:
            assert self.process.stdin is not None
            self.process.stdin.close()  # the child exits when its stdin closes
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self) -> LinkProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _serve(host: str, port: str, rtt: str) -> None:
    proxy = LatencyProxy((host, int(port)), float(rtt))
    print(proxy.port, flush=True)
    sys.stdin.read()  # until the parent closes the pipe (or exits)
    proxy.close()


if __name__ == "__main__":
    _serve(*sys.argv[1:4])
