"""Exchange with the authors' code: import, export, and exactness against their saved runs.

tests/data/authors-code-simulations/ holds two simulation folders written by the authors' code in
its non-spiking mode (README.md there). Started from their ``initial_*`` parameters and shown the
1,000 examples of ``order.npy``, segdend must end on their ``epoch_1_*`` parameters.
"""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from segdend.cli import main
from segdend.config import build_config, dump_toml, load_config
from segdend.errors import ConfigError, DataError, RunError
from segdend.model.params import initialise, load_params, save_params
from segdend.original import (
    SIMULATION_KEYS,
    column_major_order,
    config_from_simulation,
    export_original,
    import_original,
    simulation_from_config,
)

from .conftest import FIXTURE_DIR

FOLDERS = Path(__file__).parent / "data" / "authors-code-simulations"
NAMES = ["rate-784-500-10", "rate-784-500-100-10"]
#: The training error of the epoch, from each folder's training_errors.npy (not copied here).
AUTHORS_TRAINING_ERROR = {"rate-784-500-10": 81.3, "rate-784-500-100-10": 90.1}


def _segdend(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "segdend", *args], capture_output=True,
                          text=True, check=False)


def _arrays(run: Path) -> dict[str, np.ndarray]:
    return load_params(run / "params.npz").arrays()


def _copy(name: str, tmp_path: Path) -> Path:
    folder = tmp_path / name
    shutil.copytree(FOLDERS / name, folder)
    return folder


def _edit_simulation(folder: Path, **changes: object) -> None:
    path = folder / "simulation.json"
    values = json.loads(path.read_text())
    values.update(changes)
    path.write_text(json.dumps(values))


# ------------------------------------------------------------------------------ exactness


@pytest.mark.mnist
@pytest.mark.parametrize("engine", ["reference", "fast"])
@pytest.mark.parametrize("name", NAMES)
def test_training_from_their_initial_parameters_ends_on_their_epoch_1(
    name, engine, tmp_path, mnist, capsys
):
    folder = FOLDERS / name
    initial = import_original(folder, tmp_path / "initial")
    after = import_original(folder, tmp_path / "epoch1", epoch=1)
    config = load_config(initial / "config.toml")
    assert config.model.mode == "rate" and config.train.examples == 1000

    run = tmp_path / "run"
    assert main([
        "train", "--config", str(initial / "config.toml"), "--set", f"engine={engine}",
        "--set", f"train.order_file='{folder / 'order.npy'}'",
        "--init-params", str(initial / "params.npz"), "--run-dir", str(run), "--quiet",
    ]) == 0
    ours, start, theirs = _arrays(run), _arrays(initial), _arrays(after)
    assert set(ours) == set(theirs)
    ratios = {}
    for key, value in theirs.items():
        change = np.abs(value - start[key]).max()
        difference = np.abs(ours[key] - value).max()
        if change == 0:  # the fixed feedback weights Y
            assert difference == 0, key
            continue
        ratios[key] = difference / change
        assert ratios[key] < 1e-9, (key, ratios[key])
    with capsys.disabled():
        worst = max(ratios, key=ratios.get)
        print(f"\n{name} {engine}: max relative difference {ratios[worst]:.2e} ({worst}); "
              + ", ".join(f"{k} {v:.1e}" for k, v in ratios.items()))

    with open(run / "metrics.csv", newline="") as handle:
        last = list(csv.DictReader(handle))[-1]
    assert float(last["train_error"]) == pytest.approx(AUTHORS_TRAINING_ERROR[name], abs=1e-9)


# ------------------------------------------------------------------------------- mapping


def test_column_major_order_transposes_the_image():
    image = np.arange(784).reshape(28, 28) * 3 + 1
    theirs = image.ravel(order="F")  # the authors' flatten(order='F')
    order = column_major_order()
    assert np.array_equal(theirs[order], image.ravel())
    assert np.array_equal(image.ravel()[np.argsort(order)], theirs)


