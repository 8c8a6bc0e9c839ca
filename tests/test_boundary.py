"""One error boundary: every route of the blueprint, walked with malformed input and with the
database failing at every point, answers a clear 4xx or 503 (never 500) and leaves nothing
half-written; after a commit nothing touches the database, so a connection that dies then
still ends in a signed-in user."""

from __future__ import annotations

import threading
from contextlib import contextmanager

import pytest
import requests
import sqlalchemy as sa
from werkzeug.serving import make_server

from flask_passlock.emulator import Fault, PasslockEmulator

from .helpers import app_parts, listen_to


@pytest.fixture
def world(parts, emulator):
    """ada, signed in, with two passkeys; bob, with one."""
    client, user_id, ids = parts.user_with_passkeys(emulator, "ada", count=2)
    parts.user_with_passkeys(emulator, "bob")
    return client, user_id, ids


def post_routes(emulator, ids):
    """(path, a valid body) for every POST route of the blueprint."""
    return {
        "register": ("/passkey/register", {"code": emulator.issue_code().code}),
        "login": ("/passkey/login", {"code": emulator.issue_code(authenticator_id=ids[0]).code}),
        "options": ("/passkey/login/options", {"username": "ada"}),
        "signup": ("/passkey/signup", {"username": "zoe", "code": emulator.issue_code().code}),
        "verify": ("/passkey/verify", {"code": emulator.issue_code(authenticator_id=ids[0]).code}),
        "rename": (f"/passkey/{ids[0]}/rename", {"label": "Laptop"}),
        "delete": (f"/passkey/{ids[0]}/delete", {}),
    }


GET_PAGES = [
    "/passkey/",
    "/passkey/register",
    "/passkey/login",
    "/passkey/signup",
    "/passkey/verify",
]


def snapshot(parts):
    with parts.app.app_context():
        users = sorted(u.username for u in parts.db.session.scalars(sa.select(parts.User)))
    return users, parts.rows()


def assert_clear_refusal(response, status, code=None):
    text = response.get_data(as_text=True)
    assert response.status_code == status, text
    if response.is_json:
        assert code is None or response.get_json()["code"] == code
        assert response.get_json()["detail"]
    else:
        assert "passlock-error" in text and "Werkzeug" not in text
        assert code is None or f'data-code="{code}"' in text


# -- malformed input --------------------------------------------------------------------------

NESTED = "[" * 30_000 + "]" * 30_000


@pytest.mark.parametrize(
    "route", ["register", "login", "options", "signup", "verify", "rename", "delete"]
)
@pytest.mark.parametrize(
    "body",
    [
        NESTED,
        '{"code": ' + NESTED + "}",
        b'{"code": "\xff\xfe"}',
        '{"code": "\\ud800", "id_token": "\\udfff", "username": "a\\ud800", "label": "\\ud83d"}',
    ],
    ids=["nested array", "nested field", "invalid utf-8", "lone surrogates"],
)
def test_malformed_bodies_are_400(parts, emulator, world, route, body):
    client, _, ids = world
    path, _ = post_routes(emulator, ids)[route]
    before = snapshot(parts)
    calls = len(emulator.requests)
    response = client.post(path, data=body, content_type="application/json")
    assert_clear_refusal(response, 400)
    assert snapshot(parts) == before
    assert len(emulator.requests) == calls  # nothing reached Passlock


@pytest.mark.parametrize("field, value", [("username", "zoe\ud800"), ("label", "\ud800")])
def test_lone_surrogates_in_forms_are_400(parts, emulator, world, field, value):
    client, _, ids = world
    path = "/passkey/signup" if field == "username" else f"/passkey/{ids[0]}/rename"
    before = snapshot(parts)
    calls = len(emulator.requests)
    body = {field: value, "code": emulator.issue_code().code}
    response = client.post(path, json=body)
    assert response.status_code == 400
    assert response.get_json()["code"] == "bad_request"  # not text: refused as it is read
    assert snapshot(parts) == before and len(emulator.requests) == calls


@pytest.mark.parametrize("target", ["http://[", "//[x", "http://[::1", "\\\\evil", "///evil"])
def test_broken_next_falls_back_to_the_default(parts, emulator, world, target):
    client, user_id, ids = world
    for page in GET_PAGES[1:]:
        assert client.get(page, query_string={"next": target}).status_code == 200
    code = emulator.issue_code(authenticator_id=ids[0]).code
    signed_in = parts.app.test_client()
    response = signed_in.post("/passkey/login", json={"code": code, "next": target})
    assert response.status_code == 200
    assert response.get_json()["redirect"] == "/"
    query = signed_in.post(
        "/passkey/login",
        query_string={"next": target},
        json={"code": emulator.issue_code(authenticator_id=ids[0]).code},
    )
    assert query.get_json()["redirect"] == "/"


