"""Ctrl-C during ``segdend train``: the message names the interrupted run, and the command it
prints continues that run."""

from __future__ import annotations

import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

from segdend.cli import main
from segdend.recording import Recorders

from .conftest import FIXTURE_DIR

TINY = [
    "--set", "engine=reference", "--set", "model.hidden=[20]", "--set", "train.epochs=1",
    "--set", "train.examples=40", "--set", "test.examples=20", "--set", "phases.test_length=60",
    "--set", "train.quick_test_every=0", "--set", "train.checkpoint_every=10",
]
DATA = ["--data-dir", str(FIXTURE_DIR), "--quiet"]


def _interrupt_after(monkeypatch, examples: int) -> None:
    """Press Ctrl-C (raise KeyboardInterrupt) once ``examples`` examples have been trained."""
    original = Recorders.add
    seen = {"n": 0}

    def add(self, start, result):
        original(self, start, result)
        seen["n"] += result.completed
        if seen["n"] >= examples:
            raise KeyboardInterrupt

    monkeypatch.setattr(Recorders, "add", add)


def _resume_command(stderr: str) -> list[str]:
    line = stderr.strip().splitlines()[-1]
    assert line.startswith("segdend: interrupted; continue the run with: segdend train --resume ")
    return shlex.split(line.split(": segdend ", 1)[1])


def test_interrupted_run_names_its_directory_and_that_command_resumes_it(tmp_path, monkeypatch,
                                                                          capsys):
    run = tmp_path / "a run"  # a space: the printed command quotes the path
    _interrupt_after(monkeypatch, 20)
    assert main(["train", *TINY, "--run-dir", str(run), *DATA]) == 130
    command = _resume_command(capsys.readouterr().err)
    assert command == ["train", "--resume", str(run)]
    assert not (run / "params.npz").exists()  # really interrupted mid-training

    # Interrupted again while resuming: the message names the resumed run.
    assert main([*command, *DATA]) == 130
    assert _resume_command(capsys.readouterr().err) == command

    monkeypatch.undo()
    assert main([*command, *DATA]) == 0
    assert (run / "params.npz").is_file()
    assert f"run finished: {run}" in capsys.readouterr().out


def test_interrupted_before_the_run_starts_says_there_is_nothing_to_resume(tmp_path, monkeypatch,
                                                                          capsys):
    def start(self, *args, **kwargs):  # Ctrl-C before the run's config.toml is written
        raise KeyboardInterrupt

    monkeypatch.setattr("segdend.train.Trainer.start", start)
    run = tmp_path / "run"
    assert main(["train", *TINY, "--run-dir", str(run), *DATA]) == 130
    message = capsys.readouterr().err.strip()
    assert message == f"segdend: interrupted before the run in {run} started; nothing to resume"


def test_interrupt_outside_a_training_run_prints_no_run(monkeypatch, capsys):
    def config(args):
        raise KeyboardInterrupt

    monkeypatch.setattr("segdend.cli.cmd_config", config)
    assert main(["config"]) == 130
    assert capsys.readouterr().err.strip() == "segdend: interrupted"


def test_the_message_names_a_relative_run_directory_as_given(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    _interrupt_after(monkeypatch, 10)
    assert main(["train", *TINY, "--run-dir", "runs/r1", *DATA]) == 130
    assert _resume_command(capsys.readouterr().err) == ["train", "--resume", "runs/r1"]
    assert (Path(tmp_path) / "runs/r1/config.toml").is_file()


def test_sigint_during_a_real_run_names_the_run(tmp_path):
    """A real Ctrl-C (SIGINT) once the run has passed its first test."""
    run = tmp_path / "run"
    args = ["train", *TINY, "--set", "train.examples=2000", "--run-dir", str(run), *DATA]
    # SIGINT may be ignored where the tests run (a background job): restore Python's handler.
    code = ("import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
            "from segdend.cli import main; sys.exit(main(sys.argv[1:]))")
    child = subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not _rows_written(run / "metrics.csv"):  # row 0: training has begun
            assert child.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=120)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == 130, out + err
    assert _resume_command(err) == ["train", "--resume", str(run)]
    assert not (run / "params.npz").exists()


def _rows_written(path: Path) -> bool:
    return path.is_file() and len(path.read_text().splitlines()) >= 2
