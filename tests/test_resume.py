"""Checkpoints and resume: an interrupted run ends exactly where an uninterrupted one does."""

import csv
from pathlib import Path

import numpy as np
import pytest

from segdend.errors import RunError
from segdend.model.params import load_params
from segdend.recording import RECORDING_FILES, Recorders
from segdend.runs import RunLock
from segdend.train import Trainer

from .conftest import tiny_config


class Interrupted(Exception):  # noqa: N818 (a simulated Ctrl-C, not an error)
    pass


def _config(*extra):
    return tiny_config(
        "train.epochs=2", "train.examples=30", "train.checkpoint_every=10",
        "train.quick_test_every=10", "train.quick_test_examples=10", "test.examples=10",
        "record.losses=true", "record.backprop_angle=true", *extra,
    )


def _rows(path: Path, drop: str | None = None) -> list[dict]:
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        row.pop(drop, None)
    return rows


def _train(run_dir, dataset, config, stop_after=None, monkeypatch=None):
    trainer = Trainer(config, run_dir, dataset, quiet=True, log=lambda m: None)
    if stop_after is not None:
        original = Recorders.add
        count = {"n": 0}

        def add(self, start, result):
            original(self, start, result)
            count["n"] += result.completed
            if count["n"] >= stop_after:
                raise Interrupted

        monkeypatch.setattr(Recorders, "add", add)
    return trainer


@pytest.mark.parametrize(("stop_after", "extra"), [
    (7, ("train.checkpoint_every=0",)),  # only the start checkpoint exists
    (17, ()),  # mid-epoch, between checkpoints
    (30, ()),  # at the epoch's end, before its test
    (44, ("model.kernel_steps=none", "model.plateaus=stochastic", "model.hidden=[12, 8]")),
    (17, ("record.jacobians=true", "record.params_epochs=[1]")),  # recorder state resumes
])
def test_resumed_run_matches_uninterrupted_run(tmp_path, small_mnist, monkeypatch, stop_after,
                                               extra):
    config = _config(*extra)
    whole = _train(tmp_path / "whole", small_mnist, config)
    whole.start()
    whole.train()

    run = tmp_path / "interrupted"
    trainer = _train(run, small_mnist, config, stop_after, monkeypatch)
    trainer.start()
    with pytest.raises(Interrupted):
        trainer.train()
    monkeypatch.undo()
    resumed = Trainer(config, run, small_mnist, quiet=True, log=lambda m: None)
    resumed.resume()
    resumed.train()

    a = load_params(tmp_path / "whole" / "params.npz")
    b = load_params(run / "params.npz")
    for x, y in zip(a.arrays().values(), b.arrays().values(), strict=True):
        assert np.array_equal(x, y)  # bitwise
    assert _rows(run / "metrics.csv", "seconds") == _rows(tmp_path / "whole" / "metrics.csv",
                                                          "seconds")
    for name in ("quick_tests.csv", *RECORDING_FILES):
        assert (run / name).is_file() == (tmp_path / "whole" / name).is_file()
        if (run / name).is_file():
            assert (run / name).read_text() == (tmp_path / "whole" / name).read_text()
    if config.record.jacobians:
        assert len(_rows(run / "recordings/jacobians.csv")) == 60  # one row per example
        kept = [load_params(d / "recordings/params-epoch0001.npz") for d in (tmp_path / "whole",
                                                                             run)]
        for x, y in zip(kept[0].arrays().values(), kept[1].arrays().values(), strict=True):
            assert np.array_equal(x, y)
    assert len(_rows(run / "metrics.csv")) == 3  # row 0 and two epochs


def test_corrupt_latest_checkpoint_falls_back_to_the_previous(tmp_path, small_mnist):
    config = _config("train.epochs=1")
    trainer = Trainer(config, tmp_path, small_mnist, quiet=True, log=lambda m: None)
    trainer.start()
    trainer.train()
    checkpoints = sorted((tmp_path / "checkpoints").glob("ckpt-*.npz"))
    checkpoints[-1].write_bytes(checkpoints[-1].read_bytes()[:100])  # truncate the newest
    warnings = []
    again = Trainer(config, tmp_path, small_mnist, quiet=True, log=warnings.append)
    again.resume()
    assert any("fails its checksum" in w for w in warnings)
    assert again.position.example > 0 or again.position.epoch == 0


def test_second_process_cannot_use_a_locked_run_and_stale_locks_are_taken(tmp_path):
    (tmp_path / ".lock").write_text("1")  # pid 1 is alive (init)
    with pytest.raises(RunError, match="in use by process 1"):
        RunLock(tmp_path).acquire()
    (tmp_path / ".lock").write_text("999999999")  # no such process
    with RunLock(tmp_path):
        assert (tmp_path / ".lock").read_text().strip() != "999999999"
    assert not (tmp_path / ".lock").exists()


def test_existing_run_is_never_overwritten(tmp_path, small_mnist):
    config = _config("train.epochs=1")
    Trainer(config, tmp_path, small_mnist, quiet=True, log=lambda m: None).start()
    before = (tmp_path / "config.toml").read_text()
    with pytest.raises(RunError, match="already holds a run"):
        Trainer(config, tmp_path, small_mnist, quiet=True, log=lambda m: None).start()
    assert (tmp_path / "config.toml").read_text() == before
