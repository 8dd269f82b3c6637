"""Packaging: the sdist and the wheel build from the tracked files, pass ``twine check``, carry
the license, and the wheel installs into a fresh virtual environment where ``segdend`` runs.

The distributions are built from a copy of ``git ls-files`` (and of new, not ignored files
under ``src/``) in a temporary directory, so nothing is written into the checkout and stray
files there (ignored build output, Numba caches) cannot end up in a distribution. The fresh
environment installs segdend's dependencies from the package index (about 2 minutes on 2 busy
cores with a warm pip cache; the whole file took 105-130 s).
"""

from __future__ import annotations

import email
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

import segdend

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
VERSION = segdend.__version__


def _run(command: list[str | Path], cwd: Path, timeout: float = 600) -> str:
    """Run ``command`` without the checkout on the path; return its stdout, fail on error."""
    env = {k: v for k, v in os.environ.items()
           if k not in {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP"}}
    env["PYTHONNOUSERSITE"] = "1"
    done = subprocess.run([str(c) for c in command], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout, check=False)
    assert done.returncode == 0, (f"{' '.join(map(str, command))} failed:\n"
                                  f"{(done.stdout + done.stderr)[-4000:]}")
    return done.stdout


def _git_files(*options: str) -> list[str]:
    listing = subprocess.run(["git", "ls-files", "-z", *options], cwd=ROOT, capture_output=True,
                             check=True).stdout.decode()
    return [name for name in listing.split("\0") if name and (ROOT / name).is_file()]


def _tracked_files() -> list[str]:
    """git's tracked files, and the package's new files not yet added (``git status`` shows
    them; a shared working tree has some while they are being written)."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("the package check builds from git's tracked files: not a git checkout")
    return sorted({*_git_files(), *_git_files("--others", "--exclude-standard", "--", "src")})


@pytest.fixture(scope="module")
def tracked() -> list[str]:
    return _tracked_files()


@pytest.fixture(scope="module")
def dists(tracked, tmp_path_factory) -> tuple[Path, Path]:
    """(sdist, wheel) built by ``python -m build`` from a copy of the tracked files."""
    source = tmp_path_factory.mktemp("source")
    for name in tracked:
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, source / name)
    out = tmp_path_factory.mktemp("dist")
    _run([sys.executable, "-m", "build", "--outdir", out, source], cwd=source)
    sdists = sorted(out.glob("segdend-*.tar.gz"))
    wheels = sorted(out.glob("segdend-*.whl"))
    assert [p.name for p in sdists] == [f"segdend-{VERSION}.tar.gz"]
    assert [p.name for p in wheels] == [f"segdend-{VERSION}-py3-none-any.whl"]
    return sdists[0], wheels[0]


def _package_files(tracked: list[str]) -> set[str]:
    """The package's files as paths inside the wheel (segdend/...)."""
    return {name.removeprefix("src/") for name in tracked
            if name.startswith("src/segdend/") and (name.endswith(".py") or
                                                     name.endswith("py.typed"))}


def test_twine_check_passes(dists):
    output = _run([sys.executable, "-m", "twine", "check", "--strict", *dists], cwd=dists[0].parent)
    assert output.count("PASSED") == 2, output


def test_sdist_carries_license_metadata_and_package(dists, tracked):
    sdist, _ = dists
    top = f"segdend-{VERSION}"
    with tarfile.open(sdist) as archive:
        names = set(archive.getnames())
        pkg_info = archive.extractfile(f"{top}/PKG-INFO").read().decode()
        license_text = archive.extractfile(f"{top}/LICENSE").read().decode()
    for name in ("LICENSE", "README.md", "pyproject.toml", "CHANGELOG.md", "CITATION.cff"):
        assert f"{top}/{name}" in names, name
    assert "MIT License" in license_text
    missing = {f"{top}/src/{name}" for name in _package_files(tracked)} - names
    assert not missing
    metadata = email.message_from_string(pkg_info)
    assert metadata["Version"] == VERSION
    assert metadata["License-Expression"] == "MIT"


def test_wheel_metadata_license_and_files(dists, tracked):
    _, wheel = dists
    info = f"segdend-{VERSION}.dist-info"
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        metadata = email.message_from_bytes(archive.read(f"{info}/METADATA"))
        entry_points = archive.read(f"{info}/entry_points.txt").decode()
    assert metadata["Name"] == "segdend"
    assert metadata["Version"] == VERSION
    assert metadata["License-Expression"] == "MIT"
    assert metadata.get_all("License-File") == ["LICENSE"]
    assert f"{info}/licenses/LICENSE" in names
    assert "segdend = segdend.cli:main" in entry_points
    assert not _package_files(tracked) - names  # every module and py.typed
    assert not [n for n in names if "__pycache__" in n or n.endswith((".nbi", ".nbc"))]
    for extra in ("dev", "dask", "hpc"):
        assert extra in metadata.get_all("Provides-Extra")


def test_wheel_installs_and_runs_in_a_fresh_environment(dists, tmp_path):
    _, wheel = dists
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", venv], cwd=tmp_path)
    python, script = venv / "bin" / "python", venv / "bin" / "segdend"
    _run([python, "-m", "pip", "install", "--quiet", wheel], cwd=tmp_path)

    assert _run([script, "--version"], cwd=tmp_path).strip() == f"segdend {VERSION}"
    assert "usage: segdend" in _run([script, "--help"], cwd=tmp_path)

    smoke = (
        "import importlib, pkgutil, segdend, segdend.cli\n"
        "names = [m.name for m in pkgutil.walk_packages(segdend.__path__, 'segdend.')\n"
        "         if not m.name.endswith('__main__')]\n"
        "for name in names:\n"
        "    importlib.import_module(name)\n"
        "print(segdend.__file__)\n"
        "print(segdend.__version__)\n"
        "print(len(names))\n"
    )
    location, version, count = _run([python, "-c", smoke], cwd=tmp_path).split()
    assert Path(location).resolve().is_relative_to(venv.resolve())
    assert not Path(location).resolve().is_relative_to(ROOT)
    assert version == VERSION
    assert int(count) > 10
    # The CLI runs end to end: a resolved config from the installed package.
    assert "[model]" in _run([script, "config"], cwd=tmp_path)