@pytest.mark.parametrize("value", [5, ["/x"], {"a": 1}, None, True])
def test_non_string_next_is_ignored(parts, emulator, world, value):
    _, _, ids = world
    code = emulator.issue_code(authenticator_id=ids[0]).code
    response = parts.app.test_client().post("/passkey/login", json={"code": code, "next": value})
    assert response.status_code == 200 and response.get_json()["redirect"] == "/"


@pytest.mark.parametrize("origin", ["http://[::1", "http://[", "http://localhost:99999", "\x00"])
def test_broken_origin_is_a_cross_site_refusal(parts, emulator, world, origin):
    client, _, ids = world
    for route, (path, body) in post_routes(emulator, ids).items():
        response = client.post(path, json=body, headers={"Origin": origin})
        assert_clear_refusal(response, 403, "cross_site_request")


def test_unknown_urls_and_methods_use_the_package_page(parts, world):
    client, _, ids = world
    assert_clear_refusal(client.get("/passkey/nope/nothing"), 404, "page_not_found")
    assert_clear_refusal(client.get(f"/passkey/{ids[0]}/rename"), 405, "method_not_allowed")
    answer = client.get(f"/passkey/{ids[0]}/delete", headers={"Accept": "application/json"})
    assert_clear_refusal(answer, 405, "method_not_allowed")
    assert "POST" in answer.headers["Allow"]
    assert client.get("/elsewhere").status_code == 404  # the app's own pages are not ours


# -- the database fails -------------------------------------------------------------------------


@contextmanager
def database_down(parts, *, when=lambda statement: True):
    """Every query (those ``when`` picks) fails as a dead connection does, with the driver's
    own OperationalError: what a PostgreSQL restart or a network cut looks like."""
    with parts.app.app_context():
        engine = parts.db.engine
    dbapi_error = engine.dialect.loaded_dbapi.OperationalError
    active = {"on": True}

    def fail(conn, cursor, statement, parameters, context, executemany):
        if active["on"] and when(statement):
            raise dbapi_error("server closed the connection unexpectedly")

    sa.event.listen(engine, "before_cursor_execute", fail)
    try:
        yield active
    finally:
        sa.event.remove(engine, "before_cursor_execute", fail)


@contextmanager
def database_dies_after_commit(parts):
    """The database works until a commit, and is down from then on."""
    with database_down(parts) as down:
        down["on"] = False
        with parts.app.app_context():
            session_class = parts.db.session.session_factory.class_

        def die(session):
            down["on"] = True

        sa.event.listen(session_class, "after_commit", die)
        try:
            yield
        finally:
            sa.event.remove(session_class, "after_commit", die)


@pytest.mark.parametrize("as_json", [True, False], ids=["json", "html"])
def test_every_route_answers_503_when_the_database_is_down(parts, emulator, world, as_json):
    client, _, ids = world
    passkeys_before = set(emulator.passkeys)
    routes = post_routes(emulator, ids)
    before = snapshot(parts)
    headers = {} if as_json else {"Accept": "text/html"}
    with database_down(parts):
        for route, (path, body) in routes.items():
            if as_json:
                response = client.post(path, json=body)
            else:
                response = client.post(path, data=body, headers=headers)
            assert_clear_refusal(response, 503, "storage_error")
        for page in GET_PAGES:  # every page loads the signed-in user
            response = client.get(page, headers={"Accept": "application/json"} if as_json else {})
            assert_clear_refusal(response, 503, "storage_error")
    assert snapshot(parts) == before
    # the passkeys made for the failed register and sign-up were deleted at Passlock, though
    # the database failed before their ceremonies were even read (loading the user)
    assert set(emulator.passkeys) == passkeys_before
    assert client.get("/passkey/", headers={"Accept": "application/json"}).status_code == 200


@pytest.fixture
def secret_route(parts):
    from flask_passlock import fresh_passkey_required

    @parts.app.get("/secret")
    @fresh_passkey_required
    def secret():
        return "secret"


def test_step_up_decorator_answers_503_when_the_database_is_down(parts, secret_route, world):
    client, _, _ = world
    with database_down(parts):
        assert_clear_refusal(client.get("/secret"), 503, "storage_error")
        api = client.get("/secret", headers={"Accept": "application/json"})
        assert_clear_refusal(api, 503, "storage_error")


