"""A longer run continued from a shorter one ends exactly where training it from scratch ends,
and the reproduction pairs Fig 8S1's 20-epoch runs with the 60-epoch runs they begin."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from segdend import sweep
from segdend.continuation import extend_run, same_but_epochs
from segdend.experiments.reproduce import chain_extensions, figures_for, sweep_run
from segdend.experiments.spec import SCALES
from segdend.model.params import load_params
from segdend.results.timing import extension_chains, measure_run

from .conftest import FIXTURE_DIR, tiny_reproduce_script

BASE = sweep.SweepBase(preset="code", set={
    "engine": "reference", "model.hidden": [20], "model.feedback": "sparse",
    "train.examples": 30, "test.examples": 20, "train.quick_test_every": 10,
    "train.quick_test_examples": 10, "train.checkpoint_every": 10, "phases.test_length": 60,
    "record.losses": True,
})


def _runs(tmp_path: Path) -> tuple[sweep.SweepRun, sweep.SweepRun, sweep.SweepRun]:
    short = sweep.SweepRun("short", {"train.epochs": 2}, tmp_path / "short", BASE, repeats=2)
    long = sweep.SweepRun("long", {"train.epochs": 3}, tmp_path / "long", BASE, repeats=2,
                          extends=short)
    scratch = sweep.SweepRun("scratch", {"train.epochs": 3}, tmp_path / "scratch", BASE,
                             repeats=2)
    return short, long, scratch


def _table(path: Path, drop: tuple[str, ...] = ("seconds",)) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return [{k: v for k, v in row.items() if k not in drop} for row in csv.DictReader(handle)]


def _events(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()]


def test_a_continued_run_is_bitwise_the_run_trained_from_scratch(tmp_path):
    short, long, scratch = _runs(tmp_path)
    result = sweep.execute_run(long, str(FIXTURE_DIR))
    assert result["status"] == "done" and result["extends"]["status"] == "done"
    assert sweep.flatten_results([result])[0]["name"] == "short"
    assert sweep.execute_run(scratch, str(FIXTURE_DIR))["status"] == "done"

    a, b = load_params(long.run_dir / "params.npz"), load_params(scratch.run_dir / "params.npz")
    assert all(np.array_equal(x, y) for x, y in zip(a.arrays().values(), b.arrays().values(),
                                                     strict=True))
    for name in ("metrics.csv", "quick_tests.csv", "repeated_tests.csv", "recordings/losses.csv"):
        assert _table(long.run_dir / name) == _table(scratch.run_dir / name), name
    assert len(_table(long.run_dir / "metrics.csv")) == 4  # epochs 0-3
    # the shorter run is whole and untouched: its own 2 epochs, parameters and repeated tests
    assert len(_table(short.run_dir / "metrics.csv")) == 3
    assert (short.run_dir / "repeated_tests.csv").is_file()
    # the longer run's events: the shared epochs once, then where they came from, then its own
    events = _events(long.run_dir)
    assert [e["epoch"] for e in events if e["event"] == "epoch"] == [1, 2, 3]
    assert {"event": "extended", "run": "short", "epochs": 2}.items() <= next(
        e for e in events if e["event"] == "extended").items()
    assert [e["event"] for e in events].count("finished") == 1
    # its compute counts only epoch 3 (epochs 0-2 are the shorter run's)
    own = float(_table(long.run_dir / "metrics.csv", drop=())[-1]["seconds"])
    assert measure_run(long.run_dir, "long", []).epochs_seconds == own
    assert measure_run(scratch.run_dir, "scratch", []).epochs_seconds > own

    # running the chain again trains nothing
    again = sweep.execute_run(long, str(FIXTURE_DIR))
    assert again["status"] == "skipped" and again["extends"]["status"] == "skipped"


@pytest.mark.parametrize("engine", ["reference", "fast"])
def test_a_run_continues_one_whose_measurement_only_recorders_it_lacks(tmp_path, engine):
    """The shorter run records the backprop angle, the longer run does not: the longer run
    still ends bit for bit where training it from scratch ends, without the shorter run's
    recording of the angle."""
    measured = {"record.backprop_angle": True, "engine": engine}
    plain = {"train.epochs": 3, "engine": engine}
    short = sweep.SweepRun("short", {"train.epochs": 2, **measured}, tmp_path / "short", BASE)
    long = sweep.SweepRun("long", plain, tmp_path / "long", BASE, extends=short)
    scratch = sweep.SweepRun("scratch", plain, tmp_path / "scratch", BASE)
    assert same_but_epochs(short.config(), long.config())
    # a recorder of the longer run must have run in the shared epochs
    assert not same_but_epochs(long.config(), sweep.SweepRun(
        "more", {"train.epochs": 4, **measured}, tmp_path / "more", BASE).config())
    # the Jacobian recorder trains one example per engine call: not measurement-only
    assert not same_but_epochs(sweep.SweepRun(
        "jacobians", {"train.epochs": 2, "record.jacobians": True, "engine": engine},
        tmp_path / "jacobians", BASE).config(), long.config())

    result = sweep.execute_run(long, str(FIXTURE_DIR))
    assert result["status"] == "done" and result["extends"]["status"] == "done"
    assert sweep.execute_run(scratch, str(FIXTURE_DIR))["status"] == "done"
    assert any(e["event"] == "extended" for e in _events(long.run_dir))
    a, b = load_params(long.run_dir / "params.npz"), load_params(scratch.run_dir / "params.npz")
    assert all(np.array_equal(x, y) for x, y in zip(a.arrays().values(), b.arrays().values(),
                                                     strict=True))
    for name in ("metrics.csv", "quick_tests.csv", "recordings/losses.csv"):
        assert _table(long.run_dir / name) == _table(scratch.run_dir / name), name
    assert (short.run_dir / "recordings" / "backprop_angle.csv").is_file()  # kept there
    assert not (long.run_dir / "recordings" / "backprop_angle.csv").exists()


def test_a_run_is_extended_only_from_the_same_settings_and_only_when_not_started(tmp_path):
    short, long, _ = _runs(tmp_path)
    assert sweep.execute_run(short, str(FIXTURE_DIR))["status"] == "done"
    other = sweep.SweepRun("other", {"train.epochs": 3, "model.feedback": "random"},
                           tmp_path / "other", BASE)
    assert not extend_run(short.run_dir, other.run_dir, other.config())
    assert not other.run_dir.exists()  # nothing written
    assert not extend_run(short.run_dir, tmp_path / "fewer", short.config())  # not longer
    long.run_dir.mkdir()
    (long.run_dir / "config.toml").write_text("")  # already holds a run
    assert not extend_run(short.run_dir, long.run_dir, long.config())
    (long.run_dir / "config.toml").unlink()
    (short.run_dir / "params.npz").rename(short.run_dir / "kept.npz")  # short unfinished
    assert not extend_run(short.run_dir, long.run_dir, long.config())
    (short.run_dir / "kept.npz").rename(short.run_dir / "params.npz")
    assert extend_run(short.run_dir, long.run_dir, long.config())
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging left
    assert same_but_epochs(short.config(), long.config())
    assert not same_but_epochs(long.config(), short.config())


def test_the_full_reproduction_trains_fig8s1s_shared_epochs_once(tmp_path):
    def planned() -> list[sweep.SweepRun]:
        runs = (sweep_run(spec, SCALES["full"], "mnist", "code", tmp_path)
                for figure in figures_for("all") for spec in figure.runs)
        return list({run.name: run for run in runs}.values())

    unique = planned()
    jobs = chain_extensions(unique)
    chained = {job.name: job.extends.name for job in jobs if job.extends is not None}
    assert chained == {
        "hidden-500_epochs-60_examples-60000": "hidden-500_epochs-20_examples-60000",
        "feedback-sparse_hidden-500_epochs-60_examples-60000":
            "feedback-sparse_hidden-500_epochs-20_examples-60000",
    }
    # Fig 7's 10-epoch network (which also records the backprop angle) begins the 20-epoch one
    twenty = next(job.extends for job in jobs
                  if job.name == "hidden-500_epochs-60_examples-60000")
    assert twenty.extends.name == "hidden-500_backprop_angle-True_epochs-10_examples-60000"
    assert twenty.extends.extends is None
    assert len(jobs) == len(unique) - 3
    assert extension_chains("full", "mnist", "code") == {
        "hidden-500_epochs-60_examples-60000": ("hidden-500_epochs-20_examples-60000", 20),
        "hidden-500_epochs-20_examples-60000":
            ("hidden-500_backprop_angle-True_epochs-10_examples-60000", 10),
        "feedback-sparse_hidden-500_epochs-60_examples-60000":
            ("feedback-sparse_hidden-500_epochs-20_examples-60000", 20),
    }
    # a longer run already started keeps its own training; the shorter one is a job again
    fresh = planned()
    started = next(r for r in fresh if r.name == "hidden-500_epochs-60_examples-60000")
    started.run_dir.mkdir(parents=True)
    (started.run_dir / "config.toml").write_text("")
    names = {job.name for job in chain_extensions(fresh)}
    assert "hidden-500_epochs-20_examples-60000" in names
    assert "feedback-sparse_hidden-500_epochs-20_examples-60000" not in names


TINY_ALL = tiny_reproduce_script(epochs=2, examples=40)


def test_reproduce_all_continues_the_longer_runs_and_makes_every_figure(tmp_path):
    import subprocess
    import sys

    script = tmp_path / "tiny_all.py"
    script.write_text(TINY_ALL)
    out = tmp_path / "reproduction"
    result = subprocess.run([sys.executable, str(script), "all", str(out), "code", "2"],
                            capture_output=True, text=True, check=False, timeout=1200)
    assert result.returncode == 0, result.stderr[-2000:]
    assert all((out / figure / "summary.md").is_file() for figure in
               ("fig3", "fig4", "fig5", "fig5s1", "fig6", "fig6s1", "fig7", "fig8", "fig8s1",
                "fig9"))
    for short, long in (("hidden-500_epochs-1_examples-40", "hidden-500_epochs-2_examples-40"),
                        ("feedback-sparse_hidden-500_epochs-1_examples-40",
                         "feedback-sparse_hidden-500_epochs-2_examples-40")):
        events = _events(out / "runs" / long)
        assert [e["epoch"] for e in events if e["event"] == "epoch"] == [1, 2]
        assert any(e["event"] == "extended" and e["run"] == short for e in events), long
        first = _table(out / "runs" / long / "metrics.csv")[:2]
        assert first == _table(out / "runs" / short / "metrics.csv")  # the same epochs 0-1
        assert f"done     {short}" in result.stdout  # reported as a run of its own
