"""The public Python API: Network, Simulation, Run and the top-level functions (issue 15)."""

from __future__ import annotations

import subprocess
import sys
import types

import numpy as np
import pandas as pd
import pytest

import segdend
from segdend.cli import main
from segdend.model.params import load_params
from segdend.progress import bars_wanted, in_notebook
from tests.conftest import FIXTURE_DIR

TINY = {"engine": "reference", "train.quick_test_every": 0, "train.checkpoint_every": 0,
        "test.examples": 40, "phases.test_length": 60}


def test_every_public_name_resolves_and_import_is_lazy():
    for name in segdend.__all__:
        assert getattr(segdend, name) is not None, name
    code = ("import sys, segdend; print('numba' in sys.modules, 'segdend.network' in "
            "sys.modules); segdend.Network; print('segdend.network' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["False", "False", "True"]
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        _ = segdend.nothing


def test_network_resolves_and_validates_its_config():
    net = segdend.Network(hidden=[500, 100], preset="paper", seed=3,
                          model__apical_conductance=0.05,
                          settings={"train.epochs": 2})
    assert net.config.model.hidden == [500, 100]
    assert net.config.model.kernel_steps is None  # the paper preset's untruncated kernel
    assert net.config.model.apical_conductance == 0.05 and net.config.train.epochs == 2
    assert net.sizes == [784, 500, 100, 10] and not net.is_fitted
    text = repr(net)
    assert text.startswith("Network(784-500-100-10, preset='paper'")
    assert "model.apical_conductance=0.05" in text and "kernel_steps" not in text
    with pytest.raises(segdend.ConfigError, match="unknown config key 'model.nothing'"):
        segdend.Network(model__nothing=1)
    with pytest.raises(segdend.ConfigError, match="model.hidden"):
        segdend.Network(hidden=[0])
    with pytest.raises(segdend.RunError, match="no parameters yet"):
        net.predict(np.zeros((1, 784), dtype=np.uint8))


def test_fit_in_memory_learns_and_keeps_its_history(small_mnist):
    net = segdend.Network(hidden=[100], mode="rate", seed=3, settings={
        "train.quick_test_every": 0, "test.examples": 500})
    assert net.fit(small_mnist, epochs=2, examples=2000, progress=False) is net
    history = net.history_
    assert isinstance(history, pd.DataFrame)
    assert list(history["epoch"]) == [0, 1, 2]
    assert history["test_error"].iloc[0] > 80  # untrained: chance
    assert net.run_dir_ is None
    error = net.test_error(small_mnist)
    assert error < 30  # well below chance (90 %) on the held-out test images
    accuracy = net.score(small_mnist.test_images[:500], small_mnist.test_labels[:500])
    assert accuracy == pytest.approx(1 - error / 100)
    square = small_mnist.test_images[:5].reshape(5, 28, 28)
    assert np.array_equal(net.predict(square), net.predict(small_mnist.test_images[:5]))
    with pytest.raises(segdend.DataError, match="784 pixels"):
        net.predict(np.zeros((2, 10)))
    with pytest.raises(segdend.DataError, match="floats in"):
        net.predict(np.full((1, 784), 3.0))


def test_fit_with_a_run_dir_equals_the_command_line(tmp_path, small_mnist):
    settings = {**TINY, "model.hidden": [20], "train.examples": 30, "train.epochs": 1}
    net = segdend.Network(seed=5, settings=settings)
    net.fit(small_mnist, run_dir=tmp_path / "api", progress=False)
    sets = [f"--set={key}={value!r}".replace("'", '"') if isinstance(value, str)
            else f"--set={key}={value}" for key, value in settings.items()]
    assert main(["train", *sets, "--set=seed=5", "--set=dataset=\"mnist\"",
                 "--data-dir", str(FIXTURE_DIR), "--run-dir", str(tmp_path / "cli"),
                 "--quiet"]) == 0
    cli = load_params(tmp_path / "cli" / "params.npz")
    for ours, theirs in zip(net.params_.arrays().values(), cli.arrays().values(), strict=True):
        assert np.array_equal(ours, theirs)
    run = segdend.Run(tmp_path / "api")
    assert run.is_finished and repr(run).endswith("finished)")
    assert run.metrics["test_error"].tolist() == segdend.Run(tmp_path / "cli").metrics[
        "test_error"].tolist()
    assert run.metrics.equals(net.history_)
    assert "losses" in run.recordings
    losses = run.recording("losses")
    assert len(losses) == 30 and "output_loss" in losses.columns
    with pytest.raises(segdend.DataError, match="no recording 'angles'"):
        run.recording("angles")
    assert run.events[0]["event"] == "start"
    epoch = next(e for e in run.events if e["event"] == "epoch")
    assert epoch["test_seconds"] > 0 and epoch["quick_test_seconds"] >= 0  # where time goes
    assert epoch["cpu_seconds"] > 0  # CPU time: less inflated by a shared machine
    initial = [e for e in run.events if e["event"] == "initial_test"]
    assert len(initial) == 1 and initial[0]["cpu_seconds"] > 0
    assert initial[0]["test_error"] == run.metrics["test_error"].iloc[0]
    # A second fit into the same directory is refused, nothing is overwritten.
    before = (tmp_path / "api" / "metrics.csv").read_bytes()
    with pytest.raises(segdend.RunError, match="already holds a run"):
        net.fit(small_mnist, run_dir=tmp_path / "api", progress=False)
    assert (tmp_path / "api" / "metrics.csv").read_bytes() == before


def test_run_test_equals_segdend_test_and_the_network_reloads(tmp_path, small_mnist, capsys):
    settings = {**TINY, "model.hidden": [20], "train.examples": 20, "train.epochs": 1,
                "model.mode": "spiking"}
    segdend.Network(seed=2, settings=settings).fit(small_mnist, run_dir=tmp_path / "r",
                                                   progress=False)
    run = segdend.Run(tmp_path / "r")
    errors = run.test(3, examples=40, progress=False, data_dir=FIXTURE_DIR)
    first = run.repeated_tests
    timed = [e for e in run.events if e["event"] == "repeated_tests"]
    assert [(e["repeats"], e["images"]) for e in timed] == [(3, 40)] and timed[0]["seconds"] > 0
    assert timed[0]["cpu_seconds"] > 0
    assert first["test_error"].round(4).tolist() == [round(e, 4) for e in errors]
    assert main(["test", str(tmp_path / "r"), "--repeats", "3", "--examples", "40",
                 "--data-dir", str(FIXTURE_DIR), "--quiet"]) == 0
    assert run.repeated_tests.equals(first)
    net = segdend.Network.from_run(tmp_path / "r")
    assert net.run_dir_ == tmp_path / "r"
    assert net.test_error(small_mnist, examples=40, repeat=1) == pytest.approx(errors[1])
    path = net.save_params(tmp_path / "p.npz")
    again = segdend.Network(seed=2, settings=settings).load_params(path)
    for ours, theirs in zip(net.params_.arrays().values(), again.params_.arrays().values(),
                            strict=True):
        assert np.array_equal(ours, theirs)
    with pytest.raises(segdend.DataError, match="hidden layers"):
        segdend.Network(hidden=[30]).load_params(path)
    with pytest.raises(segdend.RunError, match="not a run directory"):
        segdend.Run(tmp_path / "nowhere")


def test_simulate_gives_named_arrays_and_the_teacher_pulls_the_output(small_mnist):
    net = segdend.Network(hidden=[30], seed=1, engine="reference").initialise()
    label = int(small_mnist.test_labels[0])
    sim = net.simulate(small_mnist.test_images[0], label, forward_ms=40, target_ms=60)
    assert sim.dims == ("time", "neuron") and sim.layers == ["hidden1", "output"]
    assert sim.soma[0].shape == (100, 30) and sim.soma[1].shape == (100, 10)
    assert sim.forward_length == 40 and list(sim.phase[39:41]) == ["forward", "target"]
    assert np.all(sim.apical[1] == 0)  # the output layer has no apical dendrite
    # In the target phase the teaching current (Eq. 19) drives the label's unit above the rest.
    target = sim.soma[1][sim.phase == "target"][20:].mean(axis=0)
    assert target.argmax() == label and target[label] > np.delete(target, label).max() + 1
    table = sim.to_dataframe(layer="hidden1", neurons=[0, 5])
    assert list(table.columns) == ["time_ms", "phase", "layer", "neuron", "apical", "basal",
                                   "soma", "spikes"]
    assert len(table) == 200
    assert table.query("neuron == 5")["soma"].to_numpy() == pytest.approx(sim.soma[0][:, 5])
    figure = sim.plot({"hidden1": [0], -1: [label]})
    assert len(figure.axes) == 2
    alpha = sim.plateaus()[0]  # Eq. 5 over the last 20 steps of each phase (code preset)
    assert alpha.shape == (2, 30) and sim.averaging_windows == ((20, 40), (40, 60))
    assert alpha[1] == pytest.approx(1 / (1 + np.exp(-sim.apical[0][80:100].mean(axis=0))))
    with pytest.raises(KeyError, match="unknown layer"):
        sim.to_dataframe(layer="hidden7")
    with pytest.raises(segdend.ConfigError, match="rate mode"):
        segdend.Network(mode="rate").initialise().simulate(small_mnist.test_images[0], 1)


def test_plasticity_and_sweep_from_python(tmp_path):
    result = segdend.run_plasticity({"pairings": 5, "response_trials": 3,
                                     "sweep_onsets_ms": [10, 60]}, out=tmp_path / "p")
    assert result["early"]["delta_w"] < 0 < result["late"]["delta_w"]
    assert (tmp_path / "p" / "plasticity.png").is_file()
    with pytest.raises(segdend.ConfigError, match="pairings"):
        segdend.run_plasticity({"pairings": 0})
    sweep = tmp_path / "study.toml"
    sweep.write_text(
        '[base]\npreset = "code"\n[base.set]\n"model.mode" = "rate"\n"model.hidden" = [20]\n'
        '"train.epochs" = 1\n"train.examples" = 50\n"test.examples" = 50\n'
        f'"dataset" = "{tmp_path / "d.npz"}"\n[grid]\nseeds = [0, 1]\n')
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "d.npz", x_train=rng.integers(0, 256, (60, 784), dtype=np.uint8),
             y_train=rng.integers(0, 10, 60), x_test=rng.integers(0, 256, (50, 784),
                                                                  dtype=np.uint8),
             y_test=rng.integers(0, 10, 50))
    records = segdend.run_sweep(sweep, workers=1, out=tmp_path / "runs", progress=None)
    assert sorted(r["status"] for r in records) == ["done", "done"]
    again = segdend.run_sweep(sweep, workers=1, out=tmp_path / "runs", progress=None)
    assert sorted(r["status"] for r in again) == ["skipped", "skipped"]


