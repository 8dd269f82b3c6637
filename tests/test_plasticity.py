"""Fig 10: the sign of basal plasticity follows the timing of apical input; neuron traces."""

import json

import numpy as np
import pytest

from segdend.cli import main
from segdend.errors import ConfigError
from segdend.model.params import initialise
from segdend.plasticity import as_json, build_plasticity_config, run_protocol, sign_changes
from segdend.traces import record_traces

from .conftest import FIXTURE_DIR, tiny_config


@pytest.fixture(scope="module", params=["code", "paper"])
def protocol(request):
    config = build_plasticity_config(overrides=[f'preset="{request.param}"', "pairings=10",
                                                "response_trials=10"])
    return config, run_protocol(config)


def test_early_apical_input_depresses_and_late_potentiates(protocol):
    _, result = protocol
    early, late = result["early"], result["late"]
    assert early.delta_w < 0 < late.delta_w
    assert early.plateau_difference < 0 < late.plateau_difference  # α^t − α^f
    # The basal responses move the same way as the weights.
    assert early.after.mean() < early.baseline.mean() < late.after.mean()


def test_delta_w_changes_sign_exactly_once_along_the_onset_sweep(protocol):
    config, result = protocol
    for duration in config.sweep_durations_ms:
        curve = [p["delta_w"] for p in result["sweep"] if p["duration_ms"] == duration]
        assert len(curve) == len(config.sweep_onsets_ms)
        assert curve[0] < 0 < curve[-1]
        assert sign_changes(curve) == 1


def test_sign_changes_counts_crossings():
    assert sign_changes([-1, -0.5, 0.0, 0.5, 1]) == 1
    assert sign_changes([-1, 1, -1]) == 2
    assert sign_changes([0.0, 0.0]) == 0


def test_without_apical_input_nothing_changes():
    config = build_plasticity_config(overrides=["pairings=3", "response_trials=2",
                                                "early.onset_ms=55", "early.duration_ms=5"])
    assert run_protocol(config)["early"].delta_w == 0.0  # its trace misses both windows


@pytest.mark.parametrize(("override", "fragment"), [
    ("pairings=0", "config key 'pairings' = 0"),
    ("late.onset_ms=500", "late.onset_ms must be below the pairing length"),
    ("color=1", "unknown config key 'color'"),
    ("sweep_onsets_ms=[-5]", "sweep_onsets_ms must lie in"),
])
def test_protocol_is_validated(override, fragment):
    with pytest.raises(ConfigError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        build_plasticity_config(overrides=[override])


def test_cli_writes_json_csv_and_png(tmp_path, capsys):
    out = tmp_path / "p"
    assert main(["plasticity", "--set", "pairings=5", "--set", "response_trials=3",
                 "--set", "sweep_onsets_ms=[0, 25, 50]", "--set", "sweep_durations_ms=[50]",
                 "--out", str(out), "--json", str(tmp_path / "p.json")]) == 0
    data = json.loads((tmp_path / "p.json").read_text())
    assert data["early"]["delta_w"] < 0 < data["late"]["delta_w"]
    assert [p["onset_ms"] for p in data["sweep"]] == [0, 25, 50]
    assert set(data["sweep"][0]) == {"onset_ms", "duration_ms", "delta_w"}
    for name in ("plasticity.csv", "plasticity_sweep.csv", "plasticity_responses.csv",
                 "plasticity.png"):
        assert (out / name).stat().st_size > 0
    assert "LTD" in capsys.readouterr().out
    assert as_json  # the JSON writer is the documented format


def _somatic_coupling(g_a, small_mnist, tmp_path):
    """Least-squares fit soma ≈ a·basal + c·apical on a briefly trained network's traces."""
    run = tmp_path / f"run-{g_a}"
    assert main(["train", "--set", "engine=fast", "--set", "model.hidden=[40]",
                 "--set", f"model.apical_conductance={g_a}", "--set", "train.epochs=1",
                 "--set", "train.examples=300", "--set", "test.examples=20",
                 "--set", "train.quick_test_every=0", "--data-dir", str(FIXTURE_DIR),
                 "--run-dir", str(run), "--quiet"]) == 0
    out = tmp_path / f"traces-{g_a}"
    assert main(["traces", str(run), "--out", str(out), "--csv", "--data-dir",
                 str(FIXTURE_DIR)]) == 0
    assert (out / "traces.png").stat().st_size > 0
    from segdend.config import load_config
    from segdend.model.params import load_params
    from segdend.traces import example_image

    config = load_config(run / "config.toml")
    params = load_params(run / "params.npz")
    image, label = example_image(small_mnist, 0)
    traces = record_traces(config, params, image, label)
    rows = slice(20, 100)  # after the first settling
    basal = traces.basal[0][rows].ravel()
    apical = traces.apical[0][rows].ravel()
    soma = traces.soma[0][rows].ravel()
    design = np.column_stack([basal, apical])
    coefficients, *_ = np.linalg.lstsq(design, soma, rcond=None)
    return coefficients


def test_traces_show_the_soma_following_basal_or_pulled_by_apical(small_mnist, tmp_path):
    a0, c0 = _somatic_coupling(0.0, small_mnist, tmp_path)
    a6, c6 = _somatic_coupling(0.6, small_mnist, tmp_path)
    assert abs(c0) < 0.02 and a0 == pytest.approx(0.6 / 0.7, rel=0.1)  # soma follows basal
    assert c6 == pytest.approx(0.6 / 1.3, rel=0.15)  # the apical potential pulls the soma
    assert a6 == pytest.approx(0.6 / 1.3, rel=0.15)


def test_traces_of_a_fresh_network_have_every_compartment():
    config = tiny_config()
    params = initialise(config, 784)
    traces = record_traces(config, params, np.full(784, 0.5), 3, 55, 53)
    assert traces.soma[0].shape == (108, 20) and traces.soma[1].shape == (108, 10)
    assert traces.apical[0].shape == (108, 20) and np.any(traces.apical[0] != 0)
    assert traces.spikes[0].sum() > 0


def test_protocol_from_a_toml_file(tmp_path):
    path = tmp_path / "protocol.toml"
    path.write_text("pairings = 4\nbasal_rate_hz = 30.0\n[late]\nonset_ms = 60\n")
    config = build_plasticity_config([path], ["late.duration_ms=40"])
    assert config.pairings == 4 and config.basal_rate_hz == 30.0
    assert (config.late.onset_ms, config.late.duration_ms) == (60, 40)
    assert (config.early.onset_ms, config.early.duration_ms) == (0, 50)


def test_traces_of_chosen_neurons_from_a_preset(tmp_path):
    out = tmp_path / "tr"
    assert main(["traces", "--preset", "paper", "--set", "model.hidden=[20]", "--neuron", "0:5",
                 "--neuron", "1:3", "--out", str(out), "--csv", "--data-dir",
                 str(FIXTURE_DIR)]) == 0
    lines = (out / "traces.csv").read_text().splitlines()
    assert lines[0] == "step,phase,layer,neuron,basal,apical,soma,spikes"
    assert {tuple(line.split(",")[2:4]) for line in lines[1:]} == {("0", "5"), ("1", "3")}
    assert main(["traces", "--preset", "code", "--set", "model.hidden=[20]", "--neuron",
                 "0:99", "--out", str(out), "--data-dir", str(FIXTURE_DIR)]) == 2
