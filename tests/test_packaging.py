"""The wheel carries its templates and static files, and works in a fresh virtualenv."""

from __future__ import annotations

import subprocess
import sys
import tarfile
import textwrap
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

RENDER = textwrap.dedent(
    """
    from flask import Flask, render_template_string
    from flask_passlock import Passlock, __version__

    app = Flask(__name__)
    app.config.update(PASSLOCK_TENANCY_ID="t", PASSLOCK_API_KEY="secret-key", SECRET_KEY="x")
    Passlock(app)
    with app.test_request_context():
        html = render_template_string(
            '{% import "passlock/macros.html" as p %}{{ p.register_button(username="ada") }}'
        )
    assert 'data-passlock="register"' in html and "secret-key" not in html, html
    js = app.test_client().get("/passkey/static/passlock/passlock.js")
    assert js.status_code == 200 and b"registerPasskey" in js.data
    print("OK", __version__)
    """
)


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    """``python -m build``: an sdist and a wheel, as a release would make them."""
    pytest.importorskip("build")
    out = tmp_path_factory.mktemp("dist")
    # The build requirements (setuptools, wheel) are in the test extra: no isolated
    # environment to download them into, every run.
    subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--sdist", "--wheel"]
        + ["--outdir", str(out), str(ROOT)],
        check=True,
        capture_output=True,
    )
    return out


@pytest.fixture(scope="module")
def wheel(dist) -> Path:
    (built,) = dist.glob("flask_passlock-*.whl")
    return built


def test_sdist_contents(dist):
    (sdist,) = dist.glob("flask_passlock-*.tar.gz")
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    for name in (
        "setup.cfg",
        "pyproject.toml",
        "README.rst",
        "LICENSE",
        "CHANGES.rst",
        "flask_passlock/templates/passlock/macros.html",
        "flask_passlock/static/passlock/passlock.js",
        "flask_passlock/py.typed",
    ):
        assert name in names, name


def test_version_is_in_one_place(wheel):
    from flask_passlock import __version__

    assert f"flask_passlock-{__version__}-" in wheel.name
    assert "version = attr: flask_passlock.__version__" in (ROOT / "setup.cfg").read_text()


def test_wheel_contents(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in (
        "flask_passlock/py.typed",
        "flask_passlock/templates/passlock/macros.html",
        "flask_passlock/templates/passlock/login.html",
        "flask_passlock/static/passlock/passlock.js",
        "flask_passlock/emulator/client.js",
    ):
        assert name in names
    assert not any(n.startswith(("tests/", "example_app/")) for n in names)
    metadata = next(n for n in names if n.endswith("entry_points.txt"))
    assert "flask_passlock.testing" in zipfile.ZipFile(wheel).read(metadata).decode()


def test_wheel_in_a_fresh_venv_renders_the_macros(wheel, tmp_path):
    """The wheel alone, installed in a new virtualenv, serves its templates and scripts. Its
    dependencies come from this environment (a path line, not the editable install of the
    source tree: a path added by a .pth file is not scanned for .pth files), so the test
    needs no index; the wheel's declared dependencies are checked apart."""
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps"]
        + [str(wheel)],
        check=True,
    )
    (site,) = env_dir.glob("lib/python3*/site-packages")
    here = next(p for p in sys.path if p.endswith("site-packages") and Path(p).is_dir())
    (site / "dependencies.pth").write_text(here + "\n")
    result = subprocess.run(
        [str(python), "-c", RENDER], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("OK ")
    where = subprocess.run(
        [str(python), "-c", "import flask_passlock; print(flask_passlock.__file__)"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    assert where.stdout.startswith(str(env_dir)), where.stdout  # the wheel, not the source


def test_the_wheel_declares_its_dependencies(wheel):
    metadata = next(n for n in zipfile.ZipFile(wheel).namelist() if n.endswith("METADATA"))
    text = zipfile.ZipFile(wheel).read(metadata).decode()
    requires = {
        line.split(":", 1)[1].strip().split(" ")[0].split(">")[0].split("[")[0].lower()
        for line in text.splitlines()
        if line.startswith("Requires-Dist:") and "extra ==" not in line
    }
    assert {"flask", "requests", "flask-sqlalchemy", "pyjwt", "blinker"} <= requires
