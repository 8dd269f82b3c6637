"""The fast engine: the reference engine's semantics, compiled with Numba (DESIGN.md, "Engines").

Parameters and network state are packed into flat arrays for each call of a compiled kernel and
unpacked afterwards, so run directories, checkpoints and states are interchangeable with the
reference engine. Symmetric feedback with one hidden layer (Y = W¹ᵀ, with or without noise, re-set
after every example) is re-set inside the kernel; the other variants whose feedback weights change
after every example (feedback learning, symmetric feedback with several hidden layers or sparse
masks) return to Python between examples for that step. Everything else runs a whole chunk of
examples inside one kernel call. Test images are simulated in parallel on all cores.
"""

from __future__ import annotations

import itertools
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np

from segdend import rng
from segdend.config import Config
from segdend.engines import inference
from segdend.engines import kernels as kn
from segdend.engines.base import ChunkResult, Engine, ExampleSchedule, VoltageRequest
from segdend.engines.counters import extend_keys
from segdend.engines.reference import ReferenceEngine
from segdend.model.learning import ExampleSummary, needs_feedback_update, update_feedback_weights
from segdend.model.params import NetworkParams

State = dict[str, np.ndarray]


class _Packed:
    """Flat views of a network's parameters for the kernels."""

    def __init__(self, params: NetworkParams, buffer: np.ndarray | None = None):
        """``buffer``: a float64 array to hold Wᵀ if it has the right size (reused between calls,
        which saves the page faults of a fresh multi-megabyte allocation)."""
        self.sizes = np.array(params.sizes, dtype=np.int64)
        self.pop_off = np.concatenate([[0], np.cumsum(self.sizes)[:-1]]).astype(np.int64)
        self.total = int(self.sizes.sum())
        self.n_out = int(self.sizes[-1])
        n_layers = len(params.weights)
        seg = [params.weights[k].shape[0] * params.weights[k].shape[1] for k in range(n_layers)]
        self.w_off = np.concatenate([[0], np.cumsum(seg)[:-1]]).astype(np.int64)
        self.WT = buffer if buffer is not None and buffer.size == sum(seg) else np.empty(sum(seg))
        for k, w in enumerate(params.weights):  # Wᵀ: a presynaptic neuron's weights contiguous
            n_post, n_pre = w.shape
            np.copyto(self.WT[self.w_off[k] : self.w_off[k] + seg[k]].reshape(n_pre, n_post), w.T)
        self.bias = np.zeros(self.total)
        for k, b in enumerate(params.biases):
            self.bias[self.pop_off[k + 1] : self.pop_off[k + 1] + b.size] = b
        ysegs = [y.size for y in params.feedback]
        self.y_off = np.concatenate([[0], np.cumsum(ysegs)[:-1]]).astype(np.int64) if ysegs else (
            np.zeros(1, np.int64))
        self.Y = np.concatenate([y.ravel() for y in params.feedback]) if ysegs else np.zeros(1)
        self.YT = np.concatenate([y.T.ravel() for y in params.feedback]) if ysegs else np.zeros(1)
        self.cbias = np.zeros(self.total)
        for k, c in enumerate(params.feedback_biases):
            self.cbias[self.pop_off[k + 1] : self.pop_off[k + 1] + c.size] = c

    def unpack(self, params: NetworkParams) -> None:
        """Write updated weights and biases back into ``params`` (in place)."""
        for k, w in enumerate(params.weights):
            n_post, n_pre = w.shape
            start = self.w_off[k]
            w[...] = self.WT[start : start + n_pre * n_post].reshape(n_pre, n_post).T
            off = self.pop_off[k + 1]
            params.biases[k][...] = self.bias[off : off + n_post]