@pytest.mark.parametrize("name", NAMES)
def test_import_maps_their_flags_and_parameters(name, tmp_path):
    folder = FOLDERS / name
    simulation = json.loads((folder / "simulation.json").read_text())
    run = import_original(folder, tmp_path / "run", epoch=1)
    config = load_config(run / "config.toml")
    assert config.model.mode == "rate"
    assert config.model.hidden == simulation["n"][:-1]
    assert config.learning_rates() == simulation["f_etas"]
    assert config.model.output_error_scale == simulation["P_final"]
    assert config.test.examples == simulation["n_full_test"]
    params = load_params(run / "params.npz")
    w0 = np.load(folder / "epoch_1_W_0.npy", allow_pickle=False)
    # Hidden unit 7's weight from the pixel in row 5, column 11.
    assert params.weights[0][7, 5 * 28 + 11] == w0[7, 11 * 28 + 5]
    b1 = np.load(folder / "epoch_1_b_1.npy", allow_pickle=False)
    assert b1.shape[1] == 1 and np.array_equal(params.biases[1], b1[:, 0])
    origin = json.loads((run / "original.json").read_text())
    assert origin["epoch"] == 1 and origin["prefix"] == "epoch_1_"


@pytest.mark.parametrize("name", NAMES)
def test_round_trip_is_bitwise(name, tmp_path):
    folder = FOLDERS / name
    first = import_original(folder, tmp_path / "first", epoch=1)
    out = export_original(first, tmp_path / "exported")
    second = import_original(out, tmp_path / "second", epoch=1)
    a, b = _arrays(first), _arrays(second)
    assert set(a) == set(b)
    for key in a:
        assert a[key].dtype == b[key].dtype and np.array_equal(a[key], b[key]), key
    assert dump_toml(load_config(first / "config.toml")) == dump_toml(
        load_config(second / "config.toml"))
    # The exported folder is the original one: same simulation.json, same arrays, same layout.
    assert json.loads((out / "simulation.json").read_text()) == json.loads(
        (folder / "simulation.json").read_text())
    for path in folder.glob("epoch_1_*.npy"):
        original = np.load(path, allow_pickle=False)
        exported = np.load(out / path.name, allow_pickle=False)
        assert exported.dtype == np.float64 and exported.shape == original.shape, path.name
        assert np.array_equal(exported, original), path.name


def test_export_of_a_trained_run_writes_initial_and_epoch_files(tmp_path):
    run = tmp_path / "run"
    assert main(["train", "--set", "engine=reference", "--set", "model.mode=rate",
                 "--set", "model.hidden=[20, 10]", "--set", "train.epochs=2",
                 "--set", "train.examples=30", "--set", "test.examples=20",
                 "--set", "train.quick_test_every=0", "--run-dir", str(run),
                 "--data-dir", str(FIXTURE_DIR), "--quiet"]) == 0
    out = export_original(run, tmp_path / "out")
    names = {p.name for p in out.iterdir()}
    assert {"simulation.json", "initial_W_0.npy", "epoch_2_W_0.npy", "epoch_2_Y_1.npy",
            "epoch_2_b_2.npy"} <= names
    simulation = json.loads((out / "simulation.json").read_text())
    assert list(simulation) == list(SIMULATION_KEYS)
    assert simulation["n"] == [20, 10, 10] and simulation["n_epochs"] == 2
    assert simulation["f_etas"] == [0.23, 0.23, 0.12] and simulation["nonspiking_mode"] is True
    again = import_original(out, tmp_path / "final", epoch=2)
    for key, value in _arrays(run).items():
        assert np.array_equal(_arrays(again)[key], value), key
    start = import_original(out, tmp_path / "start")
    initial = load_params(run / "initial_params.npz").arrays()
    for key, value in initial.items():
        assert np.array_equal(_arrays(start)[key], value), key


