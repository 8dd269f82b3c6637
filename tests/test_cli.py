"""The command line end to end, and its one-line errors."""

import csv
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from segdend.cli import main
from segdend.model.params import initialise, load_params, save_params

from .conftest import FIXTURE_DIR, tiny_config

TINY = [
    "--set", "engine=reference", "--set", "model.hidden=[20]", "--set", "train.epochs=2",
    "--set", "train.examples=40", "--set", "test.examples=30", "--set", "phases.test_length=60",
    "--set", "train.quick_test_every=20", "--set", "train.quick_test_examples=10",
    "--set", "train.checkpoint_every=20",
]


def _segdend(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "segdend", *args], capture_output=True,
                          text=True, cwd=cwd, check=False)


def _metrics(run: Path) -> list[dict]:
    with open(run / "metrics.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def test_train_then_test_end_to_end(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", *TINY, "--run-dir", str(run), "--data-dir", str(FIXTURE_DIR),
                 "--quiet"]) == 0
    rows = _metrics(run)
    assert [r["epoch"] for r in rows] == ["0", "1", "2"]
    assert set(rows[0]) >= {"epoch", "test_error", "train_error", "seconds"}
    assert all(0 <= float(r["test_error"]) <= 100 for r in rows)
    assert rows[0]["train_error"] == ""
    for name in ("config.toml", "params.npz", "quick_tests.csv", "events.jsonl",
                 "checkpoints/manifest.json"):
        assert (run / name).exists(), name
    assert "test error" in capsys.readouterr().out

    assert main(["test", str(run), "--repeats", "3", "--data-dir", str(FIXTURE_DIR),
                 "--quiet"]) == 0
    with open(run / "repeated_tests.csv", newline="") as handle:
        errors = [float(r["test_error"]) for r in csv.DictReader(handle)]
    assert len(errors) == 3 and len(set(errors)) > 1  # spike sampling differs between repeats


def test_resume_of_a_finished_run_changes_nothing(tmp_path):
    run = tmp_path / "run"
    main(["train", *TINY, "--set", "train.epochs=1", "--run-dir", str(run), "--data-dir",
          str(FIXTURE_DIR), "--quiet"])
    before = (run / "metrics.csv").read_text()
    assert main(["train", "--resume", str(run), "--data-dir", str(FIXTURE_DIR), "--quiet"]) == 0
    assert (run / "metrics.csv").read_text() == before


def test_init_params_and_order_file_fix_the_run(tmp_path):
    params = initialise(tiny_config("seed=99"), 784)
    init = tmp_path / "init.npz"
    save_params(params, init)
    order = tmp_path / "order.txt"
    order.write_text(" ".join(str(i) for i in range(40, 0, -1)))
    runs = []
    for seed in ("1", "2"):
        run = tmp_path / f"run{seed}"
        args = ["train", *TINY, "--set", "train.epochs=1", "--set", f"seed={seed}",
                "--set", f"train.order_file='{order}'", "--set", "model.mode=rate",
                "--init-params", str(init), "--run-dir", str(run), "--data-dir",
                str(FIXTURE_DIR), "--quiet"]
        assert main(args) == 0
        runs.append(load_params(run / "params.npz"))
        assert np.array_equal(load_params(run / "initial_params.npz").weights[0],
                              params.weights[0])
    # Rate mode has no spikes: with the same initial weights and order the seed is irrelevant.
    assert np.array_equal(runs[0].weights[0], runs[1].weights[0])


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["train", "--set", "model.hidden=[500, 0]"], "config key 'model.hidden'"),
        (["train", "--set", "no.such=1"], "unknown config key 'no.such'"),
        (["train", "--config", "missing.toml"], "config file 'missing.toml' does not exist"),
        (["train", "--resume", "nowhere"], "'nowhere' is not a run directory"),
        (["test", "nowhere"], "'nowhere' is not a run directory"),
        (["train", "--set", "model.mode=rate", "--set", "dataset=nothing.npz"],
         "dataset file 'nothing.npz' does not exist"),
    ],
)
def test_bad_input_is_a_one_line_error_without_traceback(tmp_path, args, fragment):
    result = _segdend(*args, "--quiet", cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert fragment in lines[0] and "Traceback" not in result.stderr


def test_bad_init_params_are_a_clear_error(tmp_path):
    bad = tmp_path / "bad.npz"
    np.savez(bad, W0=np.zeros((3, 3)))
    result = _segdend("train", *TINY, "--init-params", str(bad), "--data-dir", str(FIXTURE_DIR),
                      "--run-dir", str(tmp_path / "r"), "--quiet")
    assert result.returncode == 2
    assert "array 'W0' has shape (3, 3), expected (20, 784)" in result.stderr
    assert "Traceback" not in result.stderr


def test_console_script_help():
    result = _segdend("--help")
    assert result.returncode == 0
    for command in ("train", "test", "data", "demo", "config"):
        assert command in result.stdout
