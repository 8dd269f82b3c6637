"""``segdend reproduce all --scale quick`` end to end: every source-data CSV of PAPER.md §4 with
its columns and row count, every PNG, the summaries, reuse of finished runs, and the HTML report
checked in a real headless browser (Debian's chromium)."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pytest

from segdend.cli import main
from segdend.experiments.reproduce import FIGURE_NAMES, figures_for
from segdend.experiments.spec import SCALES
from segdend.report import write_report

pytestmark = [pytest.mark.slow, pytest.mark.mnist]
QUICK = SCALES["quick"]


@pytest.fixture(scope="module")
def reproduction(tmp_path_factory, mnist):
    out = tmp_path_factory.mktemp("reproduction")
    assert main(["reproduce", "all", "--scale", "quick", "--out", str(out), "--workers", "2",
                 "--quiet"]) == 0
    return out


def _read(path: Path) -> tuple[list[str], list[list[str]]]:
    with open(path, newline="") as handle:
        rows = list(csv.reader(handle))
    return rows[0], rows[1:]


def expected_tables(mnist) -> dict[str, tuple[list[str], int]]:
    """File → (columns, data rows) at the quick scale (PAPER.md §4)."""
    epochs = ["epoch"]
    twos = int(np.count_nonzero(mnist.test_labels[: QUICK.test_examples] == 2))
    per_epoch = QUICK.epochs + 1
    r = QUICK.repeats
    three = ["regular", "symmetric", "symmetric_noise"]
    return {
        "fig3/Fig_3C_traces.csv": (["step", "phase", "layer", "neuron", "basal", "apical", "soma",
                                    "spikes"], 3 * 100),
        "fig4/Fig_4B_phase_lengths.csv": (["example", "forward_ms", "target_ms"],
                                          QUICK.examples),
        "fig5/Fig_5B.csv": (["hidden_loss", "output_loss", "shuffled_hidden_loss",
                             "shuffled_output_loss"], twos),
        "fig5/Fig_5C.csv": ([*(f"r_category_{c}" for c in range(10)),
                             *(f"shuffled_r_category_{c}" for c in range(10))], QUICK.epochs),
        "fig5s1/Fig_5S1A.csv": (["example", "max_eigenvalue_product_of_means",
                                 "max_eigenvalue_mean_of_products"], QUICK.jacobian_examples),
        "fig5s1/Fig_5S1B.csv": (["when", "row", *(f"col_{j}" for j in range(10))], 20),
        "fig6/Fig_6B_errors.csv": ([*epochs, "no_hidden", "one_hidden", "two_hidden"],
                                   per_epoch),
        "fig6/Fig_6B_final_errors.csv": (["no_hidden", "one_hidden", "two_hidden"], r),
        "fig6/Fig_6C.csv": (["category", "input_x", "input_y", "hidden1_x", "hidden1_y",
                             "hidden2_x", "hidden2_y"], QUICK.tsne_examples),
        "fig6s1/Fig_6S1A.csv": (["example", "phase", "neuron", "plateau_time_ms"], 400),
        "fig6s1/Fig_6S1B_errors.csv": ([*epochs, "regular", "stochastic"], per_epoch),
        "fig6s1/Fig_6S1B_final_errors.csv": (["regular", "stochastic"], r),
        "fig7/Fig_7A.csv": (["example", "spiking_feedback", "rate_feedback"],
                            QUICK.angle_epochs * QUICK.examples),
        "fig7/Fig_7C.csv": (["max_r", "shuffled_max_r"], 500),
        "fig8/Fig_8B_errors.csv": ([*epochs, "regular", "sparse"], per_epoch),
        "fig8/Fig_8B_final_errors.csv": (["regular", "sparse"], r),
        "fig8/Fig_8D_errors.csv": ([*epochs, *three], per_epoch),
        "fig8/Fig_8D_final_errors.csv": (three, r),
        "fig8s1/Fig_8S1_errors.csv": ([*epochs, "regular", "sparse", "sparse_unamplified"],
                                      QUICK.short_epochs + 1),
        "fig8s1/Fig_8S1_final_errors.csv": (["regular", "sparse", "sparse_unamplified"], r),
        "fig9/Fig_9A_traces.csv": (["step", "phase", "layer", "neuron", "basal", "apical",
                                    "soma", "spikes"], 3 * 100),
        "fig9/Fig_9B_errors.csv": ([*epochs, "two_hidden", "strong", "weak"], per_epoch),
        "fig9/Fig_9B_final_errors.csv": (["two_hidden", "strong", "weak"], r),
    }


def test_every_source_data_csv_has_its_columns_and_rows(reproduction, mnist):
    expected = expected_tables(mnist)
    found = {str(p.relative_to(reproduction)) for p in reproduction.glob("fig*/*.csv")}
    assert found == set(expected)
    for name, (columns, n_rows) in expected.items():
        header, rows = _read(reproduction / name)
        assert header == columns, name
        assert len(rows) == n_rows, name
        assert all(len(row) == len(columns) for row in rows), name
        numeric = [c for c in columns if c not in ("phase", "when")]
        for column in numeric:
            values = np.array([float(row[columns.index(column)]) for row in rows])
            assert np.isfinite(values).all(), (name, column)


def test_fig7_angle_measures_are_consistent(reproduction):
    measures = json.loads((reproduction / "fig7/summary.json").read_text())["measures"]
    for name in ("spiking", "rate"):
        share = measures[f"7A.{name}.share_above_90_after_1000"]
        assert 0.0 <= share <= 1.0
        assert (share > 0) == (measures[f"7A.{name}.max_after_1000"] > 90.0)
        for key in ("mean_epoch_1", "mean_last_epoch"):
            assert measures[f"7A.{name}.lowest"] <= measures[f"7A.{name}.{key}"] <= 180.0


def test_fig5_noise_probes_and_epoch_1_split(reproduction):
    """5B's probes switch off spike noise: without any spikes L⁰ follows L¹ more closely."""
    measures = json.loads((reproduction / "fig5/summary.json").read_text())["measures"]
    for key in ("rate_feedback", "rate_input", "rate_mode"):
        assert -1.0 <= measures[f"5B.r_{key}"] <= 1.0
    assert measures["5B.r_rate_mode"] > measures["5B.r"] + 0.1
    assert measures["5B.r_rate_feedback"] > measures["5B.r"]
    for key in ("5C.mean_r_epoch_1_first_tenth", "5C.mean_r_epoch_1_rest"):
        assert -1.0 <= measures[key] <= 1.0


