"""Every sentence a user can read, in one catalogue: the one place to replace or translate them.

Keys:

- an error code (``"invalid_code"``...): the ``detail`` of that error, in JSON answers and on
  the error page;
- ``"title.<action>"``: the heading of the error page after a failed action
  (``login``, ``register``...);
- ``"link.<name>"``: the links of the error page (``try_again``, ``home``...);
- ``"flash.<event>"``: the confirmation flashed after an action succeeded;
- ``"page.*"``, ``"nav.*"``, ``"form.*"``, ``"button.*"``, ``"table.*"``: the built-in pages
  and the macros' forms;
- ``"recover.*"``, ``"signup_email.*"``, ``"email.*"``, ``"code.*"``: the pages of account
  recovery and of sign-up's email check; ``"mail.*"``: the subject of the emails with a code;
- ``"js.<name>"``: what the browser code (``passlock.js``) shows; it reads them from the
  page (``passlock_browser_messages()`` in the ``scripts()`` macro), so they are
  translated like the rest. A failed prompt is explained by cause: ``js.cancelled``,
  ``js.not_allowed``, ``js.timed_out``, ``js.no_passkey``, ``js.unsupported``,
  ``js.device_unsupported``, ``js.ip_address``, ``js.wrong_domain``, ``js.duplicate``,
  ``js.network``, ``js.orphaned``, ``js.client_unavailable``, else ``js.failed``.

Override any of them with ``app.config["PASSLOCK_MESSAGES"] = {key: sentence}``; values may be
lazy strings (Flask-Babel's ``lazy_gettext``). Sentences may hold ``{name}`` fields, filled by
:func:`message`.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, has_app_context

#: The sentences shipped with Flask-Passlock, by key.
DEFAULT_MESSAGES: dict[str, str] = {
    # -- errors, by code ----------------------------------------------------------------------
    "passlock_error": "The passkey request failed.",
    "invalid_code": "The passkey check is invalid, expired or was already used. Please try again.",
    "passlock_forbidden": (
        "The server could not verify the passkey (Passlock refused its credentials)."
    ),
    "not_found": "No such passkey.",
    "passlock_unavailable": "The passkey service is unavailable. Please try again in a moment.",
    "malformed_response": "The passkey service sent an answer the server could not understand.",
    "bad_request": "The request was not understood.",
    "payload_too_large": "The request is too large.",
    "cross_site_request": "Cross-site request refused. Please reload the page and try again.",
    "not_signed_in": "Please sign in first.",
    "link_refused": "This passkey could not be linked to your account.",
    "already_linked": "This passkey is already linked to an account.",
    "unknown_user": "The account to link this passkey to does not exist.",
    "storage_error": "The server could not save your request. Please try again in a moment.",
    "unknown_passkey": "This passkey is not linked to any account here.",
    "not_a_passkey": "Please sign in with a passkey.",
    "user_disabled": "This account is disabled.",
    "wrong_passkey": "Please use one of your own passkeys.",
    "wrong_account": (
        "This passkey belongs to another account. Use a passkey of the account you typed, "
        "or clear the username."
    ),
    "user_not_verified": (
        "Your device did not confirm it's you (PIN, fingerprint or face). Please try again "
        "and confirm when your device asks."
    ),
    "invalid_username": "Choose a username of 1 to 64 characters, with no invisible characters.",
    "invalid_label": "Choose a name of 1 to 100 characters, with no invisible characters.",
    "username_taken": "That username is taken. Please choose another one.",
    "last_passkey": "This is your only way to sign in: add another passkey before deleting it.",
    "reauthentication_required": "Please confirm it's you with your passkey.",
    "invalid_id_token": "The passkey check could not be verified. Please try again.",
    "id_token_replayed": "This passkey check was already used. Please try again.",
    "rate_limited": "Too many attempts. Please wait a moment and try again.",
    "challenge_failed": "The code could not be checked. Please ask for a new one.",
    "challenge_rate_limited": "Too many codes were sent. Please try again in {seconds} seconds.",
    "invalid_challenge": "This code is no longer valid. Please ask for a new one.",
    "invalid_challenge_code": "That code is not right. Please check the email and try again.",
    "challenge_expired": "This code has expired. Please ask for a new one.",
    "challenge_attempts_exceeded": "Too many wrong codes. Please ask for a new one.",
    "page_not_found": "There is no such page.",
    "method_not_allowed": "This page cannot be used that way.",
    # -- error page headings, by action -------------------------------------------------------
    "title.default": "Something went wrong",
    "title.register": "The passkey was not added",
    "title.login": "Sign-in failed",
    "title.signup": "Sign-up failed",
    "title.verify": "The check failed",
    "title.rename": "The passkey was not renamed",
    "title.delete": "The passkey was not deleted",
    "title.list": "Your passkeys could not be shown",
    "title.page_not_found": "Page not found",
    "title.method_not_allowed": "This page cannot be used that way",
    # -- links on the error page --------------------------------------------------------------
    "link.back": "Go back",
    "link.try_again": "Try again",
    "link.home": "Go to the home page",
    # -- confirmations, flashed after an action succeeded -------------------------------------
    "flash.registered": "Passkey added: “{label}”.",
    "flash.signed_in": "Signed in.",
    "flash.signed_up": "Welcome, {username}! Your account is protected by a passkey.",
    "flash.verified": "Thanks, that was you.",
    "flash.renamed": "Passkey renamed to “{label}”.",
    "flash.deleted": "Passkey deleted.",
    "flash.signed_out": "Signed out. See you soon!",
    # -- the pages and forms -----------------------------------------------------------------
    "page.lang": "en",
    "page.title": "Passkeys",
    "nav.label": "Account",
    "nav.home": "Home",
    "nav.passkeys": "Your passkeys",
    "nav.sign_in": "Sign in",
    "nav.sign_up": "Sign up",
    "page.list.title": "Your passkeys",
    "page.list.add": "Add a passkey",
    "page.list.lead": (
        "Each passkey signs you in on one device or password manager. Give them names you "
        "will recognise."
    ),
    "page.login.title": "Sign in",
    "page.login.lead": (
        "Use the passkey on this device, your phone or a security key. No password needed."
    ),
    "page.login.no_account": "No account yet?",
    "page.login.sign_up": "Sign up with a passkey",
    "page.register.title": "Add a passkey",
    "page.register.lead": (
        "Sign in next time with your fingerprint, face, screen lock or security key instead "
        "of a password."
    ),
    "page.signup.title": "Sign up",
    "page.signup.heading": "Create your account",
    "page.signup.lead": (
        "No password needed: your account is protected by a passkey on this device."
    ),
    "page.signup.have_account": "Already have an account?",
    "page.verify.title": "Confirm it's you",
    "page.verify.lead": (
        "This page needs a recent passkey check. Use one of your passkeys to go on."
    ),
    "page.verify.no_passkey": (
        "This page needs a passkey check, and your account has no passkey yet. Create one on "
        "this device, then you'll go on to the page you asked for."
    ),
    "form.noscript": "Passkeys need JavaScript to be enabled.",
    "form.username": "Username",
    "form.choose_username": "Choose a username",
    "form.optional": "(optional)",
    "form.label": "Name this passkey",
    "form.label_help": (
        "For example “Work laptop” or “Phone”. Left empty, it is named after your browser "
        "and device."
    ),
    "form.rename_aria": "New name for {label}",
    "form.delete_aria": "Delete {label}",
    "button.register": "Create a passkey",
    "button.login": "Sign in with a passkey",
    "button.signup": "Sign up with a passkey",
    "button.verify": "Confirm with your passkey",
    "button.rename": "Rename",
    "button.delete": "Delete",
    "table.passkey": "Passkey",
    "table.created": "Created",
    "table.last_used": "Last used",
    "table.actions": "Actions",
    "table.stored_in": "Stored in {platform}",
    "table.never": "Never",
    "table.empty": "No passkeys yet.",
    # -- account recovery and email codes (mailbox challenges) --------------------------------
    "invalid_email": "Please enter a valid email address, such as name@example.com.",
    "code_not_sent": (
        "No code is waiting for this browser (it may have been used already). Please ask for "
        "a new one."
    ),
    "email_not_sent": "The email with your code could not be sent. Please try again in a moment.",
    "email_not_verified": "Please confirm your email address first.",
    "email_in_use": (
        "An account already uses this email address. If it's yours, get back into it with "
        "“Lost your device?” on the sign-in page."
    ),
    "no_account": (
        "No account here uses this email address. Try another address you may have used, or "
        "sign up."
    ),
    "title.recover": "The code was not sent",
    "title.recover_verify": "The code was not accepted",
    "title.signup_email": "The code was not sent",
    "title.signup_email_verify": "The code was not accepted",
    "recover.link": "Lost your device?",
    "recover.title": "Lost your device?",
    "recover.lead": (
        "Enter the email address of your account. We'll email you a code that signs you in "
        "once, so that you can create a new passkey on this device."
    ),
    "recover.back": "Back to sign-in",
    "verify.new_passkey": "Create a passkey on this device",
    "recover.submit": "Sign in",
    "signup_email.title": "Create your account",
    "signup_email.lead": (
        "Choose a username and enter your email address. We'll email you a code to confirm "
        "it, so that you can always get back in, even if you lose your device."
    ),
    "signup_email.username": "Choose a username",
    "signup_email.confirmed": "Email confirmed: {email}",
    "signup_email.submit": "Confirm",
    "email.label": "Email address",
    "email.send": "Email me a code",
    "code.title": "Check your email",
    "code.lead": "We sent a 6-digit code to {email}. It works once, for a few minutes.",
    "code.label": "Code from the email",
    "code.resend": "Send a new code",
    "code.other_address": "Use another address",
    "code.start": "Enter your email address",
    "code.hint": "No email after a minute? Look in your spam folder, or send a new code.",
    "link.signup": "Sign up",
    "flash.recovered": (
        "You're signed in with a code from your email. Create a passkey on this device to "
        "sign in next time."
    ),
    "flash.remove_lost": (
        "If you lost a device, delete its passkey below: it can then no longer sign in to "
        "your account."
    ),
    "flash.email_confirmed": "Email confirmed. Now create your passkey.",
    "mail.subject.recover": "Your code to get back into your account",
    "mail.subject.signup": "Your code to confirm your email address",
    "mail.text": "Your one-time code is {code}. If you did not ask for it, ignore this email.",
    # -- the browser (passlock.js) ------------------------------------------------------------
    "js.starting": "Starting…",
    "js.working": "Working…",
    "js.almost_done": "Almost done…",
    "js.done": "Done.",
    "js.progress.optionsRequest": "Contacting the passkey service…",
    "js.progress.createCredential": "Follow your browser's prompt to create the passkey…",
    "js.progress.saveCredential": "Saving the passkey…",
    "js.progress.getCredential": "Follow your browser's prompt to use your passkey…",
    "js.progress.verifyCredential": "Checking the passkey…",
    "js.need_username": "Please enter a username.",
    # a ceremony that did not finish, by cause; each sentence says what to do next
    "js.cancelled": (
        "The passkey prompt was closed before it finished, so nothing changed. Press the "
        "button to try again."
    ),
    "js.not_allowed": (
        "Your device refused, or could not confirm it's you (PIN, fingerprint or face). "
        "Try again and confirm when your device asks, or use another passkey."
    ),
    "js.timed_out": (
        "The passkey prompt timed out. Try again; if your passkey is on your phone or a "
        "security key, pick “Use another device” in the prompt or plug the key in."
    ),
    "js.no_passkey": (
        "This device has no passkey for this account. Use the device you created it on, or "
        "pick “Use another device” in the prompt to use your phone or a security key."
    ),
    "js.unsupported": (
        "This browser can't use passkeys. Open this page in an up-to-date Chrome, Edge, "
        "Firefox or Safari."
    ),
    "js.device_unsupported": (
        "This device can't create this kind of passkey. Try another device or a security key."
    ),
    "js.ip_address": (
        "Passkeys don't work when a site is opened by its IP address ({host}). Open it by "
        "its name instead."
    ),
    "js.open_on_localhost": "Open this page on localhost",
    "js.wrong_domain": (
        "Your browser refused: this site's address doesn't match its passkey settings. "
        "Please tell the site's administrator."
    ),
    "js.duplicate": (
        "This device already has a passkey for this account, so you can already sign in "
        "with it here. To add another, use another device or a security key."
    ),
    "js.network": "The passkey service could not be reached. Check your connection and try again.",
    "js.client_unavailable": (
        "The passkey library could not be loaded. Check your connection and reload the page."
    ),
    "js.orphaned": (
        "This passkey no longer exists. It has been removed from your device if it supports "
        "that; please use another one."
    ),
    "js.failed": "The passkey request failed. Please try again.",
    "js.hint": (
        "Nothing happening? If your passkey is on another device, pick “Use another device” "
        "(or your phone) in the browser's prompt, or plug in your security key."
    ),
    "js.other_way": "Sign in another way",
    "js.server_unreachable": (
        "The server could not be reached. Check your connection and try again."
    ),
    "js.server_status": "Something went wrong on the server ({status}). Please try again.",
    "js.confirm_delete": "Delete this passkey? You won't be able to sign in with it any more.",
    "js.deleting": "Deleting the passkey…",
    "js.now": "just now",
}


def message(key: str, **fields: Any) -> str:
    """The sentence for ``key``: ``PASSLOCK_MESSAGES[key]`` when the app sets it, else the
    default, with ``{name}`` fields filled from ``fields``."""
    text: object = None
    if has_app_context():
        overrides = current_app.config.get("PASSLOCK_MESSAGES") or {}
        text = overrides.get(key)
    if text is None:
        text = DEFAULT_MESSAGES.get(key, DEFAULT_MESSAGES["passlock_error"])
    sentence = str(text)
    if fields:
        try:
            return sentence.format(**fields)
        except (KeyError, IndexError, ValueError):
            return sentence
    return sentence


def browser_messages() -> dict[str, str]:
    """The ``js.*`` sentences (overrides applied), without their prefix, for the page."""
    return {key[3:]: message(key) for key in DEFAULT_MESSAGES if key.startswith("js.")}
