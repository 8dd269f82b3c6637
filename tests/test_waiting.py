"""A second ``segdend reproduce`` or ``sweep`` on a folder whose run is locked by another live
process waits for that run (announcing it once), then uses or resumes it and finishes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from segdend import sweep
from segdend.runs import lock_holder

from .conftest import FIXTURE_DIR
from .test_results import TINY

HOLDER = """
import sys, time
from pathlib import Path
from segdend.runs import RunLock

run_dir, release = Path(sys.argv[1]), Path(sys.argv[2])
run_dir.mkdir(parents=True, exist_ok=True)
lock = RunLock(run_dir)
lock.acquire()
print("locked", flush=True)
while not release.exists():
    time.sleep(0.05)
lock.release()
"""

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
seeds = [0, 1]
"""


def _hold(tmp_path: Path, run_dir: Path) -> tuple[subprocess.Popen, Path]:
    """A second, real process that holds the run's lock until ``release`` exists."""
    script = tmp_path / "holder.py"
    script.write_text(HOLDER)
    release = tmp_path / "release"
    holder = subprocess.Popen([sys.executable, str(script), str(run_dir), str(release)],
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
    assert lock_holder(run_dir) == holder.pid
    return holder, release


def _wait_for_text(path: Path, text: str, process: subprocess.Popen, timeout: float = 120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if path.is_file() and text in path.read_text():
            return
        assert process.poll() is None, path.read_text()
        time.sleep(0.1)
    raise AssertionError(f"'{text}' never appeared in {path}: {path.read_text()}")


def test_reproduce_waits_for_a_run_held_by_another_process_and_finishes(tmp_path):
    out = tmp_path / "reproduction"
    run_dir = out / "runs" / "hidden-500_epochs-1_examples-60"
    holder, release = _hold(tmp_path, run_dir)
    script = tmp_path / "tiny_reproduce.py"
    script.write_text(TINY)
    log = tmp_path / "log.txt"
    with open(log, "w") as handle:
        process = subprocess.Popen([sys.executable, str(script), "fig8s1", str(out)],
                                   stdout=handle, stderr=subprocess.STDOUT, text=True)
        try:
            message = f"waiting for hidden-500_epochs-1_examples-60: held by pid {holder.pid}"
            _wait_for_text(log, message, process)
            time.sleep(2 * sweep.WAIT_POLL_SECONDS)  # it keeps waiting, silently
            assert process.poll() is None
            release.touch()
            assert holder.wait(timeout=30) == 0
            assert process.wait(timeout=300) == 0, log.read_text()
        finally:
            if process.poll() is None:
                process.kill()
    text = log.read_text()
    assert text.count("waiting for") == 1
    assert "failed" not in text and "skipped, its run(s)" not in text
    assert (run_dir / "params.npz").is_file()
    summary = json.loads((out / "fig8s1" / "summary.json").read_text())
    assert summary["timing"]["runs_trained"] == 3


def test_sweep_resumes_a_run_whose_holder_died(tmp_path):
    path = tmp_path / "study.toml"
    path.write_text(SWEEP)
    out = tmp_path / "sweep"
    runs = sweep.load_sweep(path, out)
    holder, _ = _hold(tmp_path, runs[0].run_dir)
    log = tmp_path / "log.txt"
    with open(log, "w") as handle:
        process = subprocess.Popen(
            [sys.executable, "-m", "segdend", "sweep", str(path), "--workers", "2", "--out",
             str(out), "--data-dir", str(FIXTURE_DIR)],
            stdout=handle, stderr=subprocess.STDOUT, text=True)
        try:
            _wait_for_text(log, f"waiting for {runs[0].name}: held by pid {holder.pid}",
                           process)
            os.kill(holder.pid, signal.SIGKILL)  # dies holding the lock: a stale lock remains
            holder.wait(timeout=30)
            assert (runs[0].run_dir / ".lock").is_file()
            assert process.wait(timeout=300) == 0, log.read_text()
        finally:
            if process.poll() is None:
                process.kill()
    assert "sweep finished: 2 run, 0 already done, 0 failed" in log.read_text()
    assert all(sweep.run_is_finished(r.run_dir) for r in runs)
    assert not (runs[0].run_dir / sweep.ERROR_FILE).exists()