def test_every_declared_png_is_a_real_image(reproduction):
    import matplotlib.image

    for figure in figures_for("all"):
        for name in figure.outputs:
            path = reproduction / figure.name / name
            assert path.is_file(), path
            if name.endswith(".png"):
                image = matplotlib.image.imread(path)
                assert image.shape[0] > 200 and image.shape[1] > 300
                assert image[..., :3].std() > 0.01  # not blank


def test_quick_networks_learned_and_summaries_compare_with_the_paper(reproduction):
    _, rows = _read(reproduction / "fig6/Fig_6B_final_errors.csv")
    final = np.array(rows, dtype=float).mean(axis=0)
    assert final.max() < 50.0  # chance is 90 %: all three networks learned in 12,000 examples
    for name in FIGURE_NAMES:
        text = (reproduction / name / "summary.md").read_text()
        assert "| quantity | ours |" in text
    fig6 = (reproduction / "fig6/summary.md").read_text()
    for reported in ("8.3", "4.1", "3.2", "t38 = 197.11, p = 2.5e-58"):
        assert reported in fig6
    assert fig6.count("| Bonferroni |") == 3
    fig8 = (reproduction / "fig8/summary.md").read_text()
    assert "| none | t38 = 16.43" in fig8  # two groups: no correction, as in the paper


def test_running_again_reuses_finished_runs(reproduction):
    runs = sorted((reproduction / "runs").glob("*/params.npz"))
    assert len(runs) == 14  # 16 networks; at the quick scale Fig 8S1's runs are the standard ones
    stamps = [p.stat().st_mtime_ns for p in runs]
    messages: list[str] = []
    from segdend.experiments.reproduce import reproduce

    reproduce("fig8s1", "quick", 1, reproduction, progress=messages.append)
    assert sum(m.startswith("skipped") for m in messages) == 3
    assert [p.stat().st_mtime_ns for p in runs] == stamps


