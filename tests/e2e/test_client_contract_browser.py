"""The emulator's client.js gives what the real Passlock library gives, wherever a caller
can tell: the same exports, tags, codes, causes and result envelope, in the same cases.
Each case runs with every browser module and must give the same answer."""

from __future__ import annotations

import pytest

from .conftest import authenticator_call

EXPORTS = [
    "registerPasskey",
    "authenticatePasskey",
    "deletePasskey",
    "deleteUserPasskeys",
    "updatePasskey",
    "updatePasskeyUsernames",
    "isPasskeySupport",
    "isAutofillSupport",
    "isPasskeyDeleteSupport",
    "isPasskeyUpdateSupport",
    "NetworkError",
    "OtherPasskeyError",
    "OrphanedPasskeyError",
    "DuplicatePasskeyError",
    "PasskeyUnsupportedError",
    "DeleteError",
    "UpdateError",
    "isNetworkError",
    "isOtherPasskeyError",
    "isRegistrationSuccess",
    "isAuthenticationSuccess",
]

#: Loads the module under test as window.client and defines describe(result).
SETUP = """async ([url, tenancyId, endpoint]) => {
  window.client = await import(url);
  window.options = { tenancyId, endpoint };
  window.describe = (r) => ({
    tag: r?._tag ?? null,
    code: r?.code ?? null,
    cause: r?.cause?.name ?? null,
    isError: r instanceof Error,
    success: r?.success ?? null,
    failure: r?.failure ?? null,
    selfLink: r?.success ? r.value === r : r?.error === r,
    enumerable: Object.keys(r ?? {}).filter((k) => ["success", "failure", "value", "error"]
      .includes(k)),
  });
  return true;
}"""


def run(page, script: str, *args):
    return page.evaluate(f"async (args) => describe(await ({script})(...args))", list(args))


@pytest.fixture
def module_page(page, live_example, emulator, client_url):
    page.goto(live_example.url + "/")
    page.evaluate(SETUP, [client_url, emulator.tenancy_id, emulator.url])
    return page


def test_exports(module_page):
    missing = module_page.evaluate(
        "names => names.filter((name) => typeof client[name] !== 'function')", EXPORTS
    )
    assert missing == []


def test_ceremony_results(module_page, emulator):
    page = module_page
    register = "(u) => client.registerPasskey({ ...options, username: u })"
    before = set(emulator.passkeys)
    ok = run(page, register, "contract")
    (passkey_id,) = set(emulator.passkeys) - before  # the one this device holds
    assert ok == {
        "tag": "RegistrationSuccess",
        "code": ok["code"],
        "cause": None,
        "isError": False,
        "success": True,
        "failure": False,
        "selfLink": True,
        "enumerable": [],
    }
    refused_shape = {
        "isError": True,
        "success": False,
        "failure": True,
        "selfLink": True,
        "enumerable": [],
    }
    # The device refuses (user verification fails): NotAllowedError, passed through.
    authenticator_call(page, "setUserVerified", isUserVerified=False)
    refused = run(page, register, "contract")
    assert refused == {
        "tag": "@error/OtherPasskey",
        "code": "ERROR_PASSTHROUGH_SEE_CAUSE_PROPERTY",
        "cause": "NotAllowedError",
        **refused_shape,
    }
    signed_in = run(page, "() => client.authenticatePasskey({ ...options })")
    assert signed_in["tag"] == "@error/OtherPasskey"
    assert signed_in["cause"] == "NotAllowedError"
    authenticator_call(page, "setUserVerified", isUserVerified=True)

    # The device already holds one of excludeCredentials.
    duplicate = run(
        page,
        "(id) => client.registerPasskey({ ...options, username: 'x', excludeCredentials: [id] })",
        passkey_id,
    )
    assert duplicate["tag"] == "@error/DuplicatePasskey"

    # An authenticator that supports none of the algorithms: OtherPasskey, not Unsupported.
    page.evaluate(
        """() => { navigator.credentials.create = () => Promise.reject(
        new DOMException("no algorithm", "NotSupportedError")); }"""
    )
    unsupported_alg = run(page, register, "alg")
    assert (unsupported_alg["tag"], unsupported_alg["code"]) == (
        "@error/OtherPasskey",
        "ERROR_AUTHENTICATOR_NO_SUPPORTED_PUBKEYCREDPARAMS_ALG",
    )

    # Passlock forgot the passkey: only authentication verification says "orphaned".
    from flask_passlock.client import PasslockClient

    with PasslockClient(emulator.tenancy_id, emulator.api_key, endpoint=emulator.url) as rest:
        rest.delete_passkey(passkey_id)
    orphaned = page.evaluate(
        """async () => { const r = await client.authenticatePasskey({ ...options });
        return [r._tag, typeof r.credentialId, typeof r.rpId]; }"""
    )
    assert orphaned == ["@error/OrphanedPasskey", "string", "string"]

    # Any other API failure is a network error.
    network = run(
        page, "() => client.registerPasskey({ ...options, tenancyId: 'nope', username: 'x' })"
    )
    assert network["tag"] == "@error/Network"


def test_authentication_sends_rp_id(module_page):
    bodies = module_page.evaluate(
        """async () => {
        const seen = [];
        const fetch = window.fetch;
        window.fetch = (url, init) => {
          if (init?.body) seen.push(JSON.parse(init.body));
          return fetch(url, init);
        };
        navigator.credentials.get = () =>
          Promise.reject(new DOMException("no", "NotAllowedError"));
        await client.authenticatePasskey({
          ...options, rpId: "localhost", userVerification: "required" });
        window.fetch = fetch;
        return seen;
    }"""
    )
    assert bodies[0]["rpId"] == "localhost" and bodies[0]["userVerification"] == "required"


def test_signal_helpers(module_page):
    page = module_page
    delete = "(id) => client.deletePasskey({ ...options, passkeyId: id })"
    unknown = run(page, delete, "no-such-passkey")
    assert (unknown["tag"], unknown["code"], unknown["isError"]) == (
        "@error/Delete",
        "OTHER_ERROR",
        True,
    )
    forget = (
        "() => client.deletePasskey({ credentialId: 'AAAA', userId: 'AAAA', rpId: 'localhost' })"
    )
    # The device refuses the signal: still DeleteSuccess (the signal is not awaited).
    page.evaluate(
        """() => { PublicKeyCredential.signalUnknownCredential =
        () => Promise.reject(new Error('no')); }"""
    )
    assert run(page, forget)["tag"] == "DeleteSuccess"
    # No Signal API: @error/Delete and @error/Update with their codes.
    page.evaluate(
        """() => { delete PublicKeyCredential.signalUnknownCredential;
        PublicKeyCredential.signalUnknownCredential = undefined;
        PublicKeyCredential.signalCurrentUserDetails = undefined; }"""
    )
    no_delete = run(page, forget)
    assert (no_delete["tag"], no_delete["code"]) == (
        "@error/Delete",
        "PASSKEY_DELETION_UNSUPPORTED",
    )
    no_update = run(
        page, "() => client.updatePasskey({ userId: 'AAAA', rpId: 'localhost', username: 'u' })"
    )
    assert (no_update["tag"], no_update["code"]) == ("@error/Update", "PASSKEY_UPDATE_UNSUPPORTED")
    assert page.evaluate("client.isPasskeyDeleteSupport() ?? null") is None
