"""Attacks from a security review, each a reproduction that must now fail: cross-site POSTs
under every Flask-WTF setting, one ceremony used twice, look-alike and typed usernames,
step-up without user verification or across logins, clear-text endpoints, enumeration."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest
from flask_login import login_user, logout_user

from flask_passlock import Passlock, fresh_passkey_required
from flask_passlock.freshness import VERIFIED
from flask_passlock.state import get_state
from flask_passlock.store import PURGE_EVERY

from .helpers import app_parts, build_app, statements_sent
from .helpers import sign_id_token as sign


def signed_in_user(session_client) -> str | None:
    with session_client.session_transaction() as session:
        return session.get("_user_id")


# -- 1. cross-site POSTs, whatever Flask-WTF says ------------------------------------------------

WTF_SETTINGS = {
    "enabled": {},
    "disabled": {"WTF_CSRF_ENABLED": False},
    "check default off": {"WTF_CSRF_CHECK_DEFAULT": False},
    "blueprint exempted": {"_exempt": True},
}


@pytest.fixture(params=WTF_SETTINGS.values(), ids=WTF_SETTINGS.keys())
def wtf_parts(request, emulator, tmp_path):
    from flask_wtf.csrf import CSRFProtect

    settings = dict(request.param)
    exempt = settings.pop("_exempt", False)
    with app_parts(emulator, f"sqlite:///{tmp_path / 'wtf.sqlite'}", **settings) as built:
        csrf = CSRFProtect(built.app)
        if exempt:
            from flask_passlock.views import blueprint

            csrf.exempt(blueprint)
        built.app.config["WTF_CSRF_ENABLED"] = False  # set the scene without tokens
        mallory = built.user_with_passkeys(emulator, "mallory")
        victim = built.user_with_passkeys(emulator, "victim")
        built.app.config["WTF_CSRF_ENABLED"] = settings.get("WTF_CSRF_ENABLED", True)
        checks_token = not settings and not exempt
        yield built, mallory, victim, checks_token


def test_cross_site_forms_are_refused_under_every_flask_wtf_setting(wtf_parts, emulator):
    """An auto-submitted form from another site: no sign-in into the attacker's account, no
    attacker passkey linked to the victim (account takeover), nothing renamed or deleted."""
    parts, (_, _, (attacker_key,)), (victim, victim_id, (victim_key,)), checks_token = wtf_parts
    evil = {"Origin": "https://evil.example", "Referer": "https://evil.example/x"}
    attempts = {
        "/passkey/login": {"code": emulator.issue_code(authenticator_id=attacker_key).code},
        "/passkey/register": {"code": emulator.issue_code().code},
        "/passkey/signup": {"username": "new", "code": emulator.issue_code().code},
        "/passkey/verify": {"code": emulator.issue_code(authenticator_id=victim_key).code},
        "/passkey/login/options": {"username": "victim"},
        f"/passkey/{victim_key}/rename": {"label": "pwned"},
        f"/passkey/{victim_key}/delete": {},
    }
    rows = parts.rows()
    for path, form in attempts.items():
        for headers in (evil, {"Origin": None, "Referer": "https://evil.example/x"}):
            response = victim.post(path, data=form, headers=headers)
            text = response.get_data(as_text=True)
            if checks_token:  # Flask-WTF refuses first: no token
                assert response.status_code == 400 and "CSRF token" in text, (path, text)
            else:  # our own check, whatever Flask-WTF says
                assert response.status_code == 403, (path, text)
                assert 'data-code="cross_site_request"' in text
    assert parts.rows() == rows
    assert signed_in_user(victim) == str(victim_id)


def test_same_origin_with_a_valid_token_passes_flask_wtf(emulator, tmp_path):
    from flask_wtf.csrf import CSRFProtect

    with app_parts(emulator, f"sqlite:///{tmp_path / 'wtf.sqlite'}") as parts:
        CSRFProtect(parts.app)
        user_id = parts.create_user("ada")
        client = parts.app.test_client(user=user_id)
        page = client.get("/passkey/register").get_data(as_text=True)
        token = page.split('"csrfToken": "')[1].split('"')[0]
        issued = emulator.issue_code()
        refused = client.post("/passkey/register", json={"code": issued.code})
        assert refused.status_code == 400  # Flask-WTF: no token
        response = client.post(
            "/passkey/register", json={"code": issued.code}, headers={"X-CSRFToken": token}
        )
        assert response.status_code == 201, response.get_data(as_text=True)


# -- 2, 3, 4. one ceremony, one session --------------------------------------------------------


@pytest.fixture
def linked(parts, emulator):
    _, user_id, (passkey_id,) = parts.user_with_passkeys(emulator, "ada")
    return user_id, passkey_id


@pytest.mark.parametrize("first, second", [("id_token", "code"), ("code", "id_token")])
def test_one_ceremony_signs_in_once_whatever_comes_first(parts, emulator, linked, first, second):
    _, passkey_id = linked
    issued = emulator.issue_code(authenticator_id=passkey_id)
    one, two = parts.app.test_client(), parts.app.test_client()
    assert one.post("/passkey/login", json={first: getattr(issued, first)}).status_code == 200
    again = two.post("/passkey/login", json={second: getattr(issued, second)})
    assert again.status_code == 400
    assert again.get_json()["code"] == "id_token_replayed"
    assert signed_in_user(two) is None


def test_both_of_one_ceremony_sign_in_once(parts, emulator, linked):
    _, passkey_id = linked
    issued = emulator.issue_code(authenticator_id=passkey_id)
    body = {"code": issued.code, "id_token": issued.id_token}
    assert parts.app.test_client().post("/passkey/login", json=body).status_code == 200
    for field in ("code", "id_token"):
        again = parts.app.test_client().post("/passkey/login", json={field: body[field]})
        assert again.status_code == 400, field


def test_a_code_alone_still_signs_in(parts, emulator, linked):
    user_id, passkey_id = linked
    client = parts.app.test_client()
    code = emulator.issue_code(authenticator_id=passkey_id).code
    assert client.post("/passkey/login", json={"code": code}).status_code == 200
    assert signed_in_user(client) == str(user_id)


def test_a_used_ceremony_is_remembered_until_exp_plus_leeway(parts, emulator, linked):
    """A token just past ``exp`` still passes (leeway): its record must outlive that."""
    _, passkey_id = linked
    jti = f"late-{time.monotonic_ns()}"
    token = sign(emulator, passkey_id, jti=jti, exp=int(time.time()) - 5)  # within the leeway
    first = parts.app.test_client().post("/passkey/login", json={"id_token": token})
    assert first.status_code == 200
    with parts.app.app_context():
        store = get_state(parts.app).store
        store.purge_used()
        store.commit()
    again = parts.app.test_client().post("/passkey/login", json={"id_token": token})
    assert again.status_code == 400
    assert again.get_json()["code"] == "id_token_replayed"
    with parts.app.app_context():  # and it is forgotten once it can no longer pass
        store = get_state(parts.app).store
        store.purge_used(datetime.now(timezone.utc) + timedelta(seconds=26))
        store.commit()
        assert parts.db.session.get(store.used_token_model, jti) is None


@pytest.mark.parametrize("claim", ["jti", "a:id", "sub"])
def test_overlong_claims_are_refused_not_a_500(parts, emulator, linked, claim):
    _, passkey_id = linked
    token = sign(emulator, passkey_id, **{claim: "x" * 300})
    response = parts.app.test_client().post("/passkey/login", json={"id_token": token})
    assert response.status_code == 400
    assert response.get_json()["code"] == "invalid_id_token"


def test_expired_ceremonies_are_swept_once_a_minute_per_process(parts, emulator, linked):
    """The table of used ceremonies does not grow for ever, and its clean-up is not paid by
    every sign-in: at most one DELETE a minute per process, inside a sign-in's transaction."""
    _, passkey_id = linked
    store = get_state(parts.app).store
    with parts.app.app_context():
        long_ago = datetime.now(timezone.utc) - timedelta(days=1)
        parts.db.session.add(store.used_token_model(jti="stale", expires_at=long_ago))
        parts.db.session.commit()

    def sign_in():
        token = emulator.issue_code(authenticator_id=passkey_id).id_token
        response = parts.app.test_client().post("/passkey/login", json={"id_token": token})
        assert response.status_code == 200, response.get_json()

    def stale_row():
        with parts.app.app_context():
            return parts.db.session.get(store.used_token_model, "stale")

    def sweeps(sent):
        return [s for s in sent if s.lstrip().upper().startswith("DELETE FROM PASSLOCK_USED")]

    with statements_sent(parts) as sent:
        for _ in range(3):  # the app started less than a minute ago
            sign_in()
    assert sweeps(sent) == [] and stale_row() is not None
    store._purged_at -= PURGE_EVERY + 1  # the last sweep was over a minute ago
    with statements_sent(parts) as sent:
        for _ in range(3):
            sign_in()
    assert len(sweeps(sent)) == 1 and stale_row() is None


