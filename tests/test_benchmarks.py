"""Smoke runs of the benchmark scripts at tiny sizes, so they cannot rot. Their figures are
never asserted: timings come from ``benchmarks/run.py`` runs, not from tests."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = ROOT / "benchmarks"

OPS = (
    "register (POST /passkey/register, signed in)",
    "sign-up (POST /passkey/signup)",
    "sign-in (POST /passkey/login)",
)
VARIANTS = (
    "naive recipe, code",
    "session recipe, code",
    "passlock, code",
    "passlock, id_token",
    "bare Flask+Login",
    "floor",
)
#: calls, conns, p50 ms, req/s, then 3 ratios to the naive recipe, 3 to the floor, 1 to bare.
NUMBERS_PER_ROW = 11


def run_quick(script: str, tmp_path: Path) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PASSLOCK_")}
    result = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), "--quick"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_every_variant_gets_a_row_of_numbers(tmp_path):
    out = run_quick("run.py", tmp_path)
    assert "command:" in out and "machine:" in out and "packages:" in out
    lines = out.splitlines()
    start = lines.index(next(line for line in lines if line.startswith("loopback, sqlite")))
    rows: dict[tuple[str, str], list[float]] = {}
    op = None
    for line in lines[start + 1 :]:
        if not line.strip():
            break
        if line.strip() in OPS:
            op = line.strip()
            continue
        label = next((v for v in VARIANTS if line.strip().startswith(v + " ")), None)
        if op and label:
            fields = line.strip()[len(label) :].replace("|", " ").split()
            rows[op, label] = [float(f) for f in fields]
    assert set(rows) == {(op, label) for op in OPS for label in VARIANTS}
    for key, numbers in rows.items():
        assert len(numbers) == NUMBERS_PER_ROW, key
        assert all(math.isfinite(n) and n >= 0 for n in numbers), key
    assert "Targets" in out
    assert "JWKS downloads seen by Passlock: 1 (as required)" in out


def test_profile_of_the_id_token_paths_prints(tmp_path):
    out = run_quick("profile_paths.py", tmp_path)
    for heading in ("Wall clock", "SQL sent by one request", "register, id_token", "sign-in"):
        assert heading in out
    assert "flask_passlock/views.py" in out
