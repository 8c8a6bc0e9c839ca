"""Shared fixtures: a real emulator on loopback, real databases, a small app per test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from jinja2 import BytecodeCache
from jinja2.bccache import Bucket
from werkzeug.routing import Rule

from flask_passlock.emulator import PasslockEmulator

from .helpers import POSTGRES_URL, AppParts, app_parts


class _CompiledTemplates(BytecodeCache):
    """Jinja's compiled templates, kept in memory for the whole test process.

    Every test builds its own app, and every app its own Jinja environment, which compiles
    each template it renders again: ~50 ms a page, a third of an in-process test's time. A
    bytecode cache (Jinja's own mechanism, keyed by template name and checked against a hash
    of the source) lets the apps of one process share the compiled code; what a page renders
    is unchanged."""

    def __init__(self) -> None:
        self._code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        code = self._code.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: Bucket) -> None:
        self._code[bucket.key] = bucket.bytecode_to_string()


def _share_url_builders() -> None:
    """Werkzeug compiles a URL builder function for every rule of every app it builds (about
    half the ~9 ms an app of this suite costs to build, its 21 blueprint rules each time).
    The builder's code depends only on the rule's text, parts, defaults and converters, and
    it is bound to its rule afterwards, so apps of one process can share it: same URLs, same
    errors. Left as is if Werkzeug's internals ever change shape."""
    compile_builder = getattr(Rule, "_compile_builder", None)
    if compile_builder is None or getattr(compile_builder, "shared", False):
        return
    built: dict[tuple[Any, ...], Any] = {}

    def shared(rule: Rule, append_unknown: bool = True) -> Any:
        key = (
            rule.rule,
            tuple(rule._trace),
            repr(sorted((rule.defaults or {}).items(), key=repr)),
            tuple(sorted((name, type(c)) for name, c in rule._converters.items())),
            append_unknown,
        )
        if key not in built:
            built[key] = compile_builder(rule, append_unknown)
        return built[key]

    shared.shared = True  # type: ignore[attr-defined]
    Rule._compile_builder = shared  # type: ignore[method-assign]


def pytest_configure(config: pytest.Config) -> None:
    Flask.jinja_options = {**Flask.jinja_options, "bytecode_cache": _CompiledTemplates()}
    _share_url_builders()


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


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without PostgreSQL, its cases are left out as one group (one line in the summary).
    Then the files marked ``long`` are put first, the rest by size, so that pytest-xdist
    (``--dist loadfile --no-loadscope-reorder``) starts the longest work first and the short
    files fill in beside it."""
    if not POSTGRES_URL:
        left_out = [item for item in items if _needs_postgres(item)]
        if left_out:
            config.hook.pytest_deselected(items=left_out)
            items[:] = [item for item in items if not _needs_postgres(item)]
            config.stash[_LEFT_OUT] = len(left_out)
    items[:] = _longest_first(items)


def _longest_first(items: list[pytest.Item]) -> list[pytest.Item]:
    files: dict[Any, list[pytest.Item]] = {}
    for item in items:
        files.setdefault(item.path, []).append(item)
    ordered = sorted(
        files.values(),
        key=lambda tests: (tests[0].get_closest_marker("long") is None, -len(tests)),
    )
    return [item for tests in ordered for item in tests]


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
