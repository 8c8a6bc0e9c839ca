"""POST /passkey/register end to end: test client -> app -> emulator -> database."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from flask_passlock import LinkError, signals
from flask_passlock.ceremony import username_for
from flask_passlock.emulator import Fault

from .helpers import listen_to


@pytest.fixture
def user_id(parts):
    return parts.create_user("ada")


@pytest.fixture
def client(parts, user_id):
    c = parts.app.test_client(user=user_id)
    return c


def test_register_with_json(parts, emulator, client, user_id):
    issued = emulator.issue_code(platform_name="iCloud Keychain")
    with listen_to(signals.passkey_registered) as heard:
        response = client.post("/passkey/register", json={"code": issued.code})
    assert response.status_code == 201
    body = response.get_json()
    assert body["authenticator"]["id"] == issued.authenticator_id
    assert body["authenticator"]["platform_name"] == "iCloud Keychain"
    assert body["authenticator"]["label"] == "iCloud Keychain"
    assert body["authenticator"]["user_verified"] is True
    assert body["authenticator"]["last_used_at"] is None  # added, not used to sign in yet
    assert body["redirect"] == "/passkey/"
    assert parts.rows() == [(issued.authenticator_id, user_id)]
    assert len(heard) == 1
    assert heard[0]["sender"] is parts.app
    assert heard[0]["principal"].authenticator_id == issued.authenticator_id
    assert sa.inspect(heard[0]["user"]).identity == (user_id,)  # expired by the commit


def test_an_overlong_platform_name_is_cut_to_its_column(parts, emulator, client):
    """Passlock names the platform; a name longer than the column (255) is cut, on every
    database, and the label (100) too."""
    issued = emulator.issue_code(platform_name="Keychain " * 40)
    response = client.post("/passkey/register", json={"code": issued.code})
    assert response.status_code == 201, response.get_json()
    with parts.app.app_context():
        row = parts.db.session.get(parts.Authenticator, issued.authenticator_id)
        assert row.platform_name == ("Keychain " * 40)[:255]
        assert row.label == ("Keychain " * 40)[:100]


def test_register_with_form_redirects(parts, emulator, client, user_id):
    issued = emulator.issue_code()
    response = client.post("/passkey/register", data={"code": issued.code})
    assert response.status_code == 303
    assert response.headers["Location"] == "/passkey/"
    assert parts.rows() == [(issued.authenticator_id, user_id)]
    listing = client.get("/passkey/", headers={"Accept": "application/json"})
    assert [p["id"] for p in listing.get_json()] == [issued.authenticator_id]
    html = client.get("/passkey/").get_data(as_text=True)
    assert issued.authenticator_id in html


def test_register_redirect_config(parts, emulator, client):
    parts.app.config["PASSLOCK_REGISTER_REDIRECT"] = "/welcome"
    response = client.post("/passkey/register", data={"code": emulator.issue_code().code})
    assert response.headers["Location"] == "/welcome"


def test_row_columns(parts, emulator, client, user_id):
    issued = emulator.issue_code(user_verified=False)
    client.post("/passkey/register", json={"code": issued.code})
    with parts.app.app_context():
        row = parts.db.session.get(parts.Authenticator, issued.authenticator_id)
        assert row.authenticator_id == issued.authenticator_id
        assert row.user_id == user_id
        assert row.user.username == "ada"
        assert row.user_verified is False
        assert row.passlock_user_id == str(user_id)  # assigned at the code exchange
        assert row.created_at is not None and row.last_used_at is None
        assert row.label == "Passkey"


# -- refusals: clear answer, nothing written -----------------------------------------------------


def assert_refused(parts, response, status, code):
    assert response.status_code == status, response.get_data(as_text=True)
    if response.is_json:
        assert response.get_json()["code"] == code
        assert response.get_json()["detail"]
    else:
        assert f'data-code="{code}"' in response.get_data(as_text=True)
    assert parts.rows() == []


def test_not_signed_in_json(parts, emulator):
    response = parts.app.test_client().post(
        "/passkey/register", json={"code": emulator.issue_code().code}
    )
    assert_refused(parts, response, 401, "not_signed_in")


def test_not_signed_in_page_goes_to_passkey_login_without_login_view(parts):
    response = parts.app.test_client().get("/passkey/register")
    assert response.status_code == 302
    assert response.headers["Location"] == "/passkey/login?next=/passkey/register"


def test_not_signed_in_page_redirects_to_login_view(parts):
    parts.app.login_manager.login_view = "login"
    parts.app.add_url_rule("/login", "login", lambda: "login")
    response = parts.app.test_client().get("/passkey/register")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


def test_the_register_page_names_the_passkey_after_the_user(parts, client):
    page = client.get("/passkey/register").get_data(as_text=True)
    assert 'name="username" value="ada"' in page


@pytest.mark.parametrize(
    "user, name",
    [
        (SimpleNamespace(username="ada", email="a@example.com", name="Ada"), "ada"),
        (SimpleNamespace(username="", email="a@example.com", name="Ada"), "a@example.com"),
        (SimpleNamespace(email=None, name="Ada Lovelace"), "Ada Lovelace"),
        (SimpleNamespace(username=7, get_id=lambda: 42), "42"),
        (SimpleNamespace(), ""),
    ],
    ids=["username", "email", "name", "id", "nothing"],
)
def test_the_name_given_to_the_device(user, name):
    """The name a new passkey carries on the device: the first non-empty text of username,
    email and name, else the user's id."""
    assert username_for(user) == name


