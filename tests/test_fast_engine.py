"""The fast engine against the reference engine: same seed, same spikes, same weights."""

import numpy as np
import pytest

from segdend.config import build_config
from segdend.data.dataset import Dataset
from segdend.engines.fast import FastEngine
from segdend.engines.reference import ReferenceEngine
from segdend.model.params import initialise
from segdend.train import epoch_order, make_schedules, phase_lengths


def _run_both(small_mnist, hidden, n_examples, *overrides, preset="code"):
    config = build_config(preset, overrides=[
        f"model.hidden={hidden}", f"train.examples={n_examples}", "phases.test_length=80",
        *overrides,
    ])
    order = epoch_order(config, 0, len(small_mnist.train_labels), None)
    images = Dataset.scale(small_mnist.train_images[order])
    labels = small_mnist.train_labels[order]
    schedules = make_schedules(config, 0, range(n_examples), phase_lengths(config, 0),
                               config.model.hidden)
    out = {}
    for engine_class in (ReferenceEngine, FastEngine):
        engine = engine_class(config)
        params = initialise(config, 784)
        state = engine.new_state(params)
        result = engine.train(params, state, images, labels, schedules, record_angle=True)
        test_images = Dataset.scale(small_mnist.test_images[:12])
        potentials = engine.output_potentials(params, test_images, (0, 1))
        out[engine.name] = (params, state, result, potentials, engine)
    return out


def _assert_agree(out):
    p_ref, s_ref, r_ref, v_ref, _ = out["reference"]
    p_fast, s_fast, r_fast, v_fast, _ = out["fast"]
    assert r_ref.completed == r_fast.completed
    for name, array in p_ref.arrays().items():
        other = p_fast.arrays()[name]
        if array.dtype == bool:
            assert np.array_equal(array, other), name
            continue
        scale = max(np.abs(array).max(), 1e-300)
        assert np.abs(array - other).max() / scale <= 1e-9, name
    for key in s_ref:
        if key.startswith("history"):
            assert np.array_equal(s_ref[key], s_fast[key]), key  # the same spikes
        else:
            assert np.allclose(s_ref[key], s_fast[key], rtol=1e-9, atol=1e-12), key
    assert np.array_equal(r_ref.predicted, r_fast.predicted)
    assert np.allclose(r_ref.output_loss, r_fast.output_loss, rtol=1e-8, atol=1e-14)
    assert np.allclose(r_ref.hidden_loss, r_fast.hidden_loss, rtol=1e-8, atol=1e-14)
    assert np.allclose(r_ref.backprop_angle, r_fast.backprop_angle, rtol=1e-8, equal_nan=True)
    assert np.allclose(v_ref, v_fast, rtol=1e-9, atol=1e-12)
    engine = out["fast"][4]
    units = engine.config.model.units_per_class
    assert np.array_equal(
        v_ref.reshape(len(v_ref), -1, units).mean(2).argmax(1),
        v_fast.reshape(len(v_fast), -1, units).mean(2).argmax(1),
    )


@pytest.mark.parametrize("hidden", ["[50]", "[50, 20]"])
def test_engines_agree_after_200_examples(small_mnist, hidden):
    _assert_agree(_run_both(small_mnist, hidden, 200))


VARIANTS = [
    ("[30]", ("model.kernel_steps=none",)),
    ("[30, 20]", ("model.plateaus=stochastic",)),
    ("[30]", ("model.plateaus=stochastic", "model.plateau_window=30",
              "model.plateau_offset_truncation=resample")),
    ("[30, 20]", ("model.apical_conductance=0.05",)),
    ("[30, 20]", ("model.apical_conductance=0.6",)),
    ("[30]", ("model.feedback=sparse",)),
    ("[30]", ("model.feedback=sparse-unamplified",)),
    ("[30]", ("model.feedback=symmetric",)),
    ("[30]", ("model.feedback=symmetric-noise",)),
    ("[30, 20]", ("model.feedback=symmetric-noise",)),
    ("[30]", ("model.feedback_signal=rates",)),
    ("[30, 20]", ("model.learning_rule=backprop",)),
    ("[30, 20]", ("model.learning_rule=backprop", "model.backprop_uses_updated_weights=false")),
    ("[30, 20]", ("model.learn_feedback=true", "model.feedback_learning_rates=[0.2, 0.1]",
                  "model.feedback_bias=true")),
    ("[30]", ("model.units_per_class=3",)),
    ("[30]", ("model.spiking_feedforward=false",)),
    ("[30]", ("phases.averaging=after-settling",)),
    ("[30, 20]", ("phases.averaging=after-settling", "phases.settling=3")),  # window from step 3
    ("[30]", ("phases.window=7", "model.kernel_steps=4")),
    ("[]", ()),
    ("[30, 20]", ("model.mode=rate",)),
    ("[30]", ("model.mode=rate", "model.feedback=symmetric", "model.feedback_bias=true")),
    ("[]", ("model.mode=rate",)),
    ("[30, 20]", ("model.mode=rate", "model.learning_rule=backprop")),
]