def test_report_renders_in_headless_chromium(reproduction):
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    assert browser, "chromium is needed (make test installs Debian's chromium)"
    path = write_report(reproduction)
    n_png = len(list(reproduction.glob("fig*/*.png")))
    declared = sum(name.endswith(".png") for f in figures_for("all") for name in f.outputs)
    with tempfile.TemporaryDirectory() as profile:
        result = subprocess.run(
            [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
             "--no-first-run", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", f"--user-data-dir={profile}", "--virtual-time-budget=20000",
             "--dump-dom", path.resolve().as_uri()],
            capture_output=True, text=True, timeout=120, env={**os.environ, "HOME": profile},
        )
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"images decoded: {n_png} of {n_png}" in result.stdout
    assert n_png == declared
    for name in FIGURE_NAMES:
        assert f'id="{name}"' in result.stdout


def test_fashion_mnist_figure(tmp_path):
    out = tmp_path / "fashion"
    assert main(["reproduce", "fig6", "--dataset", "fashion-mnist", "--out", str(out),
                 "--workers", "2", "--quiet"]) == 0
    _, rows = _read(out / "fig6/Fig_6B_final_errors.csv")
    final = np.array(rows, dtype=float).mean(axis=0)
    assert final.max() < 60.0  # chance is 90 %
    summary = (out / "fig6/summary.md").read_text()
    assert "Data set: fashion-mnist" in summary and "not published" in summary
    assert "| 8.3 |" not in summary  # the paper's MNIST numbers are not shown as if comparable
    _, rows = _read(out / "fig6/Fig_6C.csv")
    assert len(rows) == QUICK.tsne_examples


def test_reproduce_on_a_dask_cluster(tmp_path):
    from distributed import LocalCluster

    out = tmp_path / "dask"
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster:
        assert main(["reproduce", "fig3", "--scheduler", cluster.scheduler_address,
                     "--out", str(out), "--quiet"]) == 0
    (run_dir,) = (out / "runs").iterdir()
    assert (run_dir / "params.npz").is_file()
    assert len(_read(run_dir / "repeated_tests.csv")[1]) == QUICK.repeats
    _, rows = _read(out / "fig3/Fig_3C_traces.csv")
    assert len(rows) == 300


def test_reproduce_starts_the_longest_runs_first(tmp_path, mnist):
    """All full-scale runs go to the executor longest first (LPT), whatever the figure order."""
    from segdend.errors import SegdendError
    from segdend.experiments.reproduce import estimated_cost, reproduce

    handed: list = []

    def execute(runs, on_result):
        handed.extend(runs)
        return [{"name": r.name, "status": "failed", "error": "not run here"} for r in runs]

    with pytest.raises(SegdendError, match="16 run"):
        reproduce("all", "full", out=tmp_path / "full", execute=execute, progress=lambda m: None)
    costs = [estimated_cost(r) for r in handed]
    assert costs == sorted(costs, reverse=True)
    assert {r.name for r in handed[:2]} == {
        "apical_conductance-0.05_hidden-500-100_epochs-60_examples-60000",
        "apical_conductance-0.6_hidden-500-100_epochs-60_examples-60000"}
    # the noise that Fig 8D draws after every example puts it before the other 784-500-10 runs
    assert handed[2].name == "feedback-symmetric-noise_hidden-500_epochs-60_examples-60000"
    assert handed[-1].name == "hidden-500_jacobians-True_epochs-1_examples-60000"
    assert not (tmp_path / "full" / "runs").exists()  # nothing trained, nothing written


def _two_figure_reproduction(monkeypatch, make_second=None):
    """``reproduce`` of two stand-in figures, one run each, with an executor that logs the order
    of runs and figure making instead of training."""
    import segdend.experiments.reproduce as module
    from segdend.experiments.context import FigureContext
    from segdend.experiments.spec import FigureSpec, run

    log: list[tuple[str, str]] = []

    def maker(name):
        def make(context):
            log.append(("make", name))
        return make

    figures = [FigureSpec("figA", "A", [run("a", "a", model__hidden=[7])], maker("figA")),
               FigureSpec("figB", "B", [run("b", "b", model__hidden=[9])],
                          make_second or maker("figB"))]
    monkeypatch.setattr(module, "figures_for", lambda target: figures)
    monkeypatch.setattr("segdend.data.dataset.load_dataset", lambda *a: None)
    monkeypatch.setattr(FigureContext, "write_summary", lambda self, timing=None: None)

    def execute(runs, on_result):
        results = []
        for job in runs:
            log.append(("run", job.name))
            result = {"name": job.name, "status": "done"}
            on_result(result)
            results.append(result)
        return results
    return module, execute, log


