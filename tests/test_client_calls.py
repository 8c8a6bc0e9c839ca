"""Every PasslockClient call through a real loopback socket: what goes out (method, path,
headers, body), how each answer is read, and that no call follows a redirect or reads an
answer past the size cap."""

from __future__ import annotations

import json
import logging
import socket
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from typing import Any

import pytest
import requests

from flask_passlock import (
    Forbidden,
    InvalidCode,
    MalformedResponse,
    NotFound,
    PasslockClient,
    PasslockUnavailable,
    __version__,
    _transport,
)
from flask_passlock._transport import (
    MAX_CONNECT_TIMEOUT,
    DeadlineAdapter,
    RedactCodes,
    parse_timeout,
)
from flask_passlock.client import MAX_RESPONSE_BYTES, validate_code
from flask_passlock.exceptions import (
    ChallengeAttemptsExceeded,
    ChallengeExpired,
    ChallengeRateLimited,
    InvalidChallenge,
    InvalidChallengeCode,
)

from .loopback import LoopbackServer, Request

T = "tenancy-1"
KEY = "api-key-1"


class Recorder(LoopbackServer):
    """Records each request and answers the next scripted ``(status, headers, body)``, or
    misbehaves as a step names (``"silent"``, ``"cut"``, ``"drip-close"``, ``"endless"``)."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.answers: list[Any] = []
        super().__init__()

    def answer(self, status: int, body: Any = None, **headers: str) -> None:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.answers.append((status, {"Content-Type": "application/json", **headers}, raw))

    def respond(self, conn: socket.socket, request: Request) -> bool:
        self.requests.append(
            {
                "method": request.method,
                "path": request.target,
                "headers": request.headers,
                "json": json.loads(request.body) if request.body else None,
            }
        )
        step = self.answers.pop(0) if self.answers else (500, {}, b"")
        if step == "silent":
            self.stopped.wait(10)  # never a byte of an answer
            return False
        if step == "cut":  # a tenth of the body, then the connection closes
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{}")
            return False
        if step == "drip-close":  # no length: the body ends when the connection does
            conn.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")
            for _ in range(200):
                conn.sendall(b" ")
                if self.stopped.wait(0.05):
                    return False
            return False
        if step == "endless":
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                b"Content-Length: 100000000\r\n\r\n" + b" " * (MAX_RESPONSE_BYTES + 131072)
            )
            self.stopped.wait(10)  # the rest never comes
            return False
        status, extra, raw = step
        out = f"HTTP/1.1 {status} X\r\nContent-Length: {len(raw)}\r\n"
        out += "".join(f"{k}: {v}\r\n" for k, v in extra.items())
        conn.sendall(out.encode() + b"\r\n" + raw)
        return True


@pytest.fixture
def server() -> Iterator[Recorder]:
    recorder = Recorder()
    yield recorder
    recorder.close()


@pytest.fixture
def client(server: Recorder) -> Iterator[PasslockClient]:
    with PasslockClient(T, KEY, endpoint=server.url + "/ignored/path", timeout=3.0) as c:
        yield c


PASSKEY = {"_tag": "Passkey", "id": "pk-1", "userId": "u-1"}
CHALLENGE = {
    "_tag": "Challenge",
    "challengeId": "ch-1",
    "purpose": "recover",
    "email": "ada@example.com",
    "userId": "u-1",
    "createdAt": 1_800_000_000_000,
    "expiresAt": 1_800_000_600_000,
    "metadata": {"n": 1},
}
CREATED = {
    "_tag": "ChallengeCreated",
    "challenge": {
        **CHALLENGE,
        "secret": "s3cret",
        "code": "123456",
        "message": {"html": "<p>123456</p>", "text": "123456"},
    },
}
PRINCIPAL = {
    "_tag": "ExtendedPrincipal",
    "id": "p-1",
    "authenticatorId": "pk-1",
    "authenticatorType": "passkey",
    "createdAt": 1_800_000_000_000,
    "expiresAt": 1_800_000_300_000,
    "userId": "u-1",
    "metadata": {},
}

# name: (call, method, path, body sent, answer, what the call returns)
CALLS: dict[str, tuple[Callable[[PasslockClient], Any], str, str, Any, Any, Any]] = {
    "exchange_code": (
        lambda c: c.exchange_code("co.de~1").id,
        "GET",
        f"/{T}/principal/co.de~1",
        None,
        PRINCIPAL,
        "p-1",
    ),
    "exchange_code with user_id": (
        lambda c: c.exchange_code("code", user_id=7).id,  # type: ignore[arg-type]
        "POST",
        f"/{T}/principal/code",
        {"userId": "7"},
        PRINCIPAL,
        "p-1",
    ),
    "get_passkey": (
        lambda c: c.get_passkey("pk-1"),
        "GET",
        f"/{T}/passkeys/pk-1",
        None,
        PASSKEY,
        PASSKEY,
    ),
    "delete_passkey": (
        lambda c: c.delete_passkey("pk-1"),
        "DELETE",
        f"/{T}/passkeys/pk-1",
        None,
        PASSKEY,
        PASSKEY,
    ),
    "update_passkey": (
        lambda c: c.update_passkey("pk-1", user_id="u-2", username="ada"),
        "PATCH",
        f"/{T}/passkeys/pk-1",
        {"userId": "u-2", "username": "ada"},
        PASSKEY,
        PASSKEY,
    ),
    "update_passkey, username only": (
        lambda c: c.update_passkey("pk-1", username="ada"),
        "PATCH",
        f"/{T}/passkeys/pk-1",
        {"username": "ada"},
        PASSKEY,
        PASSKEY,
    ),
    "update_passkey, user id only": (
        lambda c: c.update_passkey("pk-1", user_id="u-2"),
        "PATCH",
        f"/{T}/passkeys/pk-1",
        {"userId": "u-2"},
        PASSKEY,
        PASSKEY,
    ),
    "list_passkeys": (
        lambda c: c.list_passkeys(),
        "GET",
        f"/{T}/passkeys/",
        None,
        {"_tag": "FindAllPasskeys", "cursor": None, "records": [PASSKEY]},
        {"_tag": "FindAllPasskeys", "cursor": None, "records": [PASSKEY]},
    ),
    "list_passkeys with a cursor": (
        lambda c: c.list_passkeys("a b/c"),
        "GET",
        f"/{T}/passkeys/?cursor=a%20b%2Fc",
        None,
        {"_tag": "FindAllPasskeys", "cursor": "next", "records": []},
        {"_tag": "FindAllPasskeys", "cursor": "next", "records": []},
    ),
    "update_user_passkeys": (
        lambda c: c.update_user_passkeys("u-1", "ada"),
        "PATCH",
        f"/{T}/users/u-1/passkeys/",
        {"userId": "u-1", "username": "ada"},
        {"_tag": "UpdatedPasskeys", "updated": [PASSKEY]},
        [PASSKEY],
    ),
    "delete_user_passkeys": (
        lambda c: c.delete_user_passkeys("u-1"),
        "DELETE",
        f"/{T}/users/u-1/passkeys/",
        {"userId": "u-1"},
        {"_tag": "DeletedPasskeys", "deleted": [PASSKEY]},
        [PASSKEY],
    ),
    "create_challenge": (
        lambda c: c.create_challenge("ada@example.com", "recover").secret,
        "POST",
        f"/{T}/challenges",
        {"email": "ada@example.com", "purpose": "recover", "invalidateOthers": True},
        CREATED,
        "s3cret",
    ),
    "create_challenge, every field": (
        lambda c: (
            c.create_challenge(
                "ada@example.com", "recover", user_id=5, metadata={"n": 1}, invalidate_others=0
            ).code
        ),  # type: ignore[arg-type]
        "POST",
        f"/{T}/challenges",
        {
            "email": "ada@example.com",
            "purpose": "recover",
            "invalidateOthers": False,
            "userId": "5",
            "metadata": {"n": 1},
        },
        CREATED,
        "123456",
    ),
    "get_challenge": (
        lambda c: c.get_challenge("ch-1").email,
        "GET",
        f"/{T}/challenges/ch-1",
        None,
        CHALLENGE,
        "ada@example.com",
    ),
    "verify_challenge": (
        lambda c: c.verify_challenge("ch-1", "s3cret", "123456").purpose,
        "POST",
        f"/{T}/challenges/verify",
        {"challengeId": "ch-1", "secret": "s3cret", "code": "123456"},
        {"_tag": "ChallengeVerified", "challenge": CHALLENGE},
        "recover",
    ),
    "delete_challenge": (
        lambda c: c.delete_challenge("ch-1"),
        "DELETE",
        f"/{T}/challenges/ch-1",
        None,
        {"_tag": "ChallengeDeleted"},
        None,
    ),
}


@pytest.mark.parametrize(
    "call, method, path, body, answer, result", CALLS.values(), ids=CALLS.keys()
)
def test_what_each_call_sends_and_returns(server, client, call, method, path, body, answer, result):
    server.answer(200, answer)
    assert call(client) == result
    (sent,) = server.requests
    assert (sent["method"], sent["path"], sent["json"]) == (method, path, body)
    headers = sent["headers"]
    assert headers["Authorization"] == f"Bearer {KEY}"
    assert headers["Accept"] == "application/json"
    assert headers["User-Agent"] == f"flask-passlock/{__version__}"
    assert ("Content-Type" in headers) == (body is not None)


@pytest.mark.parametrize("call", [c[0] for c in CALLS.values()], ids=CALLS.keys())
def test_no_call_follows_a_redirect(server, client, call):
    server.answer(302, {}, Location=f"{server.url}/elsewhere")
    server.answer(200, PRINCIPAL)  # what a followed redirect would find
    with pytest.raises(PasslockUnavailable) as info:
        call(client)
    assert info.value.reason == "HTTP 302"
    assert len(server.requests) == 1


@pytest.mark.parametrize("call", [c[0] for c in CALLS.values()], ids=CALLS.keys())
def test_no_call_reads_past_the_size_cap(server, client, call):
    server.answers.append("endless")
    started = time.monotonic()
    with pytest.raises(PasslockUnavailable) as info:
        call(client)
    assert info.value.reason == "oversized answer"  # not "deadline passed": read as it came
    assert time.monotonic() - started < 2.5


def test_an_answer_of_exactly_the_cap_is_read(server, client):
    body = json.dumps(PRINCIPAL).encode()
    server.answer(200, body + b" " * (MAX_RESPONSE_BYTES - len(body)))
    assert client.exchange_code("code").id == "p-1"


@pytest.mark.parametrize(
    "call, tag",
    [
        (lambda c: c.get_passkey("pk-1"), "Passkey"),
        (lambda c: c.list_passkeys(), "FindAllPasskeys"),
        (lambda c: c.delete_challenge("ch-1"), "ChallengeDeleted"),
        (lambda c: c.update_user_passkeys("u", "n"), "UpdatedPasskeys"),
    ],
)
def test_an_answer_of_another_tag_is_malformed(server, client, call, tag):
    server.answer(200, {"_tag": "Other"})
    server.answer(200, [{"_tag": tag}])
    for _ in range(2):
        with pytest.raises(MalformedResponse) as info:
            call(client)
        assert info.value.reason == f"Passlock's answer is not {tag}."


@pytest.mark.parametrize(
    "answer",
    [
        {"_tag": "FindAllPasskeys", "cursor": None},
        {"_tag": "FindAllPasskeys", "cursor": None, "records": {}},
        {"_tag": "FindAllPasskeys", "cursor": 5, "records": []},
    ],
    ids=["no records", "records not a list", "cursor a number"],
)
def test_a_malformed_passkey_list(server, client, answer):
    server.answer(200, answer)
    with pytest.raises(MalformedResponse) as info:
        client.list_passkeys()
    assert info.value.reason == "Passlock's answer is not a passkey list."


@pytest.mark.parametrize(
    "records", [None, {}, [PASSKEY, "x"], [5]], ids=["absent", "object", "a string", "a number"]
)
def test_malformed_records(server, client, records):
    server.answer(200, {"_tag": "DeletedPasskeys", "deleted": records})
    with pytest.raises(MalformedResponse) as info:
        client.delete_user_passkeys("u-1")
    assert info.value.reason == "Passlock's DeletedPasskeys has no 'deleted' list."


def test_iter_passkeys_follows_the_cursor_and_stops_on_a_repeat(server, client):
    pages = [("a", [1, 2]), ("b", [3]), ("a", [4]), ("c", [5])]
    for cursor, records in pages:
        server.answer(200, {"_tag": "FindAllPasskeys", "cursor": cursor, "records": records})
    assert list(client.iter_passkeys()) == [1, 2, 3, 4]
    assert [r["path"] for r in server.requests] == [
        f"/{T}/passkeys/",
        f"/{T}/passkeys/?cursor=a",
        f"/{T}/passkeys/?cursor=b",
    ]


@pytest.mark.parametrize("last", [None, ""], ids=["null", "empty"])
def test_iter_passkeys_stops_at_the_last_page(server, client, last):
    server.answer(200, {"_tag": "FindAllPasskeys", "cursor": "a", "records": [1]})
    server.answer(200, {"_tag": "FindAllPasskeys", "cursor": last, "records": [2]})
    assert list(client.iter_passkeys()) == [1, 2]
    assert len(server.requests) == 2


def test_a_created_challenge_is_read_whole(server, client):
    server.answer(200, CREATED)
    challenge = client.create_challenge("ada@example.com", "recover")
    assert challenge.challenge_id == "ch-1" and challenge.user_id == "u-1"
    assert (challenge.message_html, challenge.message_text) == ("<p>123456</p>", "123456")
    assert challenge.created_at == datetime(2027, 1, 15, 8, 0, tzinfo=timezone.utc)
    server.answer(200, {"_tag": "ChallengeCreated"})
    with pytest.raises(MalformedResponse):
        client.create_challenge("ada@example.com", "recover")
    server.answer(200, {"_tag": "ChallengeVerified"})
    with pytest.raises(MalformedResponse):
        client.verify_challenge("ch-1", "s", "1")


ERRORS = {
    "@error/InvalidCode": (404, InvalidCode),
    "@error/Forbidden": (403, Forbidden),
    "@error/Unauthorized": (401, Forbidden),
    "@error/NotFound": (404, NotFound),
    "@error/InvalidChallenge": (400, InvalidChallenge),
    "@error/InvalidChallengeCode": (400, InvalidChallengeCode),
    "@error/ChallengeExpired": (400, ChallengeExpired),
    "@error/ChallengeAttemptsExceeded": (429, ChallengeAttemptsExceeded),
}


@pytest.mark.parametrize("tag, status, error", [(t, *v) for t, v in ERRORS.items()])
def test_each_error_tag_is_its_exception(server, client, tag, status, error):
    server.answer(status, {"_tag": tag, "message": "m"})
    server.answer(200, {"_tag": tag, "message": "m"})  # the tag decides, not the status
    for sent in (status, 200):
        with pytest.raises(error) as info:
            client.get_passkey("pk-1")
        assert type(info.value) is error
        assert info.value.reason == f"HTTP {sent} {tag}"


@pytest.mark.parametrize(
    "retry_after, expected",
    [(30, 30), (1, 1), (True, 60), ("30", 60), (None, 60), (2.5, 60)],
)
def test_rate_limited_challenges(server, client, retry_after, expected):
    body: dict[str, Any] = {"_tag": "@error/ChallengeRateLimited", "message": "m"}
    if retry_after is not None:
        body["retryAfterSeconds"] = retry_after
    server.answer(429, body)
    with pytest.raises(ChallengeRateLimited) as info:
        client.create_challenge("ada@example.com", "recover")
    assert info.value.retry_after == expected


@pytest.mark.parametrize(
    "status, body, reason",
    [
        (500, {"_tag": "Passkey"}, "HTTP 500"),
        (300, {"_tag": "Passkey"}, "HTTP 300"),
        (404, {"message": "no tag"}, "HTTP 404"),
        (200, {"_tag": "@error/Internal", "message": "m"}, "unexpected error tag"),
        (503, b"<html>busy</html>", "HTTP 503 without JSON"),
        (200, b"", "HTTP 200 without JSON"),
        (200, b"[" * 5000 + b"]" * 5000, "HTTP 200 without JSON"),
    ],
)
def test_other_answers_are_unavailable(server, client, status, body, reason):
    server.answer(status, body)
    with pytest.raises(PasslockUnavailable) as info:
        client.get_passkey("pk-1")
    assert info.value.reason == reason


@pytest.mark.parametrize("status", [200, 201, 202, 299])
def test_every_2xx_is_success(server, client, status):
    server.answer(status, PASSKEY)
    assert client.get_passkey("pk-1") == PASSKEY


def test_the_key_set_is_fetched_without_the_api_key(server, client):
    server.answer(200, {"keys": []})
    assert client.jwks_url == f"{server.url}/.well-known/jwks.json"
    assert client.fetch("GET", client.jwks_url, auth=False) == (200, b'{"keys": []}')
    (sent,) = server.requests
    assert sent["path"] == "/.well-known/jwks.json"
    assert "Authorization" not in sent["headers"]


# -- what is checked before anything is sent ----------------------------------------------------


@pytest.mark.parametrize(
    "code, reason",
    [
        (None, "no code"),
        ("", "no code"),
        (5, "no code"),
        (".", "malformed code"),
        ("..", "malformed code"),
        ("...", "malformed code"),
        ("a/b", "malformed code"),
        ("a" * 513, "malformed code"),
    ],
)
def test_why_a_code_is_refused(code, reason):
    with pytest.raises(InvalidCode) as info:
        validate_code(code)
    assert info.value.reason == reason


@pytest.mark.parametrize("code", ["a", ".a.", "a" * 512, "A-z_0.9~"])
def test_codes_that_pass(code):
    assert validate_code(code) == code


@pytest.mark.parametrize("passkey_id", ["", ".", "..", "a/b", "a" * 513, None, 5])
def test_why_an_id_is_refused(server, client, passkey_id):
    with pytest.raises(NotFound) as info:
        client.get_passkey(passkey_id)
    assert info.value.reason == "not a Passlock identifier"
    assert server.requests == []


@pytest.mark.parametrize("passkey_id", ["a" * 512, ".a", "A-z_0.9~"])
def test_ids_that_pass(server, client, passkey_id):
    server.answer(200, PASSKEY)
    client.get_passkey(passkey_id)
    assert server.requests[0]["path"] == f"/{T}/passkeys/{passkey_id}"


@pytest.mark.parametrize(
    "value, expected",
    [
        (5, (3.05, 5.0)),
        (2, (2.0, 2.0)),
        (0.5, (0.5, 0.5)),
        ((1, 10), (1.0, 10.0)),
        ([4, 2], (2.0, 2.0)),
        ((MAX_CONNECT_TIMEOUT + 5, 20), (MAX_CONNECT_TIMEOUT + 5, 20.0)),
    ],
)
def test_timeouts(value, expected):
    assert parse_timeout(value) == expected
    assert all(type(part) is float for part in parse_timeout(value))


@pytest.mark.parametrize(
    "value", [0, -1, True, None, "5", (1,), (1, 2, 3), (0, 5), (5, 0), (True, 5), (1, "5")]
)
def test_bad_timeouts(value):
    with pytest.raises(ValueError, match="^the timeout must be a positive number"):
        parse_timeout(value)


@pytest.mark.parametrize(
    "tenancy, key, message",
    [
        ("", "k", "PasslockClient needs a tenancy_id and an api_key."),
        ("t", "", "PasslockClient needs a tenancy_id and an api_key."),
        ("a/b", "k", "The tenancy ID is not a valid Passlock identifier."),
        ("..", "k", "The tenancy ID is not a valid Passlock identifier."),
    ],
)
def test_bad_settings(tenancy, key, message):
    with pytest.raises(ValueError) as info:
        PasslockClient(tenancy, key, endpoint="https://api.example")
    assert str(info.value) == message


@pytest.mark.parametrize(
    "endpoint", ["", "ftp://api.example", "api.example", "https://", "http://[::1", "https:///x"]
)
def test_bad_endpoints(endpoint):
    with pytest.raises(ValueError) as info:
        PasslockClient("t", "k", endpoint=endpoint)
    assert str(info.value) == f"Passlock endpoint must be an http(s) URL, got {endpoint!r}."


def test_the_origin_of_the_endpoint(server):
    with PasslockClient("t", "k", endpoint="HTTPS://Api.Example:8443/v2/x?y") as client:
        assert client.origin == "https://Api.Example:8443"
        assert client.timeout == (3.05, 5.0)
        assert repr(client) == "<PasslockClient tenancy_id='t' origin='https://Api.Example:8443'>"
        assert client.tenancy_id == "t"


def test_a_new_session_reads_the_environment_once(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    with PasslockClient("t", "k", endpoint="https://api.example") as client:
        session = client.session
        assert session.trust_env is False
        assert session.proxies == {"https": "http://proxy.example:3128"}
        assert session.verify == "/etc/ssl/certs/ca-certificates.crt"
        for prefix in ("http://", "https://"):
            assert isinstance(session.get_adapter(prefix + "x"), DeadlineAdapter)


def test_a_session_given_is_used_and_keeps_its_settings():
    session = requests.Session()
    session.headers["User-Agent"] = "my-app/1"
    session.verify = False
    with PasslockClient("t", "k", endpoint="https://api.example", session=session) as client:
        assert client.session is session
        assert session.trust_env is True and session.verify is False
        assert session.headers["User-Agent"] == "my-app/1"
        assert isinstance(session.get_adapter("https://x"), DeadlineAdapter)


def test_closing_closes_the_pool(server):
    server.answer(200, PASSKEY)
    server.answer(200, PASSKEY)
    client = PasslockClient(T, KEY, endpoint=server.url)
    with client as entered:
        assert entered is client
        client.get_passkey("pk-1")
    client.get_passkey("pk-1")  # a closed client opens a new connection
    assert len(server.requests) == 2
    client.close()


def test_codes_are_masked_in_the_connection_pool_log():
    record = logging.LogRecord(
        "urllib3.connectionpool",
        logging.DEBUG,
        __file__,
        1,
        '%s://%s:%s "%s %s %s" %s %s',
        ("http", "h", 80, "GET", "/t/principal/s3cret-code?x=1", "HTTP/1.1", 200, None),
        None,
    )
    assert RedactCodes().filter(record) is True
    assert record.args[4] == "/t/principal/[redacted]?x=1"  # type: ignore[index]
    assert record.args[2] == 80  # type: ignore[index]
    plain = logging.LogRecord("x", logging.DEBUG, __file__, 1, "GET /t/principal/abc", None, None)
    RedactCodes().filter(plain)
    assert plain.msg == "GET /t/principal/[redacted]"
    other = logging.LogRecord("x", logging.DEBUG, __file__, 1, "GET /t/passkeys/abc", None, None)
    RedactCodes().filter(other)
    assert other.msg == "GET /t/passkeys/abc"
    error = ValueError("not a string")
    not_text = logging.LogRecord("x", logging.DEBUG, __file__, 1, error, None, None)
    assert RedactCodes().filter(not_text) is True and not_text.msg is error


def test_the_filter_is_installed_once_on_urllib3s_logger():
    logger = logging.getLogger("urllib3.connectionpool")
    before = list(logger.filters)
    for existing in before:
        logger.removeFilter(existing)
    try:
        PasslockClient("t", "k")
        PasslockClient("t", "k")
        assert [type(f) for f in logger.filters] == [RedactCodes]
    finally:
        for installed in list(logger.filters):
            logger.removeFilter(installed)
        for existing in before:
            logger.addFilter(existing)


# -- how a call fails ---------------------------------------------------------------------------


def test_a_connection_that_cannot_be_made_in_time():
    """Connecting is bounded by its own (shorter) timeout: the listener's queue is full, so
    the connection is never made."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    filler = socket.create_connection(("127.0.0.1", port))
    try:
        with PasslockClient(T, KEY, endpoint=f"http://127.0.0.1:{port}", timeout=(0.2, 3)) as c:
            started = time.monotonic()
            with pytest.raises(PasslockUnavailable) as info:
                c.get_passkey("pk-1")
            took = time.monotonic() - started
    finally:
        filler.close()
        listener.close()
    assert info.value.reason == "no answer in time"
    assert 0.15 < took < 0.9