BAD_BODIES = {
    "missing code (json)": dict(json={}),
    "missing code (form)": dict(data={}),
    "code not a string": dict(json={"code": 5}),
    "code a list": dict(json={"code": ["a"]}),
    "code null": dict(json={"code": None}),
    "json array": dict(json=["code"]),
    "json string": dict(json="code"),
    "invalid json": dict(data=b"{not json", content_type="application/json"),
    "text body": dict(data="code=abc", content_type="text/plain"),
}


@pytest.mark.parametrize("kwargs", BAD_BODIES.values(), ids=BAD_BODIES.keys())
def test_bad_bodies(parts, client, kwargs):
    response = client.post("/passkey/register", **kwargs)
    assert_refused(parts, response, 400, "bad_request")


@pytest.mark.parametrize(
    "code", ["../x", "a/b", "a?b", "%2e%2e", "..", "a\x00b", "é", "a" * 10_240, " code"]
)
@pytest.mark.parametrize("as_json", [True, False])
def test_bad_codes(parts, emulator, client, code, as_json):
    before = len(emulator.requests)
    with listen_to(signals.exchange_failed) as heard:
        if as_json:
            response = client.post("/passkey/register", json={"code": code})
        else:
            response = client.post("/passkey/register", data={"code": code})
    assert_refused(parts, response, 400, "invalid_code")
    assert len(emulator.requests) == before
    assert heard and heard[0]["action"] == "register"


def test_reused_code(parts, emulator, client, user_id):
    issued = emulator.issue_code()
    assert client.post("/passkey/register", json={"code": issued.code}).status_code == 201
    response = client.post("/passkey/register", json={"code": issued.code})
    assert response.status_code == 400
    assert response.get_json()["code"] == "invalid_code"
    assert parts.rows() == [(issued.authenticator_id, user_id)]


@pytest.mark.parametrize("same_user", [True, False])
def test_already_linked(parts, emulator, client, user_id, same_user):
    first = emulator.issue_code()
    assert client.post("/passkey/register", json={"code": first.code}).status_code == 201
    again = emulator.issue_code(authenticator_id=first.authenticator_id)
    other, who = client, user_id
    if not same_user:
        other, who = parts.app.test_client(), parts.create_user("bob")
        other.sign_in(who)
    with listen_to(signals.link_failed) as heard:
        response = other.post("/passkey/register", json={"code": again.code})
    assert response.status_code == 409
    assert response.get_json()["code"] == "already_linked"
    assert parts.rows() == [(first.authenticator_id, user_id)]
    (event,) = heard
    assert event["error"].code == "already_linked"
    assert event["principal"].authenticator_id == first.authenticator_id
    assert sa.inspect(event["user"]).identity == (who,)