# -- 5. user verification ---------------------------------------------------------------------


@pytest.mark.parametrize("field", ["code", "id_token"])
def test_step_up_refuses_a_passkey_without_user_verification(parts, emulator, field):
    client, user_id, (passkey_id,) = parts.user_with_passkeys(emulator, "ada")
    issued = emulator.issue_code(authenticator_id=passkey_id, user_verified=False)
    response = client.post("/passkey/verify", json={field: getattr(issued, field)})
    assert response.status_code == 403
    assert response.get_json()["code"] == "user_not_verified"
    with client.session_transaction() as session:
        assert VERIFIED not in session or session[VERIFIED]["login"] != session["_passlock_login"]


@pytest.mark.parametrize("required", [False, True])
def test_sign_in_user_verification_is_configurable(parts, emulator, linked, required):
    _, passkey_id = linked
    parts.app.config["PASSLOCK_REQUIRE_USER_VERIFICATION"] = required
    issued = emulator.issue_code(authenticator_id=passkey_id, user_verified=False)
    client = parts.app.test_client()
    response = client.post("/passkey/login", json={"id_token": issued.id_token})
    if required:
        assert response.status_code == 403
        assert response.get_json()["code"] == "user_not_verified"
        assert signed_in_user(client) is None
    else:
        assert response.status_code == 200