def test_a_socket_timeout_at_the_deadline_is_the_deadline(server, monkeypatch):
    """Without the watchdog, the read timeout (the whole deadline) fires at the deadline."""
    monkeypatch.setattr(_transport._WATCHDOG, "watch", lambda deadline: None)
    server.answers.append("silent")
    with PasslockClient(T, KEY, endpoint=server.url, timeout=(1.0, 0.3)) as client:
        with pytest.raises(PasslockUnavailable) as info:
            client.get_passkey("pk-1")
    assert info.value.reason == "deadline passed"


def test_an_answer_cut_off(server, client):
    server.answers.append("cut")
    with pytest.raises(PasslockUnavailable) as info:
        client.get_passkey("pk-1")
    assert info.value.reason == "answer cut off"
    assert len(server.requests) == 1


def test_an_answer_ended_by_the_deadline_is_not_read_as_whole(server):
    """A body without a length ends when the connection does: the watchdog's shutdown looks
    like its end. The answer says ``Connection: close``, so http.client hands the socket to
    the response and forgets it on the connection: the deadline still reaches it (the server
    would drip for 10 s)."""
    server.answers.append("drip-close")
    started = time.monotonic()
    with PasslockClient(T, KEY, endpoint=server.url, timeout=0.3) as client:
        with pytest.raises(PasslockUnavailable) as info:
            client.get_passkey("pk-1")
    assert info.value.reason == "deadline passed"
    assert time.monotonic() - started < 1.5


def test_a_tag_that_is_not_a_string(server, client):
    server.answer(200, {"_tag": ["@error/NotFound"]})
    with pytest.raises(MalformedResponse) as info:
        client.get_passkey("pk-1")
    assert info.value.reason == "Passlock's answer is not Passkey."


def test_the_default_endpoint():
    with PasslockClient("t", "k") as client:
        assert client.origin == "https://api.passlock.dev"
        assert client.jwks_url == "https://api.passlock.dev/.well-known/jwks.json"
