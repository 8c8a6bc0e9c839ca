"""Names of new passkeys, feedback after each action, and no dead ends for the user."""

from __future__ import annotations

import pytest

from flask_passlock.useragent import describe

CHROME_LINUX = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/156.0.0.0 Safari/537.36"
)
AGENTS = {
    CHROME_LINUX: "Chrome on Linux",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.0 Mobile/15E148 Safari/604.1": "Safari on iPhone",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0": "Edge on Windows",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.5; rv:132.0) Gecko/20100101 "
    "Firefox/132.0": "Firefox on macOS",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Mobile Safari/537.36": "Chrome on Android",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "HeadlessChrome/156.0.0.0 Safari/537.36": "Chrome on Linux",
    "curl/8.5.0": None,
    "": None,
}


@pytest.mark.parametrize("agent, name", AGENTS.items(), ids=[str(v) for v in AGENTS.values()])
def test_user_agents_are_described(agent, name):
    assert describe(agent) == name


def labels(parts):
    with parts.app.app_context():
        return [a.label for a in parts.db.session.query(parts.Authenticator)]


def test_a_new_passkey_is_named_after_its_platform_else_the_browser(parts, emulator):
    user_id = parts.create_user("ada")
    client = parts.app.test_client(user=user_id)
    platform = emulator.issue_code(platform_name="iCloud Keychain")
    client.post("/passkey/register", json={"code": platform.code})
    browser = emulator.issue_code()  # an id_token carries no platform name
    client.post(
        "/passkey/register",
        json={"id_token": browser.id_token},
        headers={"User-Agent": CHROME_LINUX},
    )
    named = emulator.issue_code()
    answer = client.post("/passkey/register", json={"id_token": named.id_token, "label": " Work "})
    assert answer.get_json()["authenticator"]["label"] == "Work"
    assert sorted(labels(parts)) == ["Chrome on Linux", "Work", "iCloud Keychain"]


def test_a_bad_name_at_creation_is_refused_before_the_ceremony_is_used(parts, emulator):
    user_id = parts.create_user("ada")
    client = parts.app.test_client(user=user_id)
    issued = emulator.issue_code()
    answer = client.post(
        "/passkey/register", json={"id_token": issued.id_token, "label": "a\u200b"}
    )
    assert answer.status_code == 400 and answer.get_json()["code"] == "invalid_label"
    again = client.post("/passkey/register", json={"id_token": issued.id_token})
    assert again.status_code == 201  # the ceremony was not used up by the refusal


def test_sign_up_counts_as_the_first_use(parts, emulator):
    response = parts.app.test_client().post(
        "/passkey/signup", json={"username": "zoe", "id_token": emulator.issue_code().id_token}
    )
    assert response.status_code == 201
    body = response.get_json()["authenticator"]
    assert body["last_used_at"] == body["created_at"]


@pytest.mark.parametrize(
    "action, flash",
    [
        ("rename", "Passkey renamed to"),
        ("delete", "Passkey deleted."),
        ("register", "Passkey added"),
    ],
)
def test_each_action_is_confirmed_on_the_next_page(parts, emulator, action, flash):
    client, _, ids = parts.user_with_passkeys(emulator, "ada", count=2)
    client.get("/passkey/")  # take the flashes of the set-up
    if action == "register":
        client.post("/passkey/register", data={"code": emulator.issue_code().code})
    else:
        client.post(f"/passkey/{ids[0]}/{action}", data={"label": "Laptop"})
    with client.session_transaction() as session:
        flashes = [text for _, text in session.get("_flashes", [])]
    assert any(text.startswith(flash) for text in flashes), flashes


def test_failed_actions_link_back_to_where_the_user_was(parts, emulator):
    client, _, ids = parts.user_with_passkeys(emulator, "ada")
    rename = client.post(f"/passkey/{ids[0]}/rename", data={"label": ""})
    assert rename.status_code == 400
    assert 'href="/passkey/"' in rename.get_data(as_text=True)
    assert "not renamed" in rename.get_data(as_text=True)
    login = parts.app.test_client().post("/passkey/login?next=/x", data={"code": "nope"})
    text = login.get_data(as_text=True)
    assert login.status_code == 400 and "Sign-in failed" in text
    assert 'href="/passkey/login?next=/x"' in text


def test_messages_can_be_replaced(parts, emulator):
    parts.app.config["PASSLOCK_MESSAGES"] = {
        "invalid_code": "Code invalide.",
        "title.login": "Échec de la connexion",
        "js.cancelled": "Annulé.",
    }
    login = parts.app.test_client().post("/passkey/login", data={"code": "nope"})
    assert "Code invalide." in login.get_data(as_text=True)
    assert "Échec de la connexion" in login.get_data(as_text=True)
    page = parts.app.test_client().get("/passkey/login").get_data(as_text=True)
    assert '"cancelled": "Annul\\u00e9."' in page or '"cancelled": "Annulé."' in page


def test_register_honours_a_safe_next(parts, emulator):
    user_id = parts.create_user("ada")
    client = parts.app.test_client(user=user_id)
    page = client.get("/passkey/register?next=/account")
    assert 'action="/passkey/register?next=/account"' in page.get_data(as_text=True) or (
        "next=/account" in page.get_data(as_text=True)
    )
    answer = client.post(
        "/passkey/register?next=/account", json={"id_token": emulator.issue_code().id_token}
    )
    assert answer.get_json()["redirect"] == "/account"


def test_step_up_without_a_passkey_offers_to_create_one(parts):
    user_id = parts.create_user("ada")
    page = parts.app.test_client(user=user_id).get("/passkey/verify?next=/secret")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "/passkey/register?next=" in text


def test_the_list_does_not_offer_what_would_be_refused(parts, emulator):
    parts.passlock.has_other_sign_in(lambda user: False)
    client, _, (only,) = parts.user_with_passkeys(emulator, "ada")
    text = client.get("/passkey/").get_data(as_text=True)
    assert f'action="/passkey/{only}/delete"' not in text
    assert "only way to sign in" in text
