"""The development outbox: an app sends its emails there when offline, people read them on a
page, tests read them in Python."""

from __future__ import annotations

import pytest
import requests

from flask_passlock.emulator import PasslockEmulator

from .test_emulator import call


@pytest.fixture
def emu():
    with PasslockEmulator() as emulator:
        yield emulator


def send(emulator, to="ada@example.com", subject="Your code", text="Code: 123456", **extra):
    body = {"to": to, "subject": subject, "text": text, **extra}
    return call(emulator, "POST", "_emulator/outbox", json=body)


def test_send_stores_the_message(emu):
    answer = send(emu, html="<p>Code: <b>123456</b></p>")
    assert answer.status_code == 201
    body = answer.json()
    assert body["_tag"] == "OutboxMessage" and body["to"] == "ada@example.com"
    assert body["html"] == "<p>Code: <b>123456</b></p>" and isinstance(body["sentAt"], int)
    [message] = emu.outbox
    assert (message.id, message.subject, message.text) == (body["id"], "Your code", "Code: 123456")
    assert message.tenancy_id == emu.tenancy_id


def test_last_email(emu):
    assert emu.last_email() is None
    send(emu, to="ada@example.com", subject="first")
    send(emu, to="bob@example.com", subject="second")
    send(emu, to="Ada@Example.com", subject="third")
    assert emu.last_email().subject == "third"
    assert emu.last_email("ada@example.com").subject == "third"
    assert emu.last_email("bob@example.com").subject == "second"
    assert emu.last_email("eve@example.com") is None


@pytest.mark.parametrize(
    "change",
    [{"to": ""}, {"subject": None}, {"text": 5}, {"html": ["x"]}, {"to": "x" * 100_001}],
    ids=["empty to", "no subject", "text not a string", "html not a string", "too long"],
)
def test_a_bad_message_is_refused(emu, change):
    answer = send(emu, **change)
    assert answer.status_code == 400 and answer.json()["_tag"] == "@error/BadRequest"
    assert emu.outbox == []


def test_sending_needs_the_api_key(emu):
    answer = call(emu, "POST", "_emulator/outbox", key="wrong", json={})
    assert answer.status_code == 403 and emu.outbox == []


def test_the_page_shows_the_newest_first_with_codes_visible(emu):
    send(emu, subject="Older", text="Your code is 111111.")
    send(emu, to="bob@example.com", subject="<script>alert(1)</script>", text="Code 222222")
    page = requests.get(emu.url + "_emulator/outbox", timeout=5)
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    html = page.text
    assert html.index("&lt;script&gt;") < html.index("Older")
    assert "<script>alert" not in html
    assert "<mark>111111</mark>" in html and "<mark>222222</mark>" in html
    assert "bob@example.com" in html and "2 message(s)" in html


def test_the_json_view_is_newest_first(emu):
    send(emu, subject="one")
    send(emu, subject="two")
    answer = requests.get(emu.url + "_emulator/outbox.json", timeout=5).json()
    assert answer["_tag"] == "Outbox"
    assert [m["subject"] for m in answer["messages"]] == ["two", "one"]


def test_a_challenge_email_through_the_outbox(emu):
    """What an app does with a mailbox challenge: send Passlock's rendered message."""
    created = call(
        emu, "POST", "challenges", json={"email": "ada@example.com", "purpose": "recover"}
    ).json()["challenge"]
    send(emu, subject="Your sign-in code", text=created["message"]["text"],
         html=created["message"]["html"])  # fmt: skip
    assert created["code"] in emu.last_email("ada@example.com").text