def test_each_figure_is_made_as_soon_as_its_runs_are_done(tmp_path, monkeypatch):
    """A figure does not wait for the runs of other figures (nor depends on them finishing)."""
    module, execute, log = _two_figure_reproduction(monkeypatch)
    folders = module.reproduce("all", "quick", out=tmp_path, execute=execute,
                               progress=lambda m: None)
    assert [f.name for f in folders] == ["figA", "figB"]
    first, second = (name for kind, name in log if kind == "run")

    def figure_of(name):
        return "figA" if "hidden-7" in name else "figB"
    assert log == [("run", first), ("make", figure_of(first)),
                   ("run", second), ("make", figure_of(second))]


def test_a_figure_whose_post_processing_fails_does_not_stop_the_others(tmp_path, monkeypatch):
    from segdend.errors import SegdendError

    def broken(context):
        raise ValueError("no such column")

    module, execute, log = _two_figure_reproduction(monkeypatch, make_second=broken)
    with pytest.raises(SegdendError, match=r"1 figure\(s\) failed in post-processing.*figB"):
        module.reproduce("all", "quick", out=tmp_path, execute=execute, progress=lambda m: None)
    assert ("make", "figA") in log
    assert "ValueError: no such column" in (tmp_path / "figB" / "figure_error.txt").read_text()
    assert not (tmp_path / "figA" / "figure_error.txt").exists()
    rows = (tmp_path / "timings.csv").read_text().splitlines()
    assert rows[-1].split(",")[2] == "figA"  # the invocation is still recorded


def test_an_interrupted_reproduction_keeps_its_row_in_timings(tmp_path, monkeypatch):
    """Stopped after its first figure, the call still records its wall time and what it made."""
    module, _, log = _two_figure_reproduction(monkeypatch)

    from segdend.runs import append_event

    def interrupted(runs, on_result):
        on_result({"name": runs[0].name, "status": "done"})
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        module.reproduce("all", "quick", out=tmp_path, execute=interrupted,
                         progress=lambda m: None)
    (row,) = list(csv.DictReader((tmp_path / "timings.csv").open()))
    assert row["target"] == "all (interrupted)"
    assert log == [("make", row["figures"])] and row["runs_trained"] == "1"
    assert float(row["wall_seconds"]) >= 0

    def unreported(runs, on_result):
        """A job stopped after its shorter run had finished: that run is trained, unreported
        (a run finished by an earlier call is not counted again)."""
        run_dir = tmp_path / "runs" / runs[1].name
        if not (run_dir / "events.jsonl").is_file():
            run_dir.mkdir(parents=True, exist_ok=True)
            append_event(run_dir, "finished")
        raise KeyboardInterrupt

    for trained in ("1", "0"):  # the second call finds runs[1] finished by the first
        with pytest.raises(KeyboardInterrupt):
            module.reproduce("all", "quick", out=tmp_path, execute=unreported,
                             progress=lambda m: None)
        assert list(csv.DictReader((tmp_path / "timings.csv").open()))[-1]["runs_trained"] \
            == trained


@pytest.mark.parametrize("whole_group", [True, False], ids=["process-group", "main-process"])
def test_sigterm_stops_reproduce_like_ctrl_c(tmp_path, whole_group):
    """``kill`` of the process group, or of the main process alone (its workers are stopped,
    not waited for): exit 130, a timings.csv row marked interrupted, and the run unfinished."""
    import signal
    import sys
    import time

    from .conftest import FIXTURE_DIR

    out = tmp_path / "out"
    process = subprocess.Popen(
        [sys.executable, "-m", "segdend", "reproduce", "fig3", "--out", str(out), "--workers",
         "1", "--data-dir", str(FIXTURE_DIR), "--quiet"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.monotonic() + 300
    while not list(out.glob("runs/*/metrics.csv")) and time.monotonic() < deadline:
        assert process.poll() is None, process.stderr.read()
        time.sleep(0.5)
    (os.killpg if whole_group else os.kill)(process.pid, signal.SIGTERM)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert "interrupted" in stderr
    (row,) = list(csv.DictReader((out / "timings.csv").open()))
    assert row["target"] == "fig3 (interrupted)" and row["figures"] == ""
    # waiting for the worker would have let it finish its run (params.npz is written last)
    assert not list(out.glob("runs/*/params.npz"))