def test_unknown_user(parts, emulator, client, user_id):
    with parts.app.app_context():
        parts.db.session.execute(sa.delete(parts.User))
        parts.db.session.commit()
    # the login loader finds nobody: the user is signed out
    response = client.post("/passkey/register", json={"code": emulator.issue_code().code})
    assert response.status_code == 401
    assert response.get_json()["code"] == "not_signed_in"
    assert parts.rows() == []


def test_unknown_user_with_custom_loader(parts, emulator, client):
    ghost = parts.User(id=999, username="ghost")
    parts.passlock.current_user_loader(lambda: ghost)
    try:
        response = client.post("/passkey/register", json={"code": emulator.issue_code().code})
    finally:
        parts.passlock._current_user_loader = None
    assert_refused(parts, response, 400, "unknown_user")


def test_a_user_loaded_by_another_session_can_register(parts, emulator, client, user_id):
    """A ``current_user_loader`` may hand over a user object from elsewhere (a cache, another
    session): it is checked and linked by its primary key."""
    with parts.app.app_context():
        ada = parts.db.session.get(parts.User, user_id)
        parts.db.session.expunge(ada)
    parts.passlock.current_user_loader(lambda: ada)
    issued = emulator.issue_code()
    try:
        response = client.post("/passkey/register", json={"code": issued.code})
    finally:
        parts.passlock._current_user_loader = None
    assert response.status_code == 201, response.get_json()
    assert parts.rows() == [(issued.authenticator_id, user_id)]


@pytest.mark.parametrize(
    "fault, status, code",
    [
        (Fault(500, b"<html>oops</html>"), 503, "passlock_unavailable"),
        (Fault(503, b"", headers={"Retry-After": "5"}), 503, "passlock_unavailable"),
        (Fault(reset=True), 503, "passlock_unavailable"),
        (
            Fault(403, b'{"_tag": "@error/Forbidden"}', "application/json"),
            502,
            "passlock_forbidden",
        ),
        (
            Fault(200, b'{"_tag": "ExtendedPrincipal"}', "application/json"),
            502,
            "malformed_response",
        ),
    ],
)
def test_passlock_failures(parts, emulator, client, fault, status, code):
    issued = emulator.issue_code()
    emulator.inject(fault)  # the app's first call: a new connection, never sent twice
    with listen_to(signals.exchange_failed) as heard:
        response = client.post("/passkey/register", json={"code": issued.code})
    assert_refused(parts, response, status, code)
    assert heard[0]["error"].code == code
    assert issued.code not in response.get_data(as_text=True)
    html = client.post("/passkey/register", data={"code": emulator.issue_code().code})
    assert html.status_code == 303  # the app still serves


def test_passlock_failure_html(parts, emulator, client):
    emulator.inject(Fault(502, b""))
    response = client.post("/passkey/register", data={"code": emulator.issue_code().code})
    assert_refused(parts, response, 503, "passlock_unavailable")
    assert "unavailable" in response.get_data(as_text=True)


def test_database_error_mid_request_leaves_no_row(parts, emulator, client):
    """The row is flushed, then the commit fails: it is rolled back, the answer is 503."""
    from sqlalchemy import event
    from sqlalchemy.exc import OperationalError

    def fail(session):
        raise OperationalError("COMMIT", {}, Exception("disk I/O error"))

    with parts.app.app_context():
        session_class = parts.db.session.session_factory.class_
    event.listen(session_class, "before_commit", fail)
    try:
        response = client.post("/passkey/register", json={"code": emulator.issue_code().code})
    finally:
        event.remove(session_class, "before_commit", fail)
    assert_refused(parts, response, 503, "storage_error")


