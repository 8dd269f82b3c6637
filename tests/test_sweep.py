"""Sweeps: expansion, one-line errors, local pool and Dask, idempotence, a killed worker."""

import csv
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segdend import sweep
from segdend.errors import ConfigError
from segdend.model.params import load_params

from .conftest import FIXTURE_DIR

SWEEP = """
[base]
preset = "code"
[base.set]
"model.mode" = "rate"
"model.hidden" = [30]
"train.epochs" = 1
"train.examples" = 200
"test.examples" = 50
"train.quick_test_every" = 0
[grid]
"model.feedback" = ["random", "sparse"]
seeds = [0, 1]
"""


def _write(tmp_path: Path, text: str = SWEEP) -> Path:
    path = tmp_path / "study.toml"
    path.write_text(text)
    return path


def _segdend(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "segdend", *args], capture_output=True,
                          text=True, cwd=cwd, check=False)


def test_expansion_gives_stable_readable_names(tmp_path):
    runs = sweep.load_sweep(_write(tmp_path), tmp_path / "out")
    assert [r.name for r in runs] == [
        "feedback-random_seed-0", "feedback-random_seed-1",
        "feedback-sparse_seed-0", "feedback-sparse_seed-1",
    ]
    assert runs[3].overrides == {"model.feedback": "sparse", "seed": 1}
    config = runs[3].config()
    assert config.model.feedback == "sparse" and config.seed == 1 and config.model.mode == "rate"
    assert runs[0].run_dir == tmp_path / "out" / "feedback-random_seed-0"
    default = sweep.load_sweep(_write(tmp_path))[0].run_dir
    assert default == Path("runs/study/feedback-random_seed-0")


def test_explicit_runs_are_crossed_with_the_grid(tmp_path):
    text = SWEEP + '\n[[runs]]\n"model.hidden" = [30]\n[[runs]]\n"model.hidden" = [30, 10]\n'
    runs = sweep.load_sweep(_write(tmp_path, text))
    assert len(runs) == 8
    assert runs[-1].name == "hidden-30-10_feedback-sparse_seed-1"


@pytest.mark.parametrize(("text", "fragment"), [
    ('[grid]\n"model.feedback" = "random"\n', "'grid.model.feedback': Input should be a valid"),
    ('[grid]\n"model.feedback" = []\n', "empty list"),
    ('[gird]\nseeds = [0]\n', "'gird': unknown section"),
    ('[grid]\n"model.colour" = [1, 2]\n', "run 'colour-1': unknown config key 'model.colour'"),
    ('[grid]\n"model.hidden" = [[0]]\n', "run 'hidden-0'"),
    ('[grid\n', "is not valid TOML"),
    ('[grid]\n"seed" = [1, 1]\n', "identical overrides"),
])
def test_malformed_sweep_files_are_one_line_errors(tmp_path, text, fragment):
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        sweep.load_sweep(path)
    assert fragment in str(info.value) and "\n" not in str(info.value)
    result = _segdend("sweep", str(path), "--quiet")
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1


