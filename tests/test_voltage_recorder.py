"""The voltage recorder (``record.voltages``): both engines, results unchanged, exact resume."""

import numpy as np
import pytest

from segdend.config import build_config
from segdend.data.dataset import Dataset
from segdend.engines.base import VoltageRequest
from segdend.engines.fast import FastEngine
from segdend.engines.reference import ReferenceEngine
from segdend.errors import ConfigError
from segdend.model.params import initialise, load_params
from segdend.recording import VOLTAGES, read_voltages, voltage_positions
from segdend.traces import plot, record_traces, traces_from_recording
from segdend.train import Trainer, epoch_order, make_schedules, phase_lengths

from .conftest import tiny_config
from .test_resume import Interrupted, _train

NEURONS = ('record.voltages=["0:3", "1:11", "2:0", "2:7"]',)


def _engines_with_and_without(small_mnist, overrides, n=6):
    """Train n examples on each engine, with and without recording examples 0, 2 and 5."""
    config = build_config("code", overrides=["model.hidden=[20, 15]", f"train.examples={n}",
                                             *overrides])
    order = epoch_order(config, 0, len(small_mnist.train_labels), None)
    images = Dataset.scale(small_mnist.train_images[order])
    labels = small_mnist.train_labels[order]
    schedules = make_schedules(config, 0, range(n), phase_lengths(config, 0), config.model.hidden)
    request = VoltageRequest(np.array([0, 1, 2, 2]), np.array([3, 14, 0, 7]),
                             frozenset({0, 2, 5}))
    out = {}
    for engine_class in (ReferenceEngine, FastEngine):
        for voltages in (None, request):
            engine = engine_class(config)
            params = initialise(config, 784)
            result = engine.train(params, engine.new_state(params), images, labels, schedules,
                                  voltages=voltages)
            out[engine.name, voltages is not None] = (params, result)
    return out, schedules


@pytest.mark.parametrize("overrides", [
    (),
    ("model.apical_conductance=0.05", "model.feedback_bias=true"),  # apical potential per step
    ("model.kernel_steps=none", "model.plateaus=stochastic"),
    ("model.spiking_feedforward=false", "model.feedback_signal=rates"),
    ("model.feedback=symmetric",),  # the fast engine goes one example at a time
])
def test_engines_record_the_same_voltages_and_recording_changes_nothing(small_mnist, overrides):
    out, schedules = _engines_with_and_without(small_mnist, overrides)
    for name in ("reference", "fast"):
        plain, recorded = out[name, False][0].arrays(), out[name, True][0].arrays()
        for key, array in plain.items():
            assert np.array_equal(array, recorded[key]), (name, key)  # bitwise
        assert not out[name, False][1].voltages
    ref, fast = out["reference", True][1].voltages, out["fast", True][1].voltages
    assert sorted(ref) == sorted(fast) == [0, 2, 5]
    for pos, a in ref.items():
        b = fast[pos]
        steps = schedules[pos].forward_length + schedules[pos].target_length
        assert a.shape == b.shape == (steps, 4, 4)
        assert np.array_equal(np.isnan(a), np.isnan(b))
        assert np.isnan(a[:, 2:, 0]).all() and not np.isnan(a[:, :2]).any()  # output: no apical
        assert np.array_equal(a[..., 3], b[..., 3])  # the same spikes
        finite = ~np.isnan(a)
        assert np.allclose(a[finite], b[finite], rtol=1e-9, atol=1e-12)
    assert sum(v[..., 3].sum() for v in ref.values()) > 0


def _run(tmp_path, small_mnist, name, *overrides):
    config = tiny_config("train.examples=12", *overrides)
    trainer = Trainer(config, tmp_path / name, small_mnist, quiet=True, log=lambda m: None)
    trainer.start()
    trainer.train()
    return tmp_path / name