@pytest.mark.parametrize("table", ["account", "passlock_authenticator", "passlock_used_token"])
def test_sign_up_failing_on_the_database_leaves_nothing_to_retry_from(parts, emulator, table):
    issued = emulator.issue_code()
    client = parts.app.test_client()
    with database_down(parts, when=lambda s: s.startswith(f"INSERT INTO {table}")):
        with listen_to(__import__("flask_passlock").signals.link_failed) as heard:
            response = client.post("/passkey/signup", json={"username": "zoe", "code": issued.code})
    assert_clear_refusal(response, 503, "storage_error")
    assert snapshot(parts) == ([], [])
    assert issued.authenticator_id not in emulator.passkeys  # deleted at Passlock
    assert heard and heard[0]["error"].code == "storage_error"
    # the user can simply try again
    again = client.post(
        "/passkey/signup", json={"username": "zoe", "code": emulator.issue_code().code}
    )
    assert again.status_code == 201


def test_with_the_database_down_a_sign_in_ceremony_posted_to_sign_up_deletes_nothing(
    database_url,
):
    """A principal does not say whether it came from a registration or a sign-in. With the
    database down nobody can tell whether its passkey is linked here: it is deleted at
    Passlock only if Passlock made it moments before, never an older passkey of a user
    (here ada's, signed in with an hour later and posted to the sign-up route)."""
    with PasslockEmulator() as emulator, app_parts(emulator, database_url) as parts:
        _, _, (passkey_id,) = parts.user_with_passkeys(emulator, "ada")
        emulator.advance_clock(3600)  # this emulator's own clock
        code = emulator.issue_code(authenticator_id=passkey_id).code
        with database_down(parts):
            response = parts.app.test_client().post(
                "/passkey/signup", json={"username": "mallory", "code": code}
            )
        assert_clear_refusal(response, 503, "storage_error")
        assert passkey_id in emulator.passkeys


def test_with_the_database_down_a_passkey_passlock_cannot_date_is_kept(parts, emulator):
    """Same, when Passlock cannot say when the passkey was made: it is kept."""
    parts.user_with_passkeys(emulator, "ada", field="id_token")  # the key set is cached
    issued = emulator.issue_code()
    emulator.inject(Fault(503, b""))  # the next call: asking Passlock for the passkey
    with database_down(parts):
        response = parts.app.test_client().post(
            "/passkey/signup", json={"username": "zoe", "id_token": issued.id_token}
        )
    assert_clear_refusal(response, 503, "storage_error")
    assert issued.authenticator_id in emulator.passkeys
    assert [uri for _, uri in emulator.requests[-1:]] == [
        f"/{emulator.tenancy_id}/passkeys/{issued.authenticator_id}"
    ]


@pytest.mark.parametrize("route", ["signup", "login"])
def test_a_connection_dying_after_the_commit_still_signs_in(parts, emulator, route):
    """After the commit nothing goes back to the database: the user is signed in."""
    if route == "login":
        _, user_id, (passkey_id,) = parts.user_with_passkeys(emulator, "ada")
        body = {"code": emulator.issue_code(authenticator_id=passkey_id).code}
    else:
        body = {"username": "zoe", "code": emulator.issue_code().code}
    client = parts.app.test_client()
    with database_dies_after_commit(parts):
        response = client.post(f"/passkey/{route}", json=body)
    assert response.status_code in (200, 201), response.get_data(as_text=True)
    with client.session_transaction() as session:
        assert session.get("_user_id")
    users, rows = snapshot(parts)
    assert "zoe" in users or route == "login"
    assert len(rows) == 1


# -- bodies too large -------------------------------------------------------------------------


@pytest.fixture
def live(parts):
    server = make_server("127.0.0.1", 0, parts.app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://localhost:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_chunked_bodies_are_capped_too(parts, live):
    """A chunked body has no Content-Length: it is cut off at 64 KiB all the same."""
    sent = {"bytes": 0}

    def chunks():
        for _ in range(100):  # 6.4 MB if it were all read
            sent["bytes"] += 65_536
            yield b"x" * 65_536

    response = requests.post(
        live + "/passkey/login",
        data=chunks(),
        headers={"Origin": live, "Content-Type": "application/json"},
        timeout=10,
    )
    assert response.status_code == 413, response.text
    assert response.json()["code"] == "payload_too_large"
