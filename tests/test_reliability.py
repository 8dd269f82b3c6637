"""Reliability: divergence, storage failures, corrupt checkpoints, and security properties."""

import ast
import errno
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from segdend import runs
from segdend.errors import RunError
from segdend.model.params import initialise, save_params
from segdend.train import Trainer

from .conftest import FIXTURE_DIR, tiny_config

SRC = Path(__file__).parent.parent / "src" / "segdend"
TINY = ["--set", "model.hidden=[20]", "--set", "train.examples=30", "--set", "train.epochs=1",
        "--set", "test.examples=10", "--set", "phases.test_length=60",
        "--set", "train.quick_test_every=0",
        "--data-dir", str(FIXTURE_DIR), "--quiet"]


def _segdend(*args):
    return subprocess.run([sys.executable, "-m", "segdend", *args], capture_output=True,
                          text=True, check=False)


@pytest.mark.parametrize("engine", ["reference", "fast"])
def test_divergence_stops_with_a_clear_message_and_keeps_the_checkpoint(tmp_path, engine):
    params = initialise(tiny_config(), 784)
    params.weights[0][:] = 1e308  # finite, but the first basal potential overflows
    init = tmp_path / "init.npz"
    save_params(params, init)
    run = tmp_path / "run"
    result = _segdend("train", *TINY, "--set", f"engine={engine}", "--set",
                      "train.initial_test=false", "--init-params", str(init), "--run-dir",
                      str(run))
    assert result.returncode == 3
    line = result.stderr.strip().splitlines()[-1]
    assert "diverged" in line and "layer 0" in line and "epoch 1" in line and "example 0" in line
    assert "Traceback" not in result.stderr
    assert not (run / "params.npz").exists()
    manifest = json.loads((run / "checkpoints" / "manifest.json").read_text())
    assert len(manifest) == 1 and (run / "checkpoints" / manifest[0]["file"]).is_file()


def test_full_disk_is_a_clear_error_and_leaves_nothing_half_written(tmp_path, monkeypatch,
                                                                     small_mnist):
    config = tiny_config("train.examples=10", "train.checkpoint_every=5")
    trainer = Trainer(config, tmp_path, small_mnist, quiet=True, log=lambda m: None)
    trainer.start()
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}

    real_fsync = runs.os.fsync

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(runs.os, "fsync", full)
    with pytest.raises(RunError, match="the disk is full"):
        trainer.train()
    monkeypatch.setattr(runs.os, "fsync", real_fsync)
    for path, content in before.items():
        if path.name not in ("events.jsonl",):
            assert path.read_bytes() == content, path  # nothing saved was changed
    assert not list(tmp_path.rglob(".*.tmp"))
    resumed = Trainer(config, tmp_path, small_mnist, quiet=True, log=lambda m: None)
    resumed.resume()
    resumed.train()
    assert (tmp_path / "params.npz").is_file()


def test_read_only_location_is_a_clear_error(tmp_path, monkeypatch, small_mnist):
    target = tmp_path / "ro" / "run"

    def refuse(self, *args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(Path, "mkdir", refuse)
    with pytest.raises(RunError, match="cannot create run directory .*Read-only file system"):
        Trainer(tiny_config(), target, small_mnist, quiet=True).start()


def test_read_only_run_directory_is_refused_even_for_root(tmp_path):
    run = tmp_path / "run"
    result = _segdend("train", *TINY, "--set", "engine=reference", "--run-dir", str(run))
    assert result.returncode == 0, result.stderr
    before = {p: p.read_bytes() for p in run.rglob("*") if p.is_file()}
    run.chmod(0o555)
    try:
        for args in (["train", "--resume", str(run), "--data-dir", str(FIXTURE_DIR)],
                     ["test", str(run), "--repeats", "2", "--data-dir", str(FIXTURE_DIR)]):
            result = _segdend(*args, "--quiet")
            assert result.returncode == 2
            expected = f"segdend: error: cannot write to '{run}': it is read-only"
            assert result.stderr.strip() == expected
        fresh = _segdend("train", *TINY, "--run-dir", str(run / "inner"))
        assert fresh.returncode == 2 and "read-only" in fresh.stderr
    finally:
        run.chmod(0o755)
    after = {p: p.read_bytes() for p in run.rglob("*") if p.is_file()}
    assert after == before


def test_atomic_write_never_leaves_a_partial_file(tmp_path, monkeypatch):
    path = tmp_path / "metrics.csv"
    path.write_text("old\n")

    def boom(src, dst):
        raise OSError(errno.EIO, "I/O error")

    monkeypatch.setattr(runs.os, "replace", boom)
    with pytest.raises(RunError, match="cannot write"):
        runs.atomic_write_text(path, "new\n")
    assert path.read_text() == "old\n"
    assert list(tmp_path.iterdir()) == [path]


def test_unreadable_manifest_falls_back_to_the_files(tmp_path, small_mnist):
    config = tiny_config("train.examples=10", "train.checkpoint_every=5")
    trainer = Trainer(config, tmp_path, small_mnist, quiet=True, log=lambda m: None)
    trainer.start()
    trainer.train()
    (tmp_path / "checkpoints" / "manifest.json").write_text("{not json")
    warnings = []
    again = Trainer(config, tmp_path, small_mnist, quiet=True, log=warnings.append)
    again.resume()
    assert any("manifest" in w for w in warnings)
    assert again.position.epoch == 1  # the newest checkpoint: the end of the epoch


# ----------------------------------------------------------------------------- security


def _calls(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            yield node


def test_nothing_is_unpickled_except_the_pinned_data_file():
    users = []
    for path in SRC.rglob("*.py"):
        text = path.read_text()
        if re.search(r"^\s*(import pickle|from pickle)|\bpickle\.", text, re.MULTILINE):
            users.append(path.name)
        for call in _calls(ast.parse(text)):
            func = call.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name == "load" and isinstance(func, ast.Attribute) and getattr(
                func.value, "id", ""
            ) == "np":
                keywords = {k.arg: k.value for k in call.keywords}
                assert "allow_pickle" in keywords, f"np.load without allow_pickle in {path}"
                assert keywords["allow_pickle"].value is False, path
    assert users == ["sources.py"]


def test_network_access_is_limited_to_the_documented_sources():
    from segdend.data import sources

    urls = [u for mirrors in sources.MIRRORS.values() for u in mirrors]
    assert all(u.startswith(("https://", "http://")) for u in urls)
    with pytest.raises(Exception, match="refusing to download"):
        sources._download("file:///etc/passwd")
    users = [p.name for p in SRC.rglob("*.py") if "urllib" in p.read_text()]
    assert users == ["sources.py"]


def test_npz_files_with_objects_are_refused(tmp_path):
    from segdend.errors import DataError
    from segdend.model.params import load_params

    np.savez(tmp_path / "evil.npz", W0=np.array([object()], dtype=object))
    with pytest.raises(DataError, match="not a readable npz"):
        load_params(tmp_path / "evil.npz")
