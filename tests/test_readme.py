"""The README's commands are the ones CI runs."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_COMMAND = (
    "python3 -m venv .venv && .venv/bin/pip install -e '.[example]'"
    " && .venv/bin/python -m example_app"
)
TEST_COMMAND = (
    "python3 -m venv .venv && .venv/bin/pip install -e '.[test]' && .venv/bin/python -m pytest"
)


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.rst").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert f"    {TEST_COMMAND}\n" in readme
    assert f"\n{TEST_COMMAND} || exit $?\n" in ci


def test_readme_example_command_runs_the_example_app():
    readme = (ROOT / "README.rst").read_text()
    assert f"    {EXAMPLE_COMMAND}\n" in readme