@pytest.mark.parametrize("engine", ["reference", "fast"])
def test_training_with_the_recorder_gives_bitwise_the_same_weights(tmp_path, small_mnist, engine):
    plain = _run(tmp_path, small_mnist, "plain", f"engine={engine}")
    recorded = _run(tmp_path, small_mnist, "recorded", f"engine={engine}",
                    'record.voltages=["0:3", "1:4"]', "record.voltage_every=2")
    assert not (plain / VOLTAGES).exists()
    a, b = load_params(plain / "params.npz"), load_params(recorded / "params.npz")
    for x, y in zip(a.arrays().values(), b.arrays().values(), strict=True):
        assert np.array_equal(x, y)
    assert (plain / "recordings/losses.csv").read_text() == (
        recorded / "recordings/losses.csv").read_text()


def test_recording_files_of_both_engines_agree(tmp_path, small_mnist):
    extra = ('record.voltages=["1:2", "0:19", "0:3"]', "record.voltage_every=4",
             "record.voltage_examples=9")
    files = [read_voltages(_run(tmp_path, small_mnist, e, f"engine={e}", *extra))
             for e in ("reference", "fast")]
    ref, fast = files
    assert sorted(set(ref["example"].tolist())) == [0, 4, 8]
    assert list(dict.fromkeys(zip(ref["layer"].tolist(), ref["neuron"].tolist(),
                                  strict=True))) == [(1, 2), (0, 19), (0, 3)]
    lengths = phase_lengths(tiny_config("train.examples=12"), 0)
    for example in (0, 4, 8):
        rows = ref["example"] == example
        assert rows.sum() == 3 * lengths[example].sum()
        first = rows & (ref["layer"] == 0) & (ref["neuron"] == 3)
        assert ref["step"][first].tolist() == list(range(lengths[example].sum()))
        assert (ref["phase"][first] == "forward").sum() == lengths[example, 0]
    for column in ("epoch", "example", "index", "label", "phase", "step", "layer", "neuron",
                   "spikes"):
        assert np.array_equal(ref[column], fast[column]), column
    for column in ("apical", "basal", "soma"):
        assert np.allclose(ref[column], fast[column], rtol=1e-8, atol=1e-12, equal_nan=True)
    assert np.isnan(ref["apical"][ref["layer"] == 1]).all()
    assert not np.isnan(ref["apical"][ref["layer"] == 0]).any()
    only = read_voltages(tmp_path / "fast", epoch=1, example=4)
    assert set(only["example"].tolist()) == {4} and only["soma"].size == 3 * lengths[4].sum()


@pytest.mark.parametrize(("engine", "stop_after"), [("reference", 17), ("fast", 25)])
def test_resumed_run_writes_the_same_recording(tmp_path, small_mnist, monkeypatch, engine,
                                               stop_after):
    config = tiny_config(
        f"engine={engine}", "train.epochs=2", "train.examples=30", "train.checkpoint_every=10",
        "test.examples=10", 'record.voltages=["0:5", "1:1"]', "record.voltage_every=3",
        "record.voltage_examples=25",
    )
    whole = _train(tmp_path / "whole", small_mnist, config)
    whole.start()
    whole.train()
    run = tmp_path / "interrupted"
    trainer = _train(run, small_mnist, config, stop_after, monkeypatch)
    trainer.start()
    with pytest.raises(Interrupted):
        trainer.train()
    monkeypatch.undo()
    assert (run / VOLTAGES).stat().st_size < (tmp_path / "whole" / VOLTAGES).stat().st_size
    resumed = Trainer(config, run, small_mnist, quiet=True, log=lambda m: None)
    resumed.resume()
    resumed.train()
    assert (run / VOLTAGES).read_bytes() == (tmp_path / "whole" / VOLTAGES).read_bytes()
    recording = read_voltages(run)
    assert sorted(set(recording["epoch"].tolist())) == [1, 2]
    assert sorted(set(recording["example"].tolist())) == list(range(0, 25, 3))