# -- 6. the username typed must be the passkey's account --------------------------------------


@pytest.mark.parametrize("typed", ["nobody-here", "bob"])
def test_typed_username_must_own_the_passkey(parts, emulator, linked, typed):
    _, passkey_id = linked
    parts.create_user("bob")
    client = parts.app.test_client()
    code = emulator.issue_code(authenticator_id=passkey_id).code
    response = client.post("/passkey/login", json={"code": code, "username": typed})
    assert response.status_code == 403
    assert response.get_json()["code"] == "wrong_account"
    assert "belongs to another account" in response.get_json()["detail"]
    assert signed_in_user(client) is None


@pytest.mark.parametrize("typed", ["ada", "ADA", " ada ", "ａｄａ"])
def test_typed_username_of_the_owner_signs_in(parts, emulator, linked, typed):
    user_id, passkey_id = linked
    client = parts.app.test_client()
    code = emulator.issue_code(authenticator_id=passkey_id).code
    response = client.post("/passkey/login", json={"code": code, "username": typed})
    assert response.status_code == 200, response.get_json()
    assert signed_in_user(client) == str(user_id)


# -- 7. look-alike usernames --------------------------------------------------------------------

LOOKALIKES = {
    "zero width space": "alice\u200b",
    "soft hyphen": "ali\u00adce",
    "right-to-left override": "\u202ealice",
    "word joiner": "al\u2060ice",
    "hangul filler": "alice\u3164",
    "cyrillic a": "\u0430lice",
    "braille blank": "alice\u2800",
}
# A lone surrogate never gets this far: the body reader refuses it as "bad_request"
# (test_boundary.py); the rule itself is tested alone in test_text.py.