@pytest.mark.parametrize(
    "overrides",
    [
        [],
        ["model.mode=rate", "model.hidden=[500, 100]"],
        ["model.plateaus=stochastic", "phases.random_lengths=false", "model.feedback=sparse"],
        ["model.feedback=symmetric-noise", "model.apical_conductance=0.05",
         "model.feedback_signal=rates", "phases.test_length=500", "phases.min_length=60",
         "phases.window=25", "model.plateau_window=25", "model.kernel_steps=20"],
        ["model.learn_feedback=true", "model.feedback_learning_rates=[0.01]",
         "model.feedback_bias=true", "model.units_per_class=2", "train.initial_test=false"],
        ["model.learning_rule=backprop", "model.hidden=[]", "train.learning_rates=[0.19]",
         "model.spiking_feedforward=false", "record.backprop_angle=true",
         "model.apical_conductance=0.6"],
    ],
)
def test_config_mapping_round_trips(overrides):
    config = build_config("code", overrides=overrides)
    config.train.learning_rates = config.learning_rates()  # their f_etas are always explicit
    simulation = simulation_from_config(config)
    assert list(simulation) == list(SIMULATION_KEYS)
    back = config_from_simulation(json.loads(json.dumps(simulation)))
    assert dump_toml(back) == dump_toml(config)


def test_rate_mode_ignores_what_the_code_overrides(tmp_path):
    folder = _copy("rate-784-500-10", tmp_path)
    plain = config_from_simulation(json.loads((folder / "simulation.json").read_text()))
    _edit_simulation(folder, l_f_phase=7, mem=10, use_conductances=True, integration_time=5)
    edited = config_from_simulation(json.loads((folder / "simulation.json").read_text()))
    assert dump_toml(edited) == dump_toml(plain)


# -------------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"use_magic": True}, "unknown flag 'use_magic'"),
        ({"use_broadcast": False}, "'use_broadcast' = false"),
        ({"use_weight_optimization": False}, "'use_weight_optimization' = false"),
        ({"dt": 0.5}, "'dt' = 0.5"),
        ({"k_B": 0.8}, "'k_B' = 0.8 does not follow"),
        ({"g_A": 0.05}, "'g_A' = 0.05 with 'use_apical_conductance' = false"),
        ({"use_symmetric_weights": True, "use_sparse_feedback": True}, "'use_symmetric_weights'"),
        ({"update_feedback_weights": True}, "'b_etas' = None"),
        ({"f_etas": [0.1]}, "'f_etas' = [0.1]: expected 2"),
        ({"n": [500, 15]}, "'n' = [500, 15]"),
        ({"nonspiking_mode": "yes"}, "'nonspiking_mode' = 'yes'"),
        ({"nonspiking_mode": False, "use_conductances": False}, "'use_conductances' = false"),
        ({"nonspiking_mode": False, "use_conductances": True, "l_f_phase": 50, "l_t_phase": 60},
         "'l_f_phase' = 50 and 'l_t_phase' = 60 differ"),
    ],
)
def test_unsupported_flags_are_one_line_errors(tmp_path, changes, fragment):
    folder = _copy("rate-784-500-10", tmp_path)
    _edit_simulation(folder, **changes)
    with pytest.raises(ConfigError) as info:
        import_original(folder, tmp_path / "run")
    message = str(info.value)
    assert fragment in message and "\n" not in message, message
    assert "simulation.json" in message
    assert not (tmp_path / "run").exists()


def test_missing_key_is_named(tmp_path):
    folder = _copy("rate-784-500-10", tmp_path)
    values = json.loads((folder / "simulation.json").read_text())
    del values["g_D"]
    (folder / "simulation.json").write_text(json.dumps(values))
    with pytest.raises(ConfigError, match="lacks 'g_D'"):
        import_original(folder, tmp_path / "run")


