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
    return ["sqlite", "postgresql"]


@pytest.fixture(params=_database_params())
def database_url(request: pytest.FixtureRequest, tmp_path: Any) -> str:
    if request.param == "sqlite":
        return "sqlite://"
    assert POSTGRES_URL
    return POSTGRES_URL


@pytest.fixture
def parts(emulator: PasslockEmulator, database_url: str) -> Iterator[AppParts]:
    with app_parts(emulator, database_url) as built:
        yield built


@pytest.fixture
def app(parts: AppParts) -> Flask:
    return parts.app


def _needs_postgres(item: pytest.Item) -> bool:
    callspec = getattr(item, "callspec", None)
    if callspec is not None and callspec.params.get("database_url") == "postgresql":
        return True
    return item.get_closest_marker("postgres") is not None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without PostgreSQL, its cases are left out as one group (one line in the summary)."""
    if POSTGRES_URL:
        return
    left_out = [item for item in items if _needs_postgres(item)]
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = [item for item in items if not _needs_postgres(item)]
        config.stash[_LEFT_OUT] = len(left_out)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    left_out = config.stash.get(_LEFT_OUT, 0)
    if left_out:
        terminalreporter.write_line(
            f"PostgreSQL: {left_out} cases not run (set PASSLOCK_TEST_DATABASE_URL to run them)"
        )


_LEFT_OUT = pytest.StashKey[int]()


def pytest_report_header(config: pytest.Config) -> str:
    if POSTGRES_URL:
        return f"PostgreSQL: {POSTGRES_URL.rsplit('@', 1)[-1]}"
    return "PostgreSQL: its cases are left out (set PASSLOCK_TEST_DATABASE_URL to run them)"