def test_hook_failure_after_write_leaves_no_row(parts, emulator, client):
    @parts.passlock.link_passkey
    def link(user, principal):
        parts.passlock.default_link_passkey(user, principal)
        raise LinkError("Passkeys from this device are not allowed.")

    try:
        response = client.post("/passkey/register", json={"code": emulator.issue_code().code})
    finally:
        parts.passlock._link_passkey = None
    assert_refused(parts, response, 409, "link_refused")
    assert response.get_json()["detail"] == "Passkeys from this device are not allowed."


def test_custom_link_hook(parts, emulator, client, user_id):
    seen = []

    @parts.passlock.link_passkey
    def link(user, principal):
        row = parts.passlock.default_link_passkey(user, principal)
        row.label = f"{user.username}'s key"
        seen.append(principal.authenticator_id)
        return row

    try:
        response = client.post("/passkey/register", json={"code": emulator.issue_code().code})
    finally:
        parts.passlock._link_passkey = None
    assert response.status_code == 201
    assert response.get_json()["authenticator"]["label"] == "ada's key"
    assert parts.rows() == [(seen[0], user_id)]


def test_a_link_hook_may_keep_passkeys_its_own_way(parts, emulator, client):
    """The hook's record need not be a row with ``to_dict``: the answer then names the
    passkey by its id, and the signal carries the record as returned."""
    kept = {}

    @parts.passlock.link_passkey
    def link(user, principal):
        kept[principal.authenticator_id] = SimpleNamespace(owner=user.username)
        return kept[principal.authenticator_id]

    issued = emulator.issue_code()
    try:
        with listen_to(signals.passkey_registered) as heard:
            response = client.post("/passkey/register", json={"code": issued.code})
    finally:
        parts.passlock._link_passkey = None
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["authenticator"] == {"id": issued.authenticator_id}
    assert heard[0]["authenticator"] is kept[issued.authenticator_id]
    assert parts.rows() == []


# -- cross-site protection ----------------------------------------------------------------------

CROSS_SITE = {
    "other origin": {"Origin": "https://evil.example"},
    "other port": {"Origin": "http://localhost:8080"},
    "null origin": {"Origin": "null"},
    "other referer": {"Origin": None, "Referer": "https://evil.example/page"},
}


@pytest.mark.parametrize("headers", CROSS_SITE.values(), ids=CROSS_SITE.keys())
@pytest.mark.parametrize("as_json", [True, False])
def test_cross_site_posts_are_refused(parts, emulator, client, headers, as_json):
    code = emulator.issue_code().code
    before = len(emulator.requests)
    if as_json:
        response = client.post("/passkey/register", json={"code": code}, headers=headers)
    else:
        response = client.post("/passkey/register", data={"code": code}, headers=headers)
    assert_refused(parts, response, 403, "cross_site_request")
    assert len(emulator.requests) == before


def test_form_without_origin_or_referer_is_refused(parts, emulator, client):
    response = client.post(
        "/passkey/register", data={"code": emulator.issue_code().code}, headers={"Origin": None}
    )
    assert_refused(parts, response, 403, "cross_site_request")


def test_same_origin_referer_is_accepted(parts, emulator, client):
    response = client.post(
        "/passkey/register",
        data={"code": emulator.issue_code().code},
        headers={"Origin": None, "Referer": "http://localhost/passkey/register"},
    )
    assert response.status_code == 303


def test_trusted_origins(parts, emulator, client):
    parts.app.config["PASSLOCK_TRUSTED_ORIGINS"] = ["https://app.example"]
    response = client.post(
        "/passkey/register",
        json={"code": emulator.issue_code().code},
        headers={"Origin": "https://app.example"},
    )
    assert response.status_code == 201