def test_local_pool_runs_skips_and_matches_a_serial_sweep(tmp_path):
    path = _write(tmp_path)
    args = ["--data-dir", str(FIXTURE_DIR), "--quiet"]
    first = _segdend("sweep", str(path), "--workers", "2", "--out", str(tmp_path / "par"), *args)
    assert first.returncode == 0, first.stderr
    assert "4 run, 0 already done" in first.stdout
    again = _segdend("sweep", str(path), "--workers", "2", "--out", str(tmp_path / "par"), *args)
    assert again.returncode == 0 and "0 run, 4 already done" in again.stdout
    serial = _segdend("sweep", str(path), "--workers", "1", "--out", str(tmp_path / "ser"), *args)
    assert serial.returncode == 0
    for run in sweep.load_sweep(path, tmp_path / "par"):
        a = load_params(run.run_dir / "params.npz")
        b = load_params(tmp_path / "ser" / run.name / "params.npz")
        assert all(np.array_equal(x, y) for x, y in zip(a.arrays().values(),
                                                         b.arrays().values(), strict=True))

    status = _segdend("sweep", "status", str(path), "--out", str(tmp_path / "par"))
    assert status.stdout.count("done ") == 4 and "4 done" in status.stdout
    collect = _segdend("sweep", "collect", str(path), "--out", str(tmp_path / "par"))
    assert collect.returncode == 0
    with open(tmp_path / "par" / "results.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 4
    assert {r["model.feedback"] for r in rows} == {"random", "sparse"}
    assert all(0 <= float(r["test_error"]) <= 100 for r in rows)
    assert (tmp_path / "par" / "results.png").stat().st_size > 0


def test_status_reports_pending_and_failed_runs(tmp_path):
    path = _write(tmp_path)
    runs = sweep.load_sweep(path, tmp_path / "out")
    assert sweep.run_status(runs[0]) == ("pending", "")
    runs[1].run_dir.mkdir(parents=True)
    (runs[1].run_dir / sweep.ERROR_FILE).write_text("segdend: disk full\nmore")
    assert sweep.run_status(runs[1]) == ("failed", "segdend: disk full")


def test_dask_local_cluster_with_two_worker_processes(tmp_path):
    distributed = pytest.importorskip("distributed")
    runs = sweep.load_sweep(_write(tmp_path), tmp_path / "dask")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        results = sweep.run_dask(runs, client, str(FIXTURE_DIR), progress=lambda m: None)
    assert [r["status"] for r in results] == ["done"] * 4
    assert all(sweep.run_is_finished(r.run_dir) for r in runs)


def test_a_killed_worker_is_retried_and_its_run_ends_as_if_uninterrupted(tmp_path):
    text = SWEEP.replace('"model.mode" = "rate"', '"engine" = "reference"').replace(
        '"train.examples" = 200', '"train.examples" = 400\n"train.checkpoint_every" = 10')
    path = _write(tmp_path, text)
    runs = sweep.load_sweep(path, tmp_path / "killed")
    process = subprocess.Popen(
        [sys.executable, "-m", "segdend", "sweep", str(path), "--workers", "2", "--out",
         str(tmp_path / "killed"), "--data-dir", str(FIXTURE_DIR)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    target = runs[0].run_dir
    deadline = time.time() + 120
    killed = False
    import os

    while time.time() < deadline and not killed:
        manifest = target / "checkpoints" / "manifest.json"
        lock = target / ".lock"
        if manifest.is_file() and manifest.read_text().count("ckpt-") >= 3 and lock.is_file():
            pid = int(lock.read_text())
            os.kill(pid, signal.SIGKILL)
            killed = True
        time.sleep(0.05)
    stdout, stderr = process.communicate(timeout=300)
    assert killed, "the run finished before it could be killed"
    assert process.returncode == 0, stderr
    assert "a worker died; retrying" in stdout
    serial = tmp_path / "serial"
    result = _segdend("sweep", str(path), "--workers", "1", "--out", str(serial), "--data-dir",
                      str(FIXTURE_DIR), "--quiet")
    assert result.returncode == 0
    a = load_params(target / "params.npz")
    b = load_params(serial / runs[0].name / "params.npz")
    assert all(np.array_equal(x, y) for x, y in zip(a.arrays().values(), b.arrays().values(),
                                                     strict=True))


_values = st.one_of(st.integers(-3, 3), st.text(max_size=5), st.booleans(),
                    st.lists(st.integers(0, 3), max_size=3))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(["base", "grid", "runs", "seeds", "other"]),
                       st.one_of(_values, st.dictionaries(
                           st.sampled_from(["preset", "set", "seeds", "model.mode",
                                            "train.epochs", "config"]),
                           st.one_of(_values, st.lists(_values, max_size=3)), max_size=3)),
                       max_size=3))
def test_fuzz_the_sweep_loader(tree):
    import json
    import tempfile

    def render(value):
        return json.dumps(value) if not isinstance(value, bool) else str(value).lower()

    lines = []
    tables = []
    for key, value in tree.items():
        if isinstance(value, dict):
            tables.append(f"[{key}]\n" + "\n".join(
                f'"{k}" = {render(v)}' for k, v in value.items()))
        else:
            lines.append(f'"{key}" = {render(value)}')
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "s.toml"
        path.write_text("\n".join(lines + tables))
        try:
            runs = sweep.load_sweep(path)
        except ConfigError as error:
            assert "\n" not in str(error)
            return
        assert runs and all(r.name for r in runs)


def test_sigterm_to_the_main_process_stops_the_workers(tmp_path):
    """``kill PID`` of ``segdend sweep``: exit 130 at once, its runs left to resume (a worker
    allowed to go on would finish its run and write params.npz)."""
    study = _write(tmp_path, SWEEP.replace('"rate"', '"spiking"').replace(
        '"train.examples" = 200', '"train.examples" = 3000').replace(
        '["random", "sparse"]', '["random"]').replace("[0, 1]", "[0]"))
    out = tmp_path / "out"
    process = subprocess.Popen(
        [sys.executable, "-m", "segdend", "sweep", str(study), "--out", str(out), "--workers",
         "1", "--data-dir", str(FIXTURE_DIR), "--quiet"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while not list(out.glob("*/metrics.csv")) and time.monotonic() < deadline:
        assert process.poll() is None, process.stderr.read()
        time.sleep(0.2)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert "interrupted" in stderr
    assert not list(out.glob("*/params.npz"))
