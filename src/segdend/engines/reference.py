"""The reference engine: plain NumPy, written equation by equation (PAPER.md §1–2).

This is the executable specification and the oracle every faster engine is tested against. It
favours clarity over speed: one Python iteration per time step, dense matrix–vector products.

Semantics of one time step (PAPER.md §2.1: layers bottom to top; within a layer dendrites, then
soma, then spikes), with dt = 1 ms and forward Euler (§1.4):

1. input spikes ~ Poisson(φ_max · pixel)                                   (§1.2)
2. for each hidden layer k (feedback from the output's history up to the previous step):
   V^{kb} = W^k s^{k−1} + b^k,  V^{ka} = Y^k s^{out} (+ c^k)                  (§1.4)
   V^k += −g_l V^k + g_b (V^{kb} − V^k) + g_a (V^{ka} − V^k)                 (Eq. 1, C_m = 1)
   φ^k = φ_max σ(V^k); spikes ~ Poisson(φ^k)                                (Eq. 3)
3. output: V^{ob} = W^o s^{H} + b^o;
   V^o += −g_l V^o + g_d (V^{ob} − V^o) + I,  I = g_E (E_E − V^o) + g_I (E_I − V^o)  (Eqs. 19–20)

The filtered spike train of a population is s(t) = Σ_{j≥0} κ(j + 1) h(t − j), where h(t) are the
spike counts it emitted at step t (the newest spikes are weighted by κ(1), as in the code). With the
10-step truncated kernel this is a dot product with the last 10 spike vectors; the untruncated
kernel is computed exactly by the two recurrences a ← e^{−1/τ_L}(a + h), b ← e^{−1/τ_s}(b + h),
s = (a − b)/(τ_L − τ_s).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from segdend import rng
from segdend.config import Config
from segdend.engines.base import ChunkResult, Engine, ExampleSchedule, VoltageRequest
from segdend.model.constants import sigmoid
from segdend.model.learning import ExampleSummary, apply_updates, update_angle
from segdend.model.params import NetworkParams

State = dict[str, np.ndarray]


@dataclass
class PhaseRecord:
    """Per-step values of one phase (rows = time steps), for averaging and plotting."""

    soma: list[np.ndarray]
    rate: list[np.ndarray]
    trace_below: list[np.ndarray]
    apical: list[np.ndarray]
    feedback_signal: np.ndarray | None
    basal: list[np.ndarray] | None = None
    spikes: list[np.ndarray] | None = None


class ReferenceEngine(Engine):
    """NumPy engine; spiking and rate modes (``model.mode``)."""

    name = "reference"

    def __init__(self, config: Config):
        super().__init__(config)
        self.model = config.model
        self.phases = config.phases
        self.truncated = self.const.kernel_steps is not None

    # ----------------------------------------------------------------- state and spike traces

    def new_state(self, params: NetworkParams) -> State:
        """All potentials, spike histories and kernel accumulators at zero (rest, V^R = 0)."""
        sizes = params.sizes
        state: State = {}
        for p, n in enumerate(sizes):
            if self.truncated:
                state[f"history{p}"] = np.zeros((self.const.kernel_steps, n))
            else:
                state[f"slow{p}"] = np.zeros(n)
                state[f"fast{p}"] = np.zeros(n)
        for k, n in enumerate(sizes[1:]):
            state[f"soma{k}"] = np.zeros(n)
        state["output_rate"] = np.zeros(sizes[-1])
        return state

    def _push_spikes(self, state: State, population: int, counts: np.ndarray) -> None:
        """Append one step of spike counts h(t) to a population's history."""
        if self.truncated:
            history = state[f"history{population}"]
            history[1:] = history[:-1].copy()
            history[0] = counts
        else:
            slow, fast = f"slow{population}", f"fast{population}"
            state[slow] = self.const.decay_long * (state[slow] + counts)
            state[fast] = self.const.decay_short * (state[fast] + counts)

    def _trace(self, state: State, population: int) -> np.ndarray:
        """Filtered spike train s(t) = Σ_j κ(j + 1) h(t − j) of a population (§1.3)."""
        if self.truncated:
            return self.const.kernel @ state[f"history{population}"]
        diff = state[f"slow{population}"] - state[f"fast{population}"]
        return diff / (self.const.tau_long - self.const.tau_short)

    # ------------------------------------------------------------------------ one phase

    def _run_phase(
        self,
        params: NetworkParams,
        state: State,
        input_rate: np.ndarray,
        target: np.ndarray | None,
        base_key: int,
        first_step: int,
        length: int,
        full: bool = True,
        voltages: bool = False,
    ) -> PhaseRecord:
        """Simulate ``length`` steps of the spiking network; record what the averages need."""
        const, model = self.const, self.model
        n_hidden = params.n_hidden
        out = n_hidden
        sizes = params.sizes
        # Tests (full=False) record only the output soma.
        soma_rec = [np.zeros((length, n if full or k == out else 0))
                    for k, n in enumerate(sizes[1:])]
        rate_rec = [np.zeros((length, n)) for n in sizes[1:]] if full else []
        below_rec = [np.zeros((length, n)) for n in sizes[:-1]] if full else []
        apical_rec = [np.zeros((length, n)) for n in sizes[1:-1]] if full else []
        feedback_rec = np.zeros((length, sizes[-1])) if full and n_hidden else None
        basal_rec = [np.zeros((length, n)) for n in sizes[1:]] if voltages else None
        spike_rec = [np.zeros((length, n)) for n in sizes] if voltages else None
        if target is not None:
            # Teaching conductances (§1.6): g_E = 1, g_I = 0 for the correct unit, the reverse
            # for all others.
            g_exc, g_inh = target, 1.0 - target

        for i in range(length):
            t = first_step + i
            # (1) Input layer: Poisson spikes with rate φ_max · pixel (§1.2).
            counts = rng.poisson_counts(rng.step_key(base_key, 0, t), input_rate)
            self._push_spikes(state, 0, counts)
            below = self._trace(state, 0) if model.spiking_feedforward else input_rate
            if voltages:
                spike_rec[0][i] = counts
            # Feedback reaching the apical dendrites: the output's spikes up to the last step.
            if model.feedback_signal == "spikes":
                feedback = self._trace(state, out + 1)
            else:
                feedback = state["output_rate"]
            # (2) Hidden layers, bottom to top.
            for k in range(n_hidden):
                if full:
                    below_rec[k][i] = below
                basal = params.weights[k] @ below + params.biases[k]  # V^{kb} (§1.4)
                apical = params.feedback[k] @ feedback  # V^{ka} (§1.4)
                if params.feedback_biases:
                    apical = apical + params.feedback_biases[k]
                soma = state[f"soma{k}"]
                soma += (
                    -const.g_leak * soma
                    + const.g_basal * (basal - soma)
                    + const.g_apical * (apical - soma)
                )  # Eq. 1 with C_m = 1, dt = 1 ms
                rate = const.max_rate * sigmoid(soma)  # Eq. 3
                counts = rng.poisson_counts(rng.step_key(base_key, k + 1, t), rate)
                self._push_spikes(state, k + 1, counts)
                if full:
                    soma_rec[k][i] = soma
                    rate_rec[k][i] = rate
                    apical_rec[k][i] = apical
                if voltages:
                    basal_rec[k][i] = basal
                    spike_rec[k + 1][i] = counts
                below = self._trace(state, k + 1) if model.spiking_feedforward else rate
            # (3) Output layer.
            if full:
                below_rec[out][i] = below
                if feedback_rec is not None:
                    feedback_rec[i] = feedback
            basal = params.weights[out] @ below + params.biases[out]  # V^{1b} (§1.6)
            soma = state[f"soma{out}"]
            if target is None:
                current = 0.0
            else:
                current = const.teaching_scale * (
                    g_exc * (const.excitatory_reversal - soma)
                    + g_inh * (const.inhibitory_reversal - soma)
                )  # Eq. 20, scaled as in the code (PAPER.md §8 item 8)
            soma += -const.g_leak * soma + const.g_dendrite * (basal - soma) + current  # Eq. 19
            rate = const.max_rate * sigmoid(soma)
            counts = rng.poisson_counts(rng.step_key(base_key, out + 1, t), rate)
            self._push_spikes(state, out + 1, counts)
            state["output_rate"] = rate
            soma_rec[out][i] = soma
            if full:
                rate_rec[out][i] = rate
            if voltages:
                basal_rec[out][i] = basal
                spike_rec[out + 1][i] = counts
        return PhaseRecord(
            soma_rec, rate_rec, below_rec, apical_rec, feedback_rec, basal_rec, spike_rec
        )

    # ------------------------------------------------------------------- averaging windows

    def window(self, length: int) -> slice:
        """Steps of a training phase that are averaged (§2.2; PAPER.md §8 item 4)."""
        if self.phases.averaging == "last-steps":
            return slice(length - self.phases.window, length)
        return slice(self.phases.settling, length)

    def _plateau_average(
        self, apical: np.ndarray, offsets: np.ndarray | None, window: slice
    ) -> np.ndarray:
        """Mean apical potential that sets each neuron's plateau (Eq. 5; Fig 6S1 if offsets).

        With stochastic timing, neuron j's plateau occurs ``offsets[j]`` steps before the phase's
        last step and averages the ``model.plateau_window`` steps ending there.
        """
        if offsets is None:
            return apical[window].mean(axis=0)
        length = apical.shape[0]
        width = self.model.plateau_window
        cumulative = np.vstack([np.zeros((1, apical.shape[1])), np.cumsum(apical, axis=0)])
        end = length - offsets  # exclusive end of each neuron's window
        cols = np.arange(apical.shape[1])
        return (cumulative[end, cols] - cumulative[end - width, cols]) / width

    # ------------------------------------------------------------------------- training

    def simulate_example(
        self,
        params: NetworkParams,
        state: State,
        image: np.ndarray,
        target: np.ndarray,
        schedule: ExampleSchedule,
        voltages: bool = False,
    ) -> tuple[ExampleSummary, tuple[PhaseRecord, PhaseRecord] | None]:
        """Forward phase, then target phase (§2.1); return the averages of §2.2."""
        if self.model.mode == "rate":
            return self._rate_example(params, image, target), None
        const = self.const
        n_hidden = params.n_hidden
        input_rate = const.max_rate * image
        base_key = rng.derive_key(self.config.seed, rng.STREAM_TRAIN, schedule.index)
        f_len, t_len = schedule.forward_length, schedule.target_length
        fwd = self._run_phase(params, state, input_rate, None, base_key, 0, f_len,
                              voltages=voltages)
        win_f = self.window(f_len)
        apical_f = [
            self._plateau_average(
                fwd.apical[k], None if schedule.plateau_offsets_forward is None
                else schedule.plateau_offsets_forward[k], win_f
            )
            for k in range(n_hidden)
        ]
        tgt = self._run_phase(params, state, input_rate, target, base_key, f_len, t_len,
                              voltages=voltages)
        win_t = self.window(t_len)
        apical_t = [
            self._plateau_average(
                tgt.apical[k], None if schedule.plateau_offsets_target is None
                else schedule.plateau_offsets_target[k], win_t
            )
            for k in range(n_hidden)
        ]
        summary = ExampleSummary(
            soma_forward=[s[win_f].mean(axis=0) for s in fwd.soma],
            trace_below_forward=[b[win_f].mean(axis=0) for b in fwd.trace_below],
            output_rate_target=tgt.rate[-1][win_t].mean(axis=0),
            plateau_forward=[sigmoid(a) for a in apical_f],  # α^f (Eq. 5)
            plateau_target=[sigmoid(a) for a in apical_t],  # α^t (Eq. 5)
            apical_forward=apical_f,
            feedback_trace_forward=(
                [fwd.feedback_signal[win_f].mean(axis=0)] * n_hidden if n_hidden else []
            ),
        )
        return summary, ((fwd, tgt) if voltages else None)

    def _rate_example(
        self, params: NetworkParams, image: np.ndarray, target: np.ndarray
    ) -> ExampleSummary:
        """The code's non-spiking mode (PAPER.md §8 item 1): steady-state potentials.

        Hidden V = k_b V^b; output V^f = k_d V^b; in the target phase the output is at the steady
        state of Eq. 19 with the teaching conductances. Rates φ = φ_max σ(V) replace filtered spike
        trains, and the feedback is Y φ^{out}.
        """
        const = self.const
        n_hidden = params.n_hidden
        below = const.max_rate * image
        somas, belows = [], []
        for k in range(n_hidden):
            belows.append(below)
            soma = const.k_basal * (params.weights[k] @ below + params.biases[k])
            somas.append(soma)
            below = const.max_rate * sigmoid(soma)
        belows.append(below)
        basal_out = params.weights[n_hidden] @ below + params.biases[n_hidden]
        soma_f = const.k_dendrite * basal_out
        rate_f = const.max_rate * sigmoid(soma_f)
        somas.append(soma_f)
        s = const.teaching_scale
        g_exc, g_inh = s * target, s * (1.0 - target)
        soma_t = (
            const.g_dendrite * basal_out
            + g_exc * const.excitatory_reversal
            + g_inh * const.inhibitory_reversal
        ) / (const.g_leak + const.g_dendrite + g_exc + g_inh)
        rate_t = const.max_rate * sigmoid(soma_t)
        apical_f = [self._apical(params, k, rate_f) for k in range(n_hidden)]
        apical_t = [self._apical(params, k, rate_t) for k in range(n_hidden)]
        return ExampleSummary(
            soma_forward=somas,
            trace_below_forward=belows,
            output_rate_target=rate_t,
            plateau_forward=[sigmoid(a) for a in apical_f],
            plateau_target=[sigmoid(a) for a in apical_t],
            apical_forward=apical_f,
            feedback_trace_forward=[rate_f] * n_hidden,
        )

    @staticmethod
    def _apical(params: NetworkParams, k: int, feedback: np.ndarray) -> np.ndarray:
        apical = params.feedback[k] @ feedback
        if params.feedback_biases:
            apical = apical + params.feedback_biases[k]
        return apical

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
        """Online training, one example at a time (§2.9), updates at each target phase's end."""
        result = ChunkResult.empty(len(images), params.n_hidden, params.sizes[-1])
        with np.errstate(invalid="ignore", over="ignore"):  # divergence is reported below
            self._train_examples(params, state, images, labels, schedules, record_angle, result,
                                 learn, voltages)
        return result

    def _train_examples(self, params, state, images, labels, schedules, record_angle, result,
                        learn=True, voltages=None):
        units = self.model.units_per_class
        for position, (image, label, schedule) in enumerate(
            zip(images, labels, schedules, strict=True)
        ):
            target = self.target_vector(int(label))
            recorded = voltages is not None and position in voltages.positions
            summary, records = self.simulate_example(params, state, image, target, schedule,
                                                     voltages=recorded)
            bad = [k for k, soma in enumerate(summary.soma_forward) if not np.isfinite(soma).all()]
            if bad:
                result.diverged_layer = bad[0]
                return
            if recorded and records is not None:
                result.voltages[position] = self._recorded(records, voltages)
            result.predicted[position] = summary.predicted_class(units)
            result.output_forward[position] = summary.soma_forward[-1]
            result.output_loss[position] = summary.output_loss(self.const.max_rate)
            result.hidden_loss[position] = summary.hidden_losses()
            result.completed = position + 1
            if not learn:
                continue
            errors = apply_updates(params, summary, self.config, self.const, schedule.index)
            if record_angle and params.n_hidden:
                result.backprop_angle[position] = update_angle(errors.local[0],
                                                               errors.backprop[0])

    @staticmethod
    def _recorded(records: tuple[PhaseRecord, PhaseRecord], request: VoltageRequest
                  ) -> np.ndarray:
        """The chosen neurons' apical, basal, somatic potentials and spikes at every step."""
        steps = sum(record.soma[0].shape[0] for record in records)
        out = np.full((steps, len(request.layers), 4), np.nan)
        first = 0
        for record in records:
            length = record.soma[0].shape[0]
            rows = slice(first, first + length)
            for r, (layer, j) in enumerate(zip(request.layers, request.neurons, strict=True)):
                if layer < len(record.apical):
                    out[rows, r, 0] = record.apical[layer][:, j]
                out[rows, r, 1] = record.basal[layer][:, j]
                out[rows, r, 2] = record.soma[layer][:, j]
                out[rows, r, 3] = record.spikes[layer + 1][:, j]
            first += length
        return out

    def target_vector(self, label: int) -> np.ndarray:
        """One-hot target, repeated for several output units per class (§1.6)."""
        units = self.model.units_per_class
        target = np.zeros(10 * units)
        target[label * units : (label + 1) * units] = 1.0
        return target

    # -------------------------------------------------------------------------- testing

    def output_potentials(
        self, params: NetworkParams, images: np.ndarray, key_parts: tuple[int, ...]
    ) -> np.ndarray:
        """Mean output somatic potential after the settling time of a test phase (§2.9)."""
        if self.model.mode == "rate":
            below = self.const.max_rate * images.T
            for k in range(params.n_hidden):
                soma = self.const.k_basal * (params.weights[k] @ below + params.biases[k][:, None])
                below = self.const.max_rate * sigmoid(soma)
            basal = params.weights[-1] @ below + params.biases[-1][:, None]
            return (self.const.k_dendrite * basal).T
        length = self.phases.test_length
        settle = self.phases.settling
        out = np.zeros((len(images), params.sizes[-1]))
        for i, image in enumerate(images):
            state = self.new_state(params)  # the code resets the network before each test image
            key = rng.derive_key(self.config.seed, rng.STREAM_TEST, *key_parts, i)
            record = self._run_phase(
                params, state, self.const.max_rate * image, None, key, 0, length, full=False
            )
            out[i] = record.soma[-1][settle:].mean(axis=0)
        return out