@pytest.mark.parametrize("username", LOOKALIKES.values(), ids=LOOKALIKES.keys())
def test_invisible_and_mixed_script_usernames_are_refused(parts, emulator, username):
    before = len(emulator.requests)
    response = parts.app.test_client().post(
        "/passkey/signup", json={"username": username, "code": emulator.issue_code().code}
    )
    assert response.status_code == 400
    assert response.get_json()["code"] == "invalid_username"
    assert parts.rows() == []
    assert len(emulator.requests) == before  # refused before the code is used


@pytest.mark.parametrize("username", ["ALICE", "ａｌｉｃｅ", "alice  ", "Alice"])
def test_usernames_equal_after_normalising_are_taken(parts, emulator, username):
    parts.create_user("alice")
    issued = emulator.issue_code()
    response = parts.app.test_client().post(
        "/passkey/signup", json={"username": username, "code": issued.code}
    )
    assert response.status_code == 409
    assert response.get_json()["code"] == "username_taken"
    assert issued.authenticator_id not in emulator.passkeys  # the unused passkey is gone


def test_a_username_is_stored_normalised(parts, emulator):
    response = parts.app.test_client().post(
        "/passkey/signup", json={"username": "  ｚｏｅ  ", "code": emulator.issue_code().code}
    )
    assert response.status_code == 201
    with parts.app.app_context():
        assert [u.username for u in parts.db.session.query(parts.User)] == ["zoe"]


# -- 8. step-up freshness belongs to one login ------------------------------------------------


@pytest.fixture
def password_routes(parts):
    app = parts.app

    @app.post("/password-login/<int:user_id>")
    def password_login(user_id):
        login_user(parts.db.session.get(parts.User, user_id))
        return "in"

    @app.post("/logout")
    def logout():
        logout_user()
        return "out"

    @app.get("/fresh")
    @fresh_passkey_required
    def fresh():
        return "fresh"

    return app


def test_step_up_is_forgotten_on_logout_and_on_a_new_login(parts, emulator, password_routes):
    _, user_id, (passkey_id,) = parts.user_with_passkeys(emulator, "ada")
    client = parts.app.test_client()
    code = emulator.issue_code(authenticator_id=passkey_id).code
    client.post("/passkey/login", json={"code": code})
    assert client.get("/fresh").status_code == 200  # the passkey sign-in is fresh
    client.post("/logout")
    with client.session_transaction() as session:
        assert VERIFIED not in session
    client.post(f"/password-login/{user_id}")  # signed in again, by password
    assert client.get("/fresh").status_code == 302  # asked again
    with client.session_transaction() as session:
        assert VERIFIED not in session


def test_a_copied_check_from_an_earlier_login_does_not_count(parts, emulator, password_routes):
    """The check is tied to the login session: replaying an old cookie's record fails."""
    _, user_id, (passkey_id,) = parts.user_with_passkeys(emulator, "ada")
    client = parts.app.test_client()
    code = emulator.issue_code(authenticator_id=passkey_id).code
    client.post("/passkey/login", json={"code": code})
    with client.session_transaction() as session:
        old = dict(session[VERIFIED])
    client.post(f"/password-login/{user_id}")
    with client.session_transaction() as session:
        session[VERIFIED] = old  # same user, but made in the earlier login
    assert client.get("/fresh").status_code == 302


# -- 11. clear-text endpoints ---------------------------------------------------------------