def test_flask_wtf_csrf(emulator, tmp_path):
    pytest.importorskip("flask_wtf")
    from flask_wtf.csrf import CSRFProtect

    from .helpers import build_app

    parts = build_app(emulator, f"sqlite:///{tmp_path / 'csrf.sqlite'}", WTF_CSRF_ENABLED=True)
    CSRFProtect(parts.app)
    user_id = parts.create_user("ada")
    client = parts.app.test_client(user=user_id)
    refused = client.post("/passkey/register", json={"code": emulator.issue_code().code})
    assert refused.status_code == 400
    assert refused.get_json()["code"] == "bad_request"  # Flask-WTF's: no token
    page = client.get("/passkey/register").get_data(as_text=True)
    import json
    import re

    config = json.loads(re.search(r'id="passlock-config">(.*?)</script>', page).group(1))
    assert config["csrfHeader"] == "X-CSRFToken"
    accepted = client.post(
        "/passkey/register",
        json={"code": emulator.issue_code().code},
        headers={
            "X-CSRFToken": config["csrfToken"],
            "Referer": "http://localhost/passkey/register",
        },
    )
    assert accepted.status_code == 201, accepted.get_data(as_text=True)
    with parts.app.app_context():
        parts.db.engine.dispose()


def test_messages_can_be_replaced_in_one_place(parts, client):
    parts.app.config["PASSLOCK_MESSAGES"] = {"invalid_code": "Code non valide."}
    response = client.post("/passkey/register", json={"code": "../x"})
    assert response.get_json() == {"code": "invalid_code", "detail": "Code non valide."}
    page = client.post("/passkey/register", data={"code": "../x"})
    assert "Code non valide." in page.get_data(as_text=True)


def test_extra_fields_are_ignored(parts, emulator, client, user_id):
    issued = emulator.issue_code()
    response = client.post(
        "/passkey/register",
        json={"code": issued.code, "user_id": 999, "authenticatorId": "forged", "admin": True},
    )
    assert response.status_code == 201
    assert parts.rows() == [(issued.authenticator_id, user_id)]


def test_oversized_bodies_are_refused(parts, client):
    big = {"code": "a", "padding": "x" * 100_000}
    response = client.post("/passkey/register", json=big)
    assert response.status_code == 413
    assert response.get_json()["code"] == "payload_too_large"
    form = client.post("/passkey/register", data=big, headers={"Accept": "application/json"})
    assert form.status_code == 413
    assert form.get_json()["code"] == "payload_too_large"
    assert parts.rows() == []


def test_werkzeug_errors_answer_json_when_asked(parts, client):
    parts.app.config["MAX_CONTENT_LENGTH"] = 10
    response = client.post(
        "/passkey/register",
        data={"code": "abcdefghijklmnop"},
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 413
    assert response.is_json and response.get_json()["code"]


def test_notices_nobody_reads_do_not_pile_up_in_the_session(parts, emulator, client):
    """A client that posts by JSON and never loads a page (a script, an app's own front end)
    reads no flashed notice: the signed session cookie must not grow with every passkey until
    a browser drops it (4 KB) and signs the user out."""
    for n in range(30):
        issued = emulator.issue_code()
        answer = client.post("/passkey/register", json={"code": issued.code, "label": f"Key {n}"})
        assert answer.status_code == 201
    with client.session_transaction() as session:
        notices = session.get("_flashes", [])
    assert 1 <= len(notices) <= 5
    assert notices[-1] == ("success", "Passkey added: “Key 4”.")  # the first ones are kept
    again = client.post("/passkey/register", json={"code": emulator.issue_code().code})
    assert again.status_code == 201
    page = client.get("/passkey/")  # a page shows them, and they are gone
    assert "Passkey added: “Key 0”." in page.get_data(as_text=True)
    with client.session_transaction() as session:
        assert "_flashes" not in session


def test_the_same_notice_twice_is_shown_once(parts, emulator, client):
    for _ in range(3):
        answer = client.post("/passkey/register", json={"code": emulator.issue_code().code})
        assert answer.status_code == 201
    with client.session_transaction() as session:
        assert session["_flashes"] == [("success", "Passkey added: “Passkey”.")]
