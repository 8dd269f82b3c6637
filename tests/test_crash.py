"""Crash safety: a run killed with SIGKILL at random moments ends bitwise where an uninterrupted
run ends (bounded: a small network, a short run, 20 kills)."""

import csv
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from segdend.model.params import load_params

from .conftest import FIXTURE_DIR

ARGS = [
    "--set", "engine=reference", "--set", "model.hidden=[20]", "--set", "train.epochs=2",
    "--set", "train.examples=300", "--set", "test.examples=20", "--set", "phases.test_length=60",
    "--set", "train.quick_test_every=20", "--set", "train.quick_test_examples=10",
    "--set", "train.checkpoint_every=3", "--set", "record.losses=true",
    "--data-dir", str(FIXTURE_DIR), "--quiet",
]


def _command(run: Path) -> list[str]:
    base = [sys.executable, "-m", "segdend", "train"]
    if (run / "config.toml").exists():
        return [*base, "--resume", str(run), "--data-dir", str(FIXTURE_DIR), "--quiet"]
    return [*base, *ARGS, "--run-dir", str(run)]


def _rows(path: Path) -> list[dict]:
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        row.pop("seconds", None)
    return rows


def test_sigkill_at_20_random_moments_then_resume_gives_identical_weights(tmp_path):
    whole = tmp_path / "whole"
    subprocess.run(_command(whole), check=True, capture_output=True)

    run = tmp_path / "killed"
    chooser = random.Random(2017)
    kills = 0
    while kills < 20:
        process = subprocess.Popen(_command(run), stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE)
        time.sleep(chooser.uniform(0.3, 1.0))
        if process.poll() is not None:  # it finished (or failed) before the kill
            stderr = process.stderr.read().decode()
            assert process.returncode == 0, stderr
            break
        process.send_signal(signal.SIGKILL)
        process.wait()
        process.stderr.close()
        kills += 1
    result = subprocess.run(_command(run), capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert kills >= 15  # nearly every try interrupted the run

    a = load_params(whole / "params.npz")
    b = load_params(run / "params.npz")
    for name, array in a.arrays().items():
        assert np.array_equal(array, b.arrays()[name]), name  # bitwise
    assert _rows(run / "metrics.csv") == _rows(whole / "metrics.csv")
    for name in ("quick_tests.csv", "recordings/losses.csv"):
        assert (run / name).read_text() == (whole / name).read_text(), name
    assert not list(run.glob(".*.tmp")) and not (run / ".lock").exists()