def test_missing_and_malformed_files_are_data_errors(tmp_path):
    folder = _copy("rate-784-500-10", tmp_path)
    (folder / "initial_b_1.npy").unlink()
    with pytest.raises(DataError, match=r"lacks 'initial_b_1.npy' \(expected .* \(10, 1\)\)"):
        import_original(folder, tmp_path / "run")
    with pytest.raises(DataError, match="lacks 'epoch_3_W_0.npy'"):
        import_original(folder, tmp_path / "run", epoch=3)
    np.save(folder / "initial_b_1.npy", np.zeros(10))
    with pytest.raises(DataError, match=r"shape \(10,\), expected \(10, 1\)"):
        import_original(folder, tmp_path / "run")
    np.save(folder / "initial_b_1.npy", np.array([[None]] * 10, dtype=object), allow_pickle=True)
    with pytest.raises(DataError, match="not a plain .npy array"):
        import_original(folder, tmp_path / "run")
    (folder / "simulation.json").unlink()
    with pytest.raises(DataError, match="lacks 'simulation.json'"):
        import_original(folder, tmp_path / "run")
    with pytest.raises(ConfigError, match="epoch -1"):
        import_original(FOLDERS / "rate-784-500-10", tmp_path / "run", epoch=-1)
    assert not (tmp_path / "run").exists()


def test_existing_run_and_simulation_are_not_overwritten(tmp_path):
    folder = FOLDERS / "rate-784-500-10"
    run = import_original(folder, tmp_path / "run")
    with pytest.raises(RunError, match="already holds a run"):
        import_original(folder, run)
    export_original(run, tmp_path / "out")
    with pytest.raises(RunError, match="already holds a simulation"):
        export_original(run, tmp_path / "out")


def test_export_refuses_what_their_code_cannot_represent(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    config = build_config("paper")
    (run / "config.toml").write_text(dump_toml(config))
    save_params(initialise(config, 784), run / "params.npz")
    with pytest.raises(ConfigError, match="'model.init.spread' = 'intended'"):
        export_original(run, tmp_path / "out")
    for overrides, key in [
        (["model.kernel_steps=none"], "model.kernel_steps"),
        (["model.feedback=sparse-unamplified"], "model.feedback"),
        (["phases.averaging=after-settling", "phases.min_length=50"], "phases.averaging"),
        (["model.teaching_scale=0.1"], "model.teaching_scale"),
        (["dataset=fashion-mnist"], "dataset"),
    ]:
        with pytest.raises(ConfigError, match=f"config key '{key}'"):
            simulation_from_config(build_config("code", overrides=overrides))
    assert not (tmp_path / "out").exists()


def test_cli_errors_are_one_line_with_status_2(tmp_path):
    folder = _copy("rate-784-500-10", tmp_path)
    _edit_simulation(folder, use_broadcast=False)
    result = _segdend("import-original", str(folder), "--run-dir", str(tmp_path / "run"))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "'use_broadcast' = false" in lines[0], result.stderr
    assert "Traceback" not in result.stderr

    result = _segdend("import-original", str(tmp_path / "nowhere"), "--run-dir",
                      str(tmp_path / "run"))
    assert result.returncode == 2 and "is not a folder" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1

    result = _segdend("export-original", str(tmp_path / "nowhere"), "--out", str(tmp_path / "o"))
    assert result.returncode == 2 and "is not a run directory" in result.stderr
    assert "Traceback" not in result.stderr


# ------------------------------------------------------------------------- command line


def test_cli_import_test_and_export(tmp_path, capsys):
    folder = FOLDERS / "rate-784-500-100-10"
    run = tmp_path / "run"
    assert main(["import-original", str(folder), "--epoch", "1", "--run-dir", str(run)]) == 0
    assert f"-> run {run}" in capsys.readouterr().out
    assert main(["test", str(run), "--examples", "50", "--repeats", "2", "--data-dir",
                 str(FIXTURE_DIR), "--quiet"]) == 0
    with open(run / "repeated_tests.csv", newline="") as handle:
        errors = [float(row["test_error"]) for row in csv.DictReader(handle)]
    assert len(errors) == 2 and all(0 <= e <= 100 for e in errors)
    assert errors[0] == errors[1]  # rate mode: no spikes, no randomness in a test
    assert main(["export-original", str(run), "--out", str(tmp_path / "out")]) == 0
    assert "exported run" in capsys.readouterr().out
    assert (tmp_path / "out" / "epoch_1_W_2.npy").is_file()