@pytest.mark.parametrize(("hidden", "overrides"), VARIANTS,
                         ids=["-".join(v[1]) or "no-hidden" for v in VARIANTS])
def test_engines_agree_on_every_variant(small_mnist, hidden, overrides):
    _assert_agree(_run_both(small_mnist, hidden, 25, *overrides))


@pytest.mark.parametrize("feedback", ["symmetric", "symmetric-noise"])
def test_symmetric_feedback_in_the_kernel_is_one_call_per_example(small_mnist, feedback,
                                                                   monkeypatch):
    # Y = W¹ᵀ (+ noise) re-set inside the kernel gives what one kernel call per example with Y
    # re-set in Python between calls gives (the path of the other variants whose Y changes
    # after each example), across chunks of several examples: the same spikes and predictions,
    # and weights equal to rounding (a fresh call rebuilds the drives from the spike history,
    # the kernel keeps them as any call does between its examples).
    config = build_config("code", overrides=["model.hidden=[30]", "train.examples=24",
                                             f"model.feedback={feedback}"])
    order = epoch_order(config, 0, len(small_mnist.train_labels), None)
    images = Dataset.scale(small_mnist.train_images[order[:24]])
    labels = small_mnist.train_labels[order[:24]]
    schedules = make_schedules(config, 0, range(24), phase_lengths(config, 0), [30])
    runs = []
    for in_kernel in (True, False):
        engine = FastEngine(config)
        monkeypatch.setattr(engine, "_symmetric_in_kernel", lambda params, k=in_kernel: k)
        params = initialise(config, 784)
        state = engine.new_state(params)
        results = [engine.train(params, state, images[a:b], labels[a:b], schedules[a:b],
                                record_angle=True) for a, b in ((0, 10), (10, 24))]
        runs.append((params, state, results))
    (p_kernel, s_kernel, r_kernel), (p_python, s_python, r_python) = runs
    for name, array in p_kernel.arrays().items():
        np.testing.assert_allclose(array, p_python.arrays()[name], rtol=1e-12, atol=1e-14,
                                   err_msg=name)
    assert not np.array_equal(p_kernel.feedback[0], initialise(config, 784).feedback[0])
    for key in s_kernel:
        if key.startswith("history"):
            assert np.array_equal(s_kernel[key], s_python[key]), key  # the same spikes
        else:
            np.testing.assert_allclose(s_kernel[key], s_python[key], rtol=1e-12, atol=1e-13,
                                       err_msg=key)
    for ours, theirs in zip(r_kernel, r_python, strict=True):
        assert ours.completed == theirs.completed
        assert np.array_equal(ours.predicted, theirs.predicted)
        for name in ("output_loss", "hidden_loss", "backprop_angle", "output_forward"):
            np.testing.assert_allclose(getattr(ours, name), getattr(theirs, name), rtol=1e-10,
                                       atol=1e-14, equal_nan=True, err_msg=name)


def test_engines_agree_with_the_paper_preset(small_mnist):
    _assert_agree(_run_both(small_mnist, "[30]", 25, preset="paper"))


def test_fast_engine_continues_a_reference_state(small_mnist):
    # States are interchangeable: reference for 10 examples then fast for 10 equals reference 20.
    config = build_config("code", overrides=["model.hidden=[20]", "train.examples=20"])
    order = epoch_order(config, 0, len(small_mnist.train_labels), None)
    images = Dataset.scale(small_mnist.train_images[order])
    labels = small_mnist.train_labels[order]
    schedules = make_schedules(config, 0, range(20), phase_lengths(config, 0), [20])
    reference = ReferenceEngine(config)
    p1 = initialise(config, 784)
    s1 = reference.new_state(p1)
    reference.train(p1, s1, images, labels, schedules)
    p2 = initialise(config, 784)
    s2 = reference.new_state(p2)
    reference.train(p2, s2, images[:10], labels[:10], schedules[:10])
    FastEngine(config).train(p2, s2, images[10:], labels[10:], schedules[10:])
    assert np.allclose(p1.weights[0], p2.weights[0], rtol=1e-9, atol=1e-12)
    assert np.array_equal(s1["history1"], s2["history1"])


