"""The experimental prediction of Fig 10 (PAPER.md §6), simulated on the model's own neuron.

A hidden-layer pyramidal neuron (basal, apical and somatic compartments with the paper's
parameters, PAPER.md §1.4) receives a bottom-up Poisson stream onto its basal dendrite and a
top-down Poisson stream onto its apical dendrite. Each *pairing* is one forward phase followed by
one target phase of basal input (PAPER.md §2.1); the apical stream is on from ``onset`` for
``duration`` ms. The neuron's plateaus α^f and α^t are the sigmoids of its mean apical potential in
the two averaging windows (Eq. 5), and the basal weights change by the model's own rule (Eqs. 33,
35): Δw = η P⁰ k_b (α^t − α^f) φ_max σ′(V̄^f) s̄^f. Basal responses (mean somatic potential to basal
input alone) are recorded before and after the induction.

Early apical input (on with the basal input, off before the first window ends) gives α^f > α^t and
depression; late apical input gives α^t > α^f and potentiation. The onset sweep turns the paper's
sketch into a curve of Δw against apical timing. Every random number is keyed by (seed, pairing,
step, stream, neuron) and does not depend on the timing, so the sweep compares timings on the same
spikes (common random numbers).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field, model_validator

from segdend import rng
from segdend.config import (
    PRESETS,
    Strict,
    _merge,
    apply_overrides,
    build_config,
    check_key,
    load_toml,
    set_path,
    validate,
)
from segdend.model.constants import Constants, derive_constants, sigmoid, sigmoid_slope

STREAM_PLASTICITY = 9
BASAL, APICAL = 0, 1


class Timing(Strict):
    """When the apical stream is on, relative to the start of the basal input (ms)."""

    onset_ms: int = Field(ge=0, le=10_000)
    duration_ms: int = Field(ge=1, le=10_000)


class PlasticityConfig(Strict):
    """The Fig 10 protocol. Rates in Hz, times in ms (1 ms steps)."""

    preset: Literal["code", "paper"] = "code"
    """Model constants, kernel and averaging windows of this preset (PAPER.md §8)."""
    seed: int = Field(0, ge=0)
    apical_conductance: float = Field(0.0, ge=0.0, le=10.0)
    """g_a of the neuron (0: segregated, as in the paper's standard model)."""
    basal_inputs: int = Field(20, ge=1, le=10_000)
    apical_inputs: int = Field(10, ge=1, le=10_000)
    basal_rate_hz: float = Field(40.0, gt=0.0, le=200.0)
    apical_rate_hz: float = Field(100.0, gt=0.0, le=200.0)
    basal_weight: float = Field(4.0, gt=0.0)
    """Initial weight of every basal synapse."""
    apical_weight: float = Field(4.0, gt=0.0)
    """Weight of every apical synapse (fixed, like Y)."""
    basal_bias: float = 0.0
    phase_ms: int = Field(50, ge=31, le=1000)
    """Length of each of the two phases of a pairing."""
    pairings: int = Field(20, ge=1, le=10_000)
    learning_rate: float = Field(0.21, gt=0.0, lt=100.0)
    """η⁰ of the hidden layer (PAPER.md §2.7)."""
    response_trials: int = Field(20, ge=1, le=10_000)
    """Basal-only trials measuring the response before and after induction."""
    early: Timing = Field(default_factory=lambda: Timing(onset_ms=0, duration_ms=50))
    """Apical input starting with the basal input and stopping early (predicted LTD)."""
    late: Timing = Field(default_factory=lambda: Timing(onset_ms=50, duration_ms=50))
    """Apical input arriving after the basal input has been on for a while (predicted LTP)."""
    sweep_onsets_ms: list[int] = Field(default_factory=lambda: list(range(0, 55, 5)))
    sweep_durations_ms: list[int] = Field(default_factory=lambda: [30, 50])

    @model_validator(mode="after")
    def _timings(self) -> PlasticityConfig:
        total = 2 * self.phase_ms
        for name, timing in (("early", self.early), ("late", self.late)):
            if timing.onset_ms >= total:
                raise ValueError(f"{name}.onset_ms must be below the pairing length ({total} ms)")
        if any(o < 0 or o >= total for o in self.sweep_onsets_ms) or not self.sweep_onsets_ms:
            raise ValueError(f"sweep_onsets_ms must lie in 0..{total - 1}")
        if any(d < 1 for d in self.sweep_durations_ms) or not self.sweep_durations_ms:
            raise ValueError("sweep_durations_ms must be positive")
        return self


def build_plasticity_config(files: list[Path] | None = None,
                            overrides: list[str] | None = None,
                            settings: dict[str, Any] | None = None) -> PlasticityConfig:
    """Resolve the protocol: defaults, TOML files, ``key=value`` overrides, then ``settings``
    (dotted key → Python value)."""
    tree: dict = PlasticityConfig().model_dump()  # so that early.onset_ms alone can be set
    for path in files or []:
        _merge(tree, load_toml(path))
    apply_overrides(tree, overrides, PlasticityConfig)
    for key, value in (settings or {}).items():
        check_key(key, PlasticityConfig)
        set_path(tree, key, value)
    return validate(tree, PlasticityConfig)


def run_plasticity(settings: dict[str, Any] | None = None, *,
                   files: list[str | Path] | None = None,
                   overrides: list[str] | None = None,
                   out: str | Path | None = None) -> dict[str, Any]:
    """The slice experiment the paper proposes (PAPER.md §6, Fig 10), on the model's neuron.

    Parameters
    ----------
    settings : dict, optional
        Protocol keys in dotted form, e.g. ``{"pairings": 50, "late.onset_ms": 40}``.
    files : list of path, optional
        Protocol TOML files, applied before ``settings``.
    overrides : list of str, optional
        ``key=value`` strings (TOML values), as ``segdend plasticity --set`` takes them.
    out : path, optional
        Also write ``plasticity.csv``, ``plasticity_sweep.csv``, ``plasticity_responses.csv``
        and ``plasticity.png`` there.

    Returns
    -------
    dict
        ``early`` and ``late`` (onset, duration, Δw, basal responses before and after) and
        ``sweep`` (Δw for each apical onset and duration), as ``segdend plasticity --json``.
        With ``out``, ``files`` lists the files written.
    """
    config = build_plasticity_config([Path(f) for f in files or []], overrides, settings)
    result = run_protocol(config)
    if out is not None:
        from segdend.runs import ensure_writable

        ensure_writable(Path(out))
        written = write_outputs(result, Path(out))
        return {**as_json(result), "files": [str(p) for p in written]}
    return as_json(result)


@dataclass
class Induction:
    """Outcome of one induction protocol."""

    onset_ms: int
    duration_ms: int
    delta_w: float
    """Mean change of the basal weights after all pairings."""
    baseline: np.ndarray
    """Basal responses (mean somatic potential, forward window) before induction, per trial."""
    after: np.ndarray
    """The same after induction."""
    plateau_difference: float
    """Mean α^t − α^f over the pairings."""


class Neuron:
    """One hidden-layer neuron of the model with its two input streams."""

    def __init__(self, config: PlasticityConfig):
        self.config = config
        model = build_config(config.preset, overrides=[
            f"model.apical_conductance={config.apical_conductance}"]).model
        self.const: Constants = derive_constants(model)
        phases = PRESETS[config.preset]
        self.averaging = phases["phases.averaging"]
        self.window_steps = 20
        self.settling = 30

    def window(self, start: int, length: int) -> slice:
        """Averaged steps of a phase that starts at ``start`` (reference engine's rule)."""
        if self.averaging == "last-steps":
            return slice(start + length - self.window_steps, start + length)
        return slice(start + self.settling, start + length)

    def _traces(self, counts: np.ndarray) -> np.ndarray:
        """Filtered spike trains s(t) (rows = steps) of spike counts (PAPER.md §1.3)."""
        const = self.const
        out = np.zeros_like(counts, dtype=np.float64)
        if const.kernel_steps is not None:
            for lag, kappa in enumerate(const.kernel):
                out[lag:] += kappa * counts[: len(counts) - lag]
            return out
        slow = np.zeros(counts.shape[1])
        fast = np.zeros(counts.shape[1])
        for t in range(len(counts)):
            slow = const.decay_long * (slow + counts[t])
            fast = const.decay_short * (fast + counts[t])
            out[t] = (slow - fast) / (const.tau_long - const.tau_short)
        return out

    def _spikes(self, trial: int, stream: int, n: int, rate: float, on: np.ndarray) -> np.ndarray:
        steps = len(on)
        counts = np.zeros((steps, n))
        rates = np.full(n, rate / 1000.0)
        for t in np.flatnonzero(on):
            key = rng.derive_key(self.config.seed, STREAM_PLASTICITY, trial, stream, int(t))
            counts[t] = rng.poisson_counts(key, rates)
        return counts

    def run(self, weights: np.ndarray, trial: int, timing: Timing | None):
        """Simulate one pairing (or a basal-only trial if ``timing`` is None).

        Returns the mean basal trace in the forward window s̄^f, the mean somatic potential V̄^f,
        and the plateaus α^f and α^t.
        """
        cfg, const = self.config, self.const
        length = cfg.phase_ms
        steps = 2 * length
        basal_on = np.ones(steps, dtype=bool)
        apical_on = np.zeros(steps, dtype=bool)
        if timing is not None:
            apical_on[timing.onset_ms : timing.onset_ms + timing.duration_ms] = True
        s_basal = self._traces(self._spikes(trial, BASAL, cfg.basal_inputs, cfg.basal_rate_hz,
                                            basal_on))
        s_apical = self._traces(self._spikes(trial, APICAL, cfg.apical_inputs,
                                             cfg.apical_rate_hz, apical_on))
        basal = s_basal @ weights + cfg.basal_bias  # V^b = Σ w s + b
        apical = cfg.apical_weight * s_apical.sum(axis=1)  # V^a = Σ y s
        soma = np.zeros(steps)
        v = 0.0
        for t in range(steps):  # Eq. 1 with C_m = 1, dt = 1 ms
            v += -const.g_leak * v + const.g_basal * (basal[t] - v) + const.g_apical * (
                apical[t] - v)
            soma[t] = v
        forward, target = self.window(0, length), self.window(length, length)
        alpha_f = float(sigmoid(apical[forward].mean()))
        alpha_t = float(sigmoid(apical[target].mean()))
        return s_basal[forward].mean(axis=0), float(soma[forward].mean()), alpha_f, alpha_t

    def update(self, weights: np.ndarray, sbar: np.ndarray, soma_f: float, alpha_f: float,
               alpha_t: float) -> np.ndarray:
        """Eqs. 33, 35: w ← w − η P⁰ E s̄, E = −k_b (α^t − α^f) φ_max σ′(V̄^f)."""
        const = self.const
        error = -const.k_basal * (alpha_t - alpha_f) * const.max_rate * sigmoid_slope(soma_f)
        return weights - self.config.learning_rate * const.hidden_error_scale * error * sbar

    def responses(self, weights: np.ndarray, first_trial: int) -> np.ndarray:
        """Basal-only responses: mean somatic potential in the forward window, per trial.

        Baseline and post-induction responses use the same input spikes (the same trials), so
        their difference is the effect of the weight change alone.
        """
        return np.array([self.run(weights, first_trial + i, None)[1]
                         for i in range(self.config.response_trials)])

    def induce(self, timing: Timing) -> Induction:
        """Baseline responses, N pairings with the apical timing, responses after."""
        cfg = self.config
        weights = np.full(cfg.basal_inputs, cfg.basal_weight)
        baseline = self.responses(weights, 1_000_000)
        differences = []
        for pairing in range(cfg.pairings):
            sbar, soma_f, alpha_f, alpha_t = self.run(weights, pairing, timing)
            weights = self.update(weights, sbar, soma_f, alpha_f, alpha_t)
            differences.append(alpha_t - alpha_f)
        after = self.responses(weights, 1_000_000)  # the same input spikes as the baseline
        return Induction(timing.onset_ms, timing.duration_ms,
                         float(weights.mean() - cfg.basal_weight), baseline, after,
                         float(np.mean(differences)))


def run_protocol(config: PlasticityConfig) -> dict:
    """Early and late inductions and the timing sweep."""
    neuron = Neuron(config)
    early = neuron.induce(config.early)
    late = neuron.induce(config.late)
    sweep = []
    for duration in config.sweep_durations_ms:
        for onset in config.sweep_onsets_ms:
            result = neuron.induce(Timing(onset_ms=onset, duration_ms=duration))
            sweep.append({"onset_ms": onset, "duration_ms": duration,
                          "delta_w": result.delta_w})
    return {"early": early, "late": late, "sweep": sweep}


def as_json(result: dict) -> dict:
    """The documented JSON form: early/late Δw and the sweep."""
    def summary(induction: Induction) -> dict:
        return {
            "delta_w": induction.delta_w,
            "onset_ms": induction.onset_ms,
            "duration_ms": induction.duration_ms,
            "baseline_response": float(induction.baseline.mean()),
            "after_response": float(induction.after.mean()),
            "plateau_difference": induction.plateau_difference,
        }

    return {"early": summary(result["early"]), "late": summary(result["late"]),
            "sweep": result["sweep"]}


def sign_changes(values: list[float]) -> int:
    """Number of sign changes along a sequence, ignoring exact zeros."""
    signs = [np.sign(v) for v in values if v != 0]
    return sum(1 for a, b in itertools.pairwise(signs) if a != b)


def write_outputs(result: dict, out: Path) -> list[Path]:
    """CSV files and a PNG figure of the protocol's results."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from segdend.runs import atomic_write_text

    out.mkdir(parents=True, exist_ok=True)
    rows = ["condition,onset_ms,duration_ms,delta_w,baseline_response,after_response,"
            "plateau_difference"]
    for name in ("early", "late"):
        r = result[name]
        rows.append(f"{name},{r.onset_ms},{r.duration_ms},{r.delta_w:.8g},"
                    f"{r.baseline.mean():.8g},{r.after.mean():.8g},{r.plateau_difference:.8g}")
    atomic_write_text(out / "plasticity.csv", "\n".join(rows) + "\n")
    sweep = ["onset_ms,duration_ms,delta_w"] + [
        f"{p['onset_ms']},{p['duration_ms']},{p['delta_w']:.8g}" for p in result["sweep"]]
    atomic_write_text(out / "plasticity_sweep.csv", "\n".join(sweep) + "\n")
    responses = ["condition,phase,trial,response"]
    for name in ("early", "late"):
        for phase in ("baseline", "after"):
            values = getattr(result[name], phase)
            responses += [f"{name},{phase},{i},{v:.8g}" for i, v in enumerate(values)]
    atomic_write_text(out / "plasticity_responses.csv", "\n".join(responses) + "\n")

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for i, name in enumerate(("early", "late")):
        r = result[name]
        axes[0].bar([3 * i, 3 * i + 1], [r.baseline.mean(), r.after.mean()],
                    yerr=[r.baseline.std(), r.after.std()], color=["0.6", "C3" if i else "C0"])
    axes[0].set_xticks([0, 1, 3, 4], ["baseline", "after\nearly", "baseline", "after\nlate"])
    axes[0].set_ylabel("basal response (mean somatic potential)")
    axes[0].set_title("Basal responses before and after induction")
    for duration in sorted({p["duration_ms"] for p in result["sweep"]}):
        points = [p for p in result["sweep"] if p["duration_ms"] == duration]
        axes[1].plot([p["onset_ms"] for p in points], [p["delta_w"] for p in points], "o-",
                     label=f"apical duration {duration} ms")
    axes[1].axhline(0, color="0.5", lw=0.8)
    axes[1].set_xlabel("apical onset after basal onset (ms)")
    axes[1].set_ylabel("Δw (mean basal weight change)")
    axes[1].set_title("Predicted plasticity against apical timing")
    axes[1].legend(frameon=False)
    fig.tight_layout()
    fig.savefig(out / "plasticity.png", dpi=120)
    plt.close(fig)
    return [out / n for n in ("plasticity.csv", "plasticity_sweep.csv",
                              "plasticity_responses.csv", "plasticity.png")]