@pytest.mark.parametrize(
    "endpoint",
    ["http://api.passlock.dev", "http://10.0.0.5:8787/", "ftp://api.passlock.dev", "http://["],
)
def test_clear_text_endpoints_are_refused(endpoint):
    from flask import Flask

    app = Flask(__name__)
    app.config.update(PASSLOCK_TENANCY_ID="t", PASSLOCK_API_KEY="k", PASSLOCK_ENDPOINT=endpoint)
    with pytest.raises(RuntimeError, match="PASSLOCK_ENDPOINT"):
        Passlock(app)


@pytest.mark.parametrize(
    "endpoint",
    ["https://api.passlock.dev", "http://127.0.0.1:8787/", "http://localhost:1/", "http://[::1]:9"],
)
def test_https_and_loopback_endpoints_are_accepted(endpoint):
    from flask import Flask

    app = Flask(__name__)
    app.config.update(PASSLOCK_TENANCY_ID="t", PASSLOCK_API_KEY="k", PASSLOCK_ENDPOINT=endpoint)
    Passlock(app)


# -- 12. rate limits ------------------------------------------------------------------------


def test_rate_limits_are_off_by_default(parts):
    client = parts.app.test_client()
    for _ in range(30):
        assert client.post("/passkey/login/options", json={"username": "x"}).status_code == 200


def test_rate_limit_on_sign_in_by_username(emulator, tmp_path):
    with app_parts(
        emulator,
        f"sqlite:///{tmp_path / 'rl.sqlite'}",
        PASSLOCK_RATE_LIMITS={"options": "3 per minute"},
    ) as parts:
        client = parts.app.test_client()
        answers = [
            client.post("/passkey/login/options", json={"username": f"u{i}"}) for i in range(4)
        ]
        assert [a.status_code for a in answers] == [200, 200, 200, 429]
        assert answers[-1].get_json()["code"] == "rate_limited"
        assert 1 <= int(answers[-1].headers["Retry-After"]) <= 60
        # another client address has its own count; other groups are not limited
        other = client.post(
            "/passkey/login/options",
            json={"username": "x"},
            environ_base={"REMOTE_ADDR": "10.1.2.3"},
        )
        assert other.status_code == 200
        code = emulator.issue_code().code
        assert client.post("/passkey/login", json={"code": code}).status_code == 401


def test_rate_limits_are_checked_at_start_up(emulator, tmp_path):
    url = f"sqlite:///{tmp_path / 'rl.sqlite'}"
    with pytest.raises(RuntimeError, match="PASSLOCK_RATE_LIMITS"):
        build_app(emulator, url, PASSLOCK_RATE_LIMITS={"everything": "1 per day"})
    with pytest.raises(RuntimeError, match="PASSLOCK_RATE_LIMITS"):
        build_app(emulator, url, PASSLOCK_RATE_LIMITS="often")


def test_rate_limits_name_the_missing_package(emulator, tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "limits", None)
    with pytest.raises(RuntimeError, match="pip install Flask-Limiter"):
        build_app(emulator, f"sqlite:///{tmp_path / 'rl.sqlite'}", PASSLOCK_RATE_LIMITS="1/second")


def test_names_that_differ_only_by_case_find_only_the_exact_one(emulator, database_url):
    """Username and email lookups ignore case; when two accounts differ only by case, only
    the exact spelling finds one (an email that matches neither exactly finds none)."""
    with app_parts(emulator, database_url, with_email=True) as parts:
        ids = {
            name: parts.create_user(name, email=f"{name}@example.com")
            for name in ("ada", "Ada", "bob")
        }
        with parts.app.app_context():
            store = get_state(parts.app).store

            def by_name(name):
                user = store.user_by_username(name)
                return user.id if user is not None else None

            def by_email(email):
                user = store.user_by_email(email)
                return user.id if user is not None else None

            assert by_name("Ada") == ids["Ada"] and by_name("ada") == ids["ada"]
            assert by_name("ADA") is None
            assert by_name("BOB") == ids["bob"]
            assert by_email("Ada@example.com") == ids["Ada"]
            assert by_email("ADA@example.com") is None
            assert by_email("BOB@EXAMPLE.COM") == ids["bob"]
