"""A smoke run of the benchmark at tiny sizes, so it cannot rot (its figures are not
asserted: they come from benchmarks/run.py runs, never from timed tests)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_benchmark_smoke_run(tmp_path):
    pytest.importorskip("gunicorn")
    env = {k: v for k, v in os.environ.items() if k != "PASSLOCK_TEST_DATABASE_URL"}
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for heading in (
        "plain loopback",
        "simulated link",
        "Sign-in",
        "macros add",
        "lookup",
        "Load:",
        "Targets",
    ):
        assert heading in result.stdout
