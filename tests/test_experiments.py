"""The pieces of the reproductions on known answers: recorders, probes, representations,
figure plans, the report, and the command line's errors."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest

from segdend.analysis.jacobian import (
    eigenvalue_mean_of_products,
    eigenvalue_product_of_means,
    jacobians,
)
from segdend.analysis.losses import example_losses
from segdend.analysis.representations import embed, layer_activities
from segdend.cli import main
from segdend.data.dataset import Dataset
from segdend.engines.reference import ReferenceEngine
from segdend.experiments.figures.fig6 import neighbour_agreement
from segdend.experiments.reproduce import FIGURE_NAMES, figures_for, sweep_run
from segdend.experiments.spec import SCALES
from segdend.model.constants import derive_constants, sigmoid
from segdend.model.params import initialise
from segdend.recording import JacobianRecorder
from segdend.report import write_report
from segdend.train import Trainer

from .conftest import tiny_config


def test_jacobian_recorder_matches_brute_force_over_the_last_100_examples():
    config = tiny_config("model.hidden=[30]")
    const = derive_constants(config.model)
    gen = np.random.default_rng(3)
    recorder = JacobianRecorder(10, 30, const, window=100)
    betas, gammas = [], []
    for i in range(150):
        w, y = gen.normal(0, 0.3, (10, 30)), gen.normal(0, 0.3, (30, 10))
        forward = gen.normal(0, 1, 10)
        b, g = jacobians(w, y, forward, const.k_dendrite, const.max_rate)
        betas.append(b)
        gammas.append(g)
        product_of_means, mean_of_products = recorder.add(w, y, forward)
        if i in (0, 57, 99, 100, 149):
            last = slice(max(0, i - 99), i + 1)
            assert product_of_means == pytest.approx(
                eigenvalue_product_of_means(betas[last], gammas[last]), rel=1e-9)
            assert mean_of_products == pytest.approx(
                eigenvalue_mean_of_products(betas[last], gammas[last]), rel=1e-9)
    # the two forms differ in general: the paper's and the code's statistic are not the same
    assert product_of_means != pytest.approx(mean_of_products, rel=1e-6)


def test_mean_field_activities_end_in_the_rate_mode_output():
    config = tiny_config("model.hidden=[25, 15]", "model.mode=rate")
    params = initialise(config, 784)
    images = np.random.default_rng(0).uniform(0, 1, (6, 784))
    const = derive_constants(config.model)
    rates = layer_activities(params, images, const)
    assert [r.shape for r in rates] == [(6, 784), (6, 25), (6, 15), (6, 10)]
    soma = ReferenceEngine(config).output_potentials(params, images, (0,))
    np.testing.assert_allclose(rates[-1], const.max_rate * sigmoid(soma), rtol=1e-12)


def test_tsne_separates_separated_clusters_and_is_seeded():
    gen = np.random.default_rng(1)
    labels = np.repeat([0, 1, 2], 40)
    data = gen.normal(0, 0.1, (120, 60)) + 5.0 * np.eye(60)[labels]
    a, b = embed(data, seed=4), embed(data, seed=4)
    assert a.shape == (120, 2)
    np.testing.assert_array_equal(a, b)
    assert neighbour_agreement(a, labels) == 1.0
    assert neighbour_agreement(gen.normal(size=(120, 2)), labels) < 0.6


@pytest.mark.parametrize("engine", ["reference", "fast"])
def test_loss_probe_changes_no_weight_and_engines_agree(small_mnist, engine):
    config = tiny_config(f"engine={engine}")
    params = initialise(config, 784)
    before = {k: v.copy() for k, v in params.arrays().items()}
    images = Dataset.scale(small_mnist.test_images[:6])
    labels = small_mnist.test_labels[:6]
    hidden, output = example_losses(config, params, images, labels)
    assert hidden.shape == (6, 1) and output.shape == (6,)
    assert np.all(hidden > 0) and np.all(output > 0)
    for name, array in params.arrays().items():
        np.testing.assert_array_equal(array, before[name])
    other = tiny_config("engine=reference")
    ref_hidden, ref_output = example_losses(other, params, images, labels)
    np.testing.assert_allclose(hidden, ref_hidden, rtol=1e-9)
    np.testing.assert_allclose(output, ref_output, rtol=1e-9)


def test_every_figure_plans_valid_runs_for_both_data_sets(tmp_path):
    assert [f.name for f in figures_for("all")] == list(FIGURE_NAMES)
    for dataset in ("mnist", "fashion-mnist"):
        names = set()
        for figure in figures_for("all"):
            for spec in figure.runs:
                run = sweep_run(spec, SCALES["full"], dataset, "code", tmp_path)
                config = run.config()
                assert config.dataset == dataset
                names.add(run.name)
        # 22 run specs, 16 networks: the standard 784-500-10 run serves Figs 3, 5, 6, 6S1, 7, 8
        # and the 784-500-100-10 run Figs 6 and 9; Fig 8S1's 20-epoch runs are their own
        assert sum(len(f.runs) for f in figures_for("all")) == 22
        assert len(names) == 16
    fig8s1 = sweep_run(figures_for("fig8s1")[0].runs[0], SCALES["full"], "mnist", "code",
                       tmp_path).config()
    assert fig8s1.train.epochs == 20 and fig8s1.test.examples == 10_000
    jacobian = sweep_run(figures_for("fig5s1")[0].runs[0], SCALES["full"], "mnist", "code",
                         tmp_path).config()
    assert jacobian.record.jacobians and jacobian.train.epochs == 1


def test_run_report_is_self_contained(tmp_path, small_mnist):
    config = tiny_config("train.epochs=2")
    trainer = Trainer(config, tmp_path / "run", small_mnist, quiet=True, log=lambda m: None)
    trainer.start()
    trainer.train()
    path = write_report(tmp_path / "run")
    text = path.read_text()
    assert text.count("data:image/png;base64,") == 1
    assert "<td>2</td>" in text  # the epoch-2 row of the metrics table
    assert "src=\"http" not in text and "href=\"http" not in text


def test_command_line_errors_are_one_line(tmp_path, capsys):
    assert main(["reproduce", "fig42", "--out", str(tmp_path / "o")]) == 2
    assert capsys.readouterr().err.strip().count("\n") == 0
    assert main(["report", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "neither a run directory" in err and err.strip().count("\n") == 0
    out = tmp_path / "repro"
    assert main(["reproduce", "fig4", "--out", str(out), "--quiet"]) == 0
    assert json.loads((out / "reproduction.json").read_text())["scale"] == "quick"
    assert main(["reproduce", "fig4", "--out", str(out), "--scale", "full", "--quiet"]) == 2
    assert "choose another --out" in capsys.readouterr().err


def test_plateau_raster_times_lie_in_the_last_ms_of_each_phase():
    from segdend.analysis.plateaus import plateau_times
    from segdend.train import phase_lengths

    for plateaus in ("stochastic", "synchronized"):
        config = tiny_config(f"model.plateaus={plateaus}", "model.hidden=[200]",
                             "train.examples=2")
        lengths = phase_lengths(config, 0)
        rows = plateau_times(config, lengths, 2, 100)
        assert len(rows) == 2 * 2 * 100
        ends = np.cumsum(lengths.ravel())
        for phase_index in range(4):
            times = np.array([r[3] for r in rows[phase_index * 100 : (phase_index + 1) * 100]])
            end = ends[phase_index]
            assert times.max() <= end
            assert times.min() >= end - config.model.plateau_offset_max
            if plateaus == "synchronized":
                assert np.all(times == end)
            else:
                assert len(np.unique(times)) > 1


def test_running_summary_reports_epochs_and_latest_error(tmp_path, small_mnist):
    from segdend.sweep import SweepRun, running_summary

    config = tiny_config("train.epochs=1")
    trainer = Trainer(config, tmp_path / "r", small_mnist, quiet=True, log=lambda m: None)
    trainer.start()
    trainer.train()
    run = SweepRun("r", {"train.epochs": 3}, tmp_path / "r")
    last = (tmp_path / "r" / "metrics.csv").read_text().splitlines()[-1].split(",")
    # not locked: the run waits for a worker, though it has epochs from an earlier call
    assert running_summary([run]) == "1 waiting for a worker"
    worker = subprocess.Popen(["sleep", "60"])  # another live process holds the lock
    try:
        (tmp_path / "r" / ".lock").write_text(str(worker.pid))
        under_way = f"under way: r 1/3 ({float(last[1]):.2f} %)"
        assert running_summary([run]) == under_way
        queued = SweepRun("x", {}, tmp_path / "missing")
        assert running_summary([run, queued]) == under_way + "; 1 waiting for a worker"
        # a job training its shorter run first reports that run
        job = SweepRun("long", {"train.epochs": 3}, tmp_path / "missing", extends=run)
        assert running_summary([job]) == under_way
    finally:
        worker.kill()
        worker.wait()
    assert running_summary([run]) == "1 waiting for a worker"  # its holder is gone