def test_progress_bars_follow_the_terminal_or_a_notebook(monkeypatch):
    assert not bars_wanted(quiet=True)
    assert bars_wanted(quiet=False) == sys.stderr.isatty() or in_notebook()

    class Shell:
        config = types.MappingProxyType({"IPKernelApp": {}})

    fake = types.ModuleType("IPython")
    fake.get_ipython = lambda: Shell()
    monkeypatch.setitem(sys.modules, "IPython", fake)
    assert in_notebook() and bars_wanted(quiet=False)
    assert not bars_wanted(quiet=True)


def test_own_npz_data_set_schedules_and_default_epoch_length(tmp_path, small_mnist):
    path = tmp_path / "digits.npz"
    np.savez(path, x_train=small_mnist.train_images[:300], y_train=small_mnist.train_labels[:300],
             x_test=small_mnist.test_images[:100], y_test=small_mnist.test_labels[:100])
    data = segdend.load_dataset(path)  # a pathlib.Path is accepted
    net = segdend.Network(hidden=[20], mode="rate", settings={"train.quick_test_every": 0})
    net.fit(data, epochs=1, progress=False)  # an epoch is the whole (smaller) training set
    assert net.history_["examples"].tolist() == [0, 300]
    before = net.params_.weights[0].copy()
    assert net.set_params({"train.learning_rates": [0.05, 0.05]}) is net
    assert net.config.learning_rates() == [0.05, 0.05]
    net.fit(data, epochs=1, warm_start=True, progress=False)
    assert not np.array_equal(before, net.params_.weights[0])
    with pytest.raises(segdend.ConfigError, match="train.examples"):
        net.fit(data, epochs=1, examples=301, progress=False)
    with pytest.raises(segdend.ConfigError, match="unknown config key 'train.nothing'"):
        net.set_params(train__nothing=1)
