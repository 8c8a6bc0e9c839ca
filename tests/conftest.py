"""Shared fixtures: a real emulator on loopback, real databases, a small app per test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from flask_passlock.emulator import PasslockEmulator

from .helpers import POSTGRES_URL, AppParts, app_parts


@pytest.fixture(scope="session")
def emulator(passlock_emulator: PasslockEmulator) -> PasslockEmulator:
    """The plugin's emulator (flask_passlock.testing), under a short name."""
    return passlock_emulator


@pytest.fixture(autouse=True)
def _clean_faults(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "emulator" in request.fixturenames:
        request.getfixturevalue("emulator").clear_faults()


def _database_params() -> list[Any]:
    params: list[Any] = ["sqlite"]
    params.append(
        pytest.param(
            "postgresql",
            marks=pytest.mark.skipif(
                not POSTGRES_URL, reason="PASSLOCK_TEST_DATABASE_URL is not set"
            ),
        )
    )
    return params


@pytest.fixture(params=_database_params())
def database_url(request: pytest.FixtureRequest, tmp_path: Any) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'test.sqlite'}"
    assert POSTGRES_URL
    return POSTGRES_URL


@pytest.fixture
def parts(emulator: PasslockEmulator, database_url: str) -> Iterator[AppParts]:
    with app_parts(emulator, database_url) as built:
        yield built


@pytest.fixture
def app(parts: AppParts) -> Flask:
    return parts.app