@pytest.mark.parametrize(("value", "message"), [
    ('["2:0"]', "record.voltages: '2:0': no layer 2 (layers 0..1; 0: 20 hidden neurons, "
                "1: 10 output neurons)"),
    ('["0:20"]', "record.voltages: '0:20': layer 0 has neurons 0..19"),
    ('["1:10"]', "record.voltages: '1:10': layer 1 has neurons 0..9"),
    ('["first:3"]', "config key 'record.voltages' = ['first:3']: 'first:3' is not LAYER:INDEX"),
    ('["0:-1"]', "'0:-1' is not LAYER:INDEX"),
    ('["3"]', "'3' is not LAYER:INDEX"),
])
def test_bad_neuron_selection_is_a_one_line_error(value, message):
    with pytest.raises(ConfigError) as error:
        tiny_config(f"record.voltages={value}")
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_other_voltage_settings_are_checked():
    with pytest.raises(ConfigError, match="model.mode = 'spiking'"):
        tiny_config("model.mode=rate", 'record.voltages=["0:1"]')
    with pytest.raises(ConfigError, match="record.voltage_every"):
        tiny_config("record.voltage_every=0")
    assert tiny_config("record.voltages=0:1").record.voltages == ["0:1"]  # --set without quotes


def test_voltage_positions():
    config = tiny_config('record.voltages=["0:1"]', "record.voltage_every=4",
                         "record.voltage_examples=10")
    assert voltage_positions(config, 0, 20) == {0, 4, 8}
    assert voltage_positions(config, 5, 9) == {8}
    assert voltage_positions(config, 9, 20) == frozenset()
    assert voltage_positions(tiny_config(), 0, 20) == frozenset()
    every = tiny_config('record.voltages=["0:1"]')
    assert voltage_positions(every, 3, 6) == {3, 4, 5}


def test_recorded_first_example_equals_traces(tmp_path, small_mnist):
    """Example 0 starts from rest with the initial weights: what ``segdend traces`` shows."""
    run = _run(tmp_path, small_mnist, "run", "phases.random_lengths=false",
               'record.voltages=["0:3", "0:17", "1:4"]', "record.voltage_examples=1")
    recording = read_voltages(run)
    config = tiny_config("phases.random_lengths=false")
    order = epoch_order(config, 0, len(small_mnist.train_labels), None)
    image = Dataset.scale(small_mnist.train_images[order[0]])
    label = int(small_mnist.train_labels[order[0]])
    assert recording["index"][0] == order[0] and recording["label"][0] == label
    traces = record_traces(config, load_params(run / "initial_params.npz"), image, label)
    for layer, j in ((0, 3), (0, 17), (1, 4)):
        rows = (recording["layer"] == layer) & (recording["neuron"] == j)
        assert rows.sum() == 100
        for column, values in (("soma", traces.soma), ("basal", traces.basal),
                               ("spikes", traces.spikes)):
            assert np.allclose(recording[column][rows], values[layer][:, j], rtol=1e-9,
                               atol=1e-12), column
        if layer == 0:
            assert np.allclose(recording["apical"][rows], traces.apical[0][:, j], rtol=1e-9,
                               atol=1e-12)
    recorded, neurons = traces_from_recording(recording, 1, 0, n_layers=2)
    assert neurons == {0: [3, 17], 1: [4]} and recorded.forward_length == 50
    assert recorded.label == label
    assert np.allclose(recorded.soma[1][:, 4], traces.soma[1][:, 4], rtol=1e-9, atol=1e-12)
    assert np.isnan(recorded.soma[0][:, 5]).all()
    plot(recorded, neurons, tmp_path / "recorded.png", "recorded example 0")
    assert (tmp_path / "recorded.png").stat().st_size > 0
    with pytest.raises(ValueError, match="no example 1 of epoch 1"):
        traces_from_recording(recording, 1, 1, n_layers=2)