class FastEngine(Engine):
    """Numba engine; same spikes and weights as the reference engine (to rounding).

    An engine keeps a work buffer between calls: use one engine per thread."""

    name = "fast"

    def __init__(self, config: Config):
        super().__init__(config)
        self.model = config.model
        self.truncated = self.const.kernel_steps is not None
        self.reference = ReferenceEngine(config)  # state format and rate-mode tests
        self.consts = np.zeros(kn.N_CONSTS)
        c = self.const
        m = c.kernel_steps or 0
        self.consts[[kn.C_MAX_RATE, kn.C_GL, kn.C_GB, kn.C_GA, kn.C_GD, kn.C_KB, kn.C_KD, kn.C_EE,
                     kn.C_EI, kn.C_TEACH, kn.C_DL, kn.C_DS, kn.C_INV_TAU, kn.C_DL_M,
                     kn.C_DS_M]] = [
            c.max_rate, c.g_leak, c.g_basal, c.g_apical, c.g_dendrite, c.k_basal, c.k_dendrite,
            c.excitatory_reversal, c.inhibitory_reversal, c.teaching_scale, c.decay_long,
            c.decay_short, 1.0 / (c.tau_long - c.tau_short), c.decay_long**m, c.decay_short**m]
        self.kernel = c.kernel.copy() if self.truncated else np.zeros(1)
        self.flags = self._flags(config)
        self._weight_buffer: np.ndarray | None = None

    def _flags(self, config: Config, record_angle: bool = False, update: bool = True,
               test: bool = False) -> np.ndarray:
        model, phases = config.model, config.phases
        flags = np.zeros(kn.N_FLAGS, dtype=np.int64)
        flags[kn.F_TRUNCATED] = int(self.truncated)
        flags[kn.F_M] = self.const.kernel_steps if self.truncated else 1
        flags[kn.F_SPIKING_FF] = int(model.spiking_feedforward)
        flags[kn.F_RATE_FEEDBACK] = int(model.feedback_signal == "rates")
        flags[kn.F_STOCHASTIC] = int(model.plateaus == "stochastic" and not test)
        flags[kn.F_WINDOW_MODE] = 1 if test or phases.averaging == "after-settling" else 0
        flags[kn.F_WINDOW] = phases.window
        flags[kn.F_SETTLING] = phases.settling
        flags[kn.F_PLATEAU_WINDOW] = model.plateau_window
        flags[kn.F_PLATEAU_MAX] = model.plateau_offset_max
        flags[kn.F_HAS_CBIAS] = int(model.feedback_bias)
        flags[kn.F_BACKPROP] = int(model.learning_rule == "backprop")
        flags[kn.F_BP_UPDATED] = int(model.backprop_uses_updated_weights)
        flags[kn.F_RECORD_ANGLE] = int(record_angle)
        flags[kn.F_UNITS] = model.units_per_class
        flags[kn.F_UPDATE] = int(update)
        return flags

    # ----------------------------------------------------------------------- state

    def new_state(self, params: NetworkParams) -> State:
        """Same format as the reference engine's state (checkpoints are interchangeable)."""
        return self.reference.new_state(params)

    def _pack_state(self, packed: _Packed, state: State) -> dict[str, np.ndarray]:
        m = self.const.kernel_steps if self.truncated else 1
        out = {
            "hist": np.zeros((m, packed.total)),
            "slow": np.zeros(packed.total),
            "fast": np.zeros(packed.total),
            "soma": np.zeros(packed.total),
            "out_rate": state["output_rate"].astype(np.float64).copy(),
            "head": np.zeros(1, np.int64),
        }
        for p, n in enumerate(packed.sizes):
            off = packed.pop_off[p]
            if self.truncated:
                history = state[f"history{p}"]  # row 0 newest
                for r in range(m):
                    out["hist"][(-r) % m, off : off + n] = history[r]
            else:
                out["slow"][off : off + n] = state[f"slow{p}"]
                out["fast"][off : off + n] = state[f"fast{p}"]
            if p > 0:
                out["soma"][off : off + n] = state[f"soma{p - 1}"]
        return out

    def _unpack_state(self, packed: _Packed, flat: dict[str, np.ndarray], state: State) -> None:
        m = self.const.kernel_steps if self.truncated else 1
        head = int(flat["head"][0])
        for p, n in enumerate(packed.sizes):
            off = packed.pop_off[p]
            if self.truncated:
                history = state[f"history{p}"]
                for r in range(m):
                    history[r] = flat["hist"][(head - r) % m, off : off + n]
            else:
                state[f"slow{p}"] = flat["slow"][off : off + n].copy()
                state[f"fast{p}"] = flat["fast"][off : off + n].copy()
            if p > 0:
                state[f"soma{p - 1}"] = flat["soma"][off : off + n].copy()
        state["output_rate"] = flat["out_rate"].copy()

    # -------------------------------------------------------------------- training

    def _steps(self, n_layers: int) -> np.ndarray:
        etas = self.config.learning_rates()
        scales = [self.const.hidden_error_scale] * (n_layers - 1) + [self.const.output_error_scale]
        return np.array([eta * scale for eta, scale in zip(etas, scales, strict=True)])

    def _targets(self, labels: np.ndarray) -> np.ndarray:
        return np.stack([self.reference.target_vector(int(label)) for label in labels])

    def _offsets(self, packed: _Packed, schedules: list[ExampleSchedule]) -> np.ndarray:
        if self.model.plateaus != "stochastic" or self.model.mode == "rate":
            return np.zeros((len(schedules), 2, 1), np.int64)
        offsets = np.zeros((len(schedules), 2, packed.total), np.int64)
        for e, schedule in enumerate(schedules):
            for phase, per_layer in enumerate(
                (schedule.plateau_offsets_forward, schedule.plateau_offsets_target)
            ):
                for k, values in enumerate(per_layer or []):
                    off = packed.pop_off[k + 1]
                    offsets[e, phase, off : off + values.size] = values
        return offsets

    def train(
        self,
        params: NetworkParams,
        state: State,
        images: np.ndarray,
        labels: np.ndarray,
        schedules: list[ExampleSchedule],
        record_angle: bool = False,
        learn: bool = True,
        voltages: VoltageRequest | None = None,
    ) -> ChunkResult:
        """Online training in compiled chunks (one example per chunk if Y changes each time)."""
        result = ChunkResult.empty(len(images), params.n_hidden, params.sizes[-1])
        if len(images) == 0:
            return result
        in_kernel = learn and self._symmetric_in_kernel(params)
        per_example = learn and needs_feedback_update(self.config) and not in_kernel
        bounds = list(range(len(images) + 1)) if per_example else [0, len(images)]
        for start, stop in itertools.pairwise(bounds):
            request = None
            if voltages is not None and not voltages.positions.isdisjoint(range(start, stop)):
                request = VoltageRequest(voltages.layers, voltages.neurons, frozenset(
                    pos - start for pos in voltages.positions if start <= pos < stop))
            part = self._train_part(params, state, images[start:stop], labels[start:stop],
                                    schedules[start:stop], record_angle, per_example, learn,
                                    request, in_kernel)
            for name in ("predicted", "output_loss", "hidden_loss", "backprop_angle",
                         "output_forward"):
                getattr(result, name)[start : start + part.completed] = getattr(part, name)[
                    : part.completed
                ]
            result.voltages.update({start + pos: rec for pos, rec in part.voltages.items()})
            result.completed = start + part.completed
            if part.diverged_layer >= 0:
                result.diverged_layer = part.diverged_layer
                break
        return result

    def _symmetric_in_kernel(self, params: NetworkParams) -> bool:
        """Whether the kernel re-sets Y = W¹ᵀ (+ noise) itself after each example: symmetric
        feedback, spiking mode, one hidden layer, no sparse masks and no feedback learning."""
        model = self.model
        return (model.feedback in ("symmetric", "symmetric-noise") and model.mode == "spiking"
                and params.n_hidden == 1 and not params.sparse_masks
                and not model.learn_feedback)

    def _feedback_noise(self, params: NetworkParams, schedules: list[ExampleSchedule],
                        in_kernel: bool) -> np.ndarray:
        """The noise added to Y = W¹ᵀ after each example of the chunk, (examples, hidden,
        output): the draws of :func:`segdend.model.params.symmetrise_feedback`, keyed by the
        example index + 1 (stream ``FEEDBACK_NOISE``, layer 0). Empty unless the kernel adds
        it."""
        if not in_kernel or self.model.feedback != "symmetric-noise":
            return np.zeros((0, 0, 0))
        shape = params.weights[1].T.shape
        sd = self.model.symmetric_noise_sd
        return np.stack([rng.generator(self.config.seed, rng.STREAM_FEEDBACK_NOISE,
                                       s.index + 1, 0).normal(0.0, sd, size=shape)
                         for s in schedules])

    def _train_part(self, params, state, images, labels, schedules, record_angle, per_example,
                    learn, voltages=None, in_kernel=False):
        packed = _Packed(params, self._weight_buffer)
        self._weight_buffer = packed.WT
        n = len(images)
        n_hidden = params.n_hidden
        result = ChunkResult.empty(n, n_hidden, packed.n_out)
        flags = self._flags(self.config, record_angle=record_angle, update=learn)
        if in_kernel:
            flags[kn.F_SYMMETRIC] = (kn.SYMMETRIC_NOISY if self.model.feedback == "symmetric-noise"
                                     else kn.SYMMETRIC_EXACT)
        steps = self._steps(len(params.weights))
        targets = self._targets(labels)
        summary = {name: np.zeros(packed.total) for name in
                   ("soma_f", "sbar", "apical_f", "alpha_f", "alpha_t")}
        rate_t = np.zeros(packed.n_out)
        fb_mean = np.zeros(packed.n_out)
        common = (result.predicted, result.output_loss, result.hidden_loss,
                  result.backprop_angle, result.output_forward, summary["soma_f"], summary["sbar"],
                  summary["apical_f"], summary["alpha_f"], summary["alpha_t"], rate_t, fb_mean)
        if self.model.mode == "rate":
            completed, diverged = kn.train_rate(
                np.ascontiguousarray(images, dtype=np.float64), targets, packed.sizes,
                packed.pop_off, packed.w_off, packed.y_off, packed.WT, packed.bias, packed.Y,
                packed.cbias, self.consts, flags, steps, *common,
            )
        else:
            flat = self._pack_state(packed, state)
            keys = extend_keys(np.uint64(rng.derive_key(self.config.seed, rng.STREAM_TRAIN)),
                               np.array([s.index for s in schedules], dtype=np.int64))
            f_lens = np.array([s.forward_length for s in schedules], dtype=np.int64)
            t_lens = np.array([s.target_length for s in schedules], dtype=np.int64)
            recording = self._recording(voltages, f_lens + t_lens)
            completed, diverged = kn.train_spiking(
                np.ascontiguousarray(images, dtype=np.float64), targets, keys, f_lens, t_lens,
                self._offsets(packed, schedules), packed.sizes, packed.pop_off, packed.w_off,
                packed.y_off, packed.WT, packed.bias, packed.YT, packed.cbias, self.kernel,
                self.consts, flags, steps, flat["hist"], flat["slow"], flat["fast"],
                flat["soma"], flat["out_rate"], flat["head"], *common, *recording,
                self._feedback_noise(params, schedules, in_kernel),
            )
            self._unpack_state(packed, flat, state)
            _, _, rec, slots = recording
            for e in np.flatnonzero(slots[: int(completed)] >= 0):
                result.voltages[int(e)] = rec[slots[e], : f_lens[e] + t_lens[e]].copy()
        packed.unpack(params)
        if in_kernel and completed > 0:  # Y as re-set after the last completed example
            n_hid, n_out = params.feedback[0].shape
            params.feedback[0] = packed.YT[packed.y_off[0] : packed.y_off[0] + n_hid * n_out
                                           ].reshape(n_out, n_hid).T.copy()
        result.completed = int(completed)
        result.diverged_layer = int(diverged)
        if per_example and result.completed == 1:
            update_feedback_weights(params, self._summary(packed, summary, fb_mean), self.config,
                                    self.const, schedules[0].index)
        return result

    @staticmethod
    def _recording(request: VoltageRequest | None, lengths: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Arguments of ``train_spiking`` that record the requested examples' neurons:
        populations, indices, the output array (slots, steps, neurons, 4) and each example's slot
        (−1: not recorded). Without a request, empty arrays: the kernel's normal path."""
        slots = np.full(len(lengths), -1, np.int64)
        if request is None or not request.positions:
            return (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, 0, 0, 4)), slots)
        chosen = sorted(pos for pos in request.positions if pos < len(lengths))
        slots[chosen] = np.arange(len(chosen))
        n_rec = len(request.layers)
        rec = np.zeros((len(chosen), int(lengths[chosen].max()), n_rec, 4))
        return (np.asarray(request.layers, np.int64) + 1, np.asarray(request.neurons, np.int64),
                rec, slots)

    @staticmethod
    def _summary(packed: _Packed, arrays: dict[str, np.ndarray], fb_mean: np.ndarray
                 ) -> ExampleSummary:
        """The parts of an example's summary that feedback learning needs."""
        hidden = range(1, len(packed.sizes) - 1)

        def layer(name: str, p: int) -> np.ndarray:
            off = packed.pop_off[p]
            return arrays[name][off : off + packed.sizes[p]].copy()

        return ExampleSummary(
            soma_forward=[layer("soma_f", p) for p in range(1, len(packed.sizes))],
            trace_below_forward=[],
            output_rate_target=np.zeros(0),
            plateau_forward=[layer("alpha_f", p) for p in hidden],
            plateau_target=[layer("alpha_t", p) for p in hidden],
            apical_forward=[layer("apical_f", p) for p in hidden],
            feedback_trace_forward=[fb_mean.copy() for _ in hidden],
        )

    # ------------------------------------------------------------------------ tests

    def output_potentials(
        self, params: NetworkParams, images: np.ndarray, key_parts: tuple[int, ...]
    ) -> np.ndarray:
        """Mean output somatic potentials of test images, in parallel over images."""
        if self.model.mode == "rate":
            return self.reference.output_potentials(params, images, key_parts)
        packed = _Packed(params, self._weight_buffer)
        self._weight_buffer = packed.WT
        keys = extend_keys(np.uint64(rng.derive_key(self.config.seed, rng.STREAM_TEST, *key_parts)),
                           np.arange(len(images), dtype=np.int64))
        out = np.zeros((len(images), packed.n_out))
        images = np.ascontiguousarray(images, dtype=np.float64)
        flags = self._flags(self.config, test=True)
        length = self.config.phases.test_length
        kind = inference.test_kernel_kind(flags, self.consts)
        stepped = (inference.test_spiking_apical if kind == "apical"
                   else inference.test_spiking_general)

        def run(batch: slice) -> None:
            if kind == "readout":
                inference.test_spiking_readout(
                    images[batch], keys[batch], packed.sizes, packed.pop_off, packed.w_off,
                    packed.WT, packed.bias, self.consts, flags, length, out[batch],
                )
            else:
                stepped(
                    images[batch], keys[batch], packed.sizes, packed.pop_off, packed.w_off,
                    packed.y_off, packed.WT, packed.bias, packed.YT, packed.cbias, self.kernel,
                    self.consts, flags, length, out[batch],
                )

        threads = numba.get_num_threads()
        # several contiguous batches per thread, taken in turn: cores stay busy to the end
        n_batches = min(len(images), 4 * threads)
        bounds = np.linspace(0, len(images), n_batches + 1).astype(int)
        batches = [slice(a, b) for a, b in itertools.pairwise(bounds)]
        if threads == 1 or n_batches <= 1:
            for batch in batches:
                run(batch)
        else:
            with ThreadPoolExecutor(max_workers=threads) as pool:
                list(pool.map(run, batches))  # (re-raises a worker's exception)
        return out
