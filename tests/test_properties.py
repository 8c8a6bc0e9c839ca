"""Property-based tests: code validation, principal parsing, safe redirects."""

from __future__ import annotations

from urllib.parse import quote, urlsplit

from flask import Flask
from hypothesis import given, settings
from hypothesis import strategies as st

from flask_passlock import InvalidCode, MalformedResponse, Principal
from flask_passlock.client import MAX_CODE_LENGTH, validate_code
from flask_passlock.redirects import safe_next

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=20,
)


@given(st.text(max_size=600) | st.binary(max_size=50).map(lambda b: b.decode("latin-1")))
def test_a_code_is_refused_or_stays_one_path_segment(code):
    try:
        valid = validate_code(code)
    except InvalidCode:
        return
    assert 1 <= len(valid) <= MAX_CODE_LENGTH
    assert quote(valid, safe="") == valid  # quoting changes nothing: no reserved characters
    path = f"/tenancy/principal/{valid}"
    assert urlsplit(f"https://api.passlock.dev{path}").path == path
    assert valid not in (".", "..")


@given(json_values)
def test_parsing_any_json_gives_a_principal_or_malformed(data):
    try:
        principal = Principal.from_json(data)
    except MalformedResponse:
        return
    assert isinstance(principal.authenticator_id, str) and principal.authenticator_id


VALID = {
    "_tag": "ExtendedPrincipal",
    "id": "p1",
    "authenticatorId": "a1",
    "authenticatorType": "passkey",
    "createdAt": 1_700_000_000_000,
    "expiresAt": 1_700_000_300_000,
    "userId": "u1",
    "metadata": {},
}


@given(
    st.dictionaries(
        st.text(min_size=1, max_size=10).filter(lambda k: k not in VALID), json_values, max_size=5
    ),
    st.booleans(),
    st.one_of(st.none(), st.text(max_size=30)),
)
def test_unknown_fields_never_break_a_valid_principal(extra, uv, platform):
    data = {**extra, **VALID}
    data["passkey"] = {
        "userVerified": uv,
        "verified": True,
        **({"platformName": platform} if platform else {}),
    }
    principal = Principal.from_json(data)
    assert principal.authenticator_id == "a1" and principal.user_verified is uv
    assert principal.platform_name == (platform or None)


@given(st.sampled_from(sorted(VALID)), json_values)
def test_a_required_field_of_the_wrong_type_is_malformed(key, value):
    data = dict(VALID, **{key: value})
    try:
        Principal.from_json(data)
    except MalformedResponse:
        return
    # it parsed: the replacement must have been a valid value of the right type
    assert isinstance(value, type(VALID[key])) or key in ("createdAt", "expiresAt", "metadata")


app = Flask(__name__)


@settings(max_examples=300)
@given(
    st.text(max_size=60)
    | st.sampled_from(["//evil", "/\\evil", "https://evil/x", "http://localhost/ok"])
)
def test_safe_next_only_returns_local_paths(target):
    with app.test_request_context("/", base_url="http://localhost"):
        result = safe_next(target)
    if result is None:
        return
    parts = urlsplit(result)
    assert result.startswith("/") and not result.startswith("//")
    assert not parts.scheme and not parts.netloc and "\\" not in result