def test_divergence_is_reported_by_both_engines(small_mnist):
    config = build_config("code", overrides=["model.hidden=[20]", "train.examples=5"])
    schedules = make_schedules(config, 0, range(5), phase_lengths(config, 0), [20])
    images = Dataset.scale(small_mnist.train_images[:5])
    for engine in (ReferenceEngine(config), FastEngine(config)):
        params = initialise(config, 784)
        params.weights[0][3, :] = np.inf
        result = engine.train(params, engine.new_state(params), images,
                              small_mnist.train_labels[:5], schedules)
        assert result.completed == 0 and result.diverged_layer == 0


def test_test_images_are_the_same_on_one_thread_and_on_several(small_mnist):
    """Test images are split into batches over a thread pool; the split changes nothing."""
    import numba

    config = build_config("code", overrides=["model.hidden=[30]", "phases.test_length=60"])
    engine = FastEngine(config)
    params = initialise(config, 784)
    images = Dataset.scale(small_mnist.test_images[:21])
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        alone = engine.output_potentials(params, images, (0, 3))
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
        pooled = engine.output_potentials(params, images, (0, 3))
    finally:
        numba.set_num_threads(before)
    assert np.array_equal(alone, pooled)


@pytest.mark.parametrize(("preset", "hidden"), [("code", "[40, 20]"), ("paper", "[40]"),
                                                ("code", "[]")])
def test_test_kernel_equals_the_general_phase(small_mnist, preset, hidden):
    """The test-image kernel (no output simulation, no spike history) gives the potentials of
    the general phase kernel: same spikes, sums within rounding."""
    from segdend import rng
    from segdend.engines import inference
    from segdend.engines.fast import _Packed
    from segdend.engines.kernels import window_start

    config = build_config(preset, overrides=[f"model.hidden={hidden}", "phases.test_length=120"])
    engine = FastEngine(config)
    params = initialise(config, 784)
    packed = _Packed(params)
    flags = engine._flags(config, test=True)
    images = Dataset.scale(small_mnist.test_images[:6])
    readout = inference.readout_coefficients(120, window_start(120, flags), flags, engine.consts)
    for e, image in enumerate(images):
        key = np.uint64(rng.derive_key(5, e))
        fast, general = np.zeros(packed.n_out), np.zeros(packed.n_out)
        inference.test_image_readout(image, key, packed.sizes, packed.pop_off, packed.w_off,
                                     packed.WT, packed.bias, engine.consts, flags, 120, *readout,
                                     fast)
        inference.test_image_general(image, key, packed.sizes, packed.pop_off, packed.w_off,
                                     packed.y_off, packed.WT, packed.bias, packed.YT,
                                     packed.cbias, engine.kernel, engine.consts, flags, 120,
                                     general)
        assert np.abs(general).max() > 0.1
        np.testing.assert_allclose(fast, general, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize(("preset", "hidden", "overrides"), [
    ("code", "[40, 20]", ()),
    ("paper", "[40]", ()),
    ("code", "[30]", ("model.feedback_signal=rates",)),
    ("code", "[30]", ("model.feedback_bias=true",)),
    ("code", "[]", ()),
])
def test_apical_test_kernel_is_bitwise_the_general_phase(small_mnist, preset, hidden, overrides):
    """With apical input to the somata (g_A ≠ 0, Fig 9) test images run in their own kernel,
    which must give exactly the potentials of the general phase kernel, bit for bit."""
    from segdend import rng
    from segdend.engines import inference
    from segdend.engines.fast import _Packed

    config = build_config(preset, overrides=[f"model.hidden={hidden}", "phases.test_length=120",
                                             "model.apical_conductance=0.3", *overrides])
    engine = FastEngine(config)
    params = initialise(config, 784)
    packed = _Packed(params)
    flags = engine._flags(config, test=True)
    assert inference.test_kernel_kind(flags, engine.consts) == "apical"
    without_apical = build_config(preset, overrides=[f"model.hidden={hidden}",
                                                     "phases.test_length=120", *overrides])
    assert inference.test_kernel_kind(
        FastEngine(without_apical)._flags(without_apical, test=True),
        FastEngine(without_apical).consts) == "readout"
    images = Dataset.scale(small_mnist.test_images[:6])
    for e, image in enumerate(images):
        key = np.uint64(rng.derive_key(5, e))
        apical, general = np.zeros(packed.n_out), np.zeros(packed.n_out)
        args = (image, key, packed.sizes, packed.pop_off, packed.w_off, packed.y_off, packed.WT,
                packed.bias, packed.YT, packed.cbias, engine.kernel, engine.consts, flags, 120)
        inference.test_image_apical(*args, apical)
        inference.test_image_general(*args, general)
        assert np.abs(general).max() > 0.1
        assert np.array_equal(apical, general)
