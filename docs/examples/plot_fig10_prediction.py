"""
The experimental prediction of Fig 10: apical timing sets the sign of plasticity
================================================================================

The paper ends with a prediction for a slice experiment (Fig 10): drive the basal dendrites of
a pyramidal neuron with bottom-up input and add a burst of top-down input onto its apical
dendrite. If the apical input comes **early**, together with the start of the basal input, the
plateau potential of the forward phase is stronger than that of the target phase
(α^f > α^t) and the basal synapses are **depressed** (LTD); if it comes **late**, α^t > α^f and
they are **potentiated** (LTP). This follows from the hidden-layer learning rule, in which the
basal weight change is proportional to α^t − α^f (plateaus Eq. 5, hidden target Eq. 8,
update Eqs. 33 and 35).

:func:`segdend.run_plasticity` simulates the protocol on one neuron of the model: Poisson input
onto the basal and apical compartments, the plateaus of Eq. 5, and the model's own weight
update. Here we sweep the apical onset and plot the change of the basal weights against it.
"""

import matplotlib.pyplot as plt
import numpy as np

import segdend

# %%
# The protocol
# ------------
# One *pairing* is a forward phase and a target phase of 50 ms each, with basal input
# throughout; the apical stream is on from ``onset`` for ``duration`` ms. Every timing sees the
# same input spikes (common random numbers), so differences between onsets come from the timing
# alone. We run 10 pairings per timing and sweep onsets from 0 to 95 ms for two durations.

onsets = list(range(0, 100, 5))
result = segdend.run_plasticity(settings={
    "seed": 0,
    "pairings": 10,
    "response_trials": 10,
    "sweep_onsets_ms": onsets,
    "sweep_durations_ms": [20, 40],
})
for name in ("early", "late"):
    r = result[name]
    print(f"{name:5s} apical input ({r['onset_ms']}–{r['onset_ms'] + r['duration_ms']} ms): "
          f"Δw = {r['delta_w']:+.4f}, basal response {r['baseline_response']:.3f} → "
          f"{r['after_response']:.3f}")

# %%
# Where the sign changes
# ----------------------
# The plateaus average the apical potential over the last 20 ms of each phase (code preset,
# ``phases.window``): 30–50 ms for α^f and 80–100 ms for α^t. Apical input that reaches the
# first window depresses, input that reaches the second potentiates; the filtered apical
# input (the PSP kernel, PAPER.md §1.3) outlasts a burst by up to 10 ms, which smears the
# edges. The onset at which Δw crosses zero is found by linear interpolation between the two
# neighbouring onsets.


def zero_crossing(x, y):
    """First x at which y changes sign from negative to positive (linear interpolation)."""
    for i in range(len(y) - 1):
        if y[i] < 0 <= y[i + 1]:
            return x[i] + (x[i + 1] - x[i]) * -y[i] / (y[i + 1] - y[i])
    return np.nan


curves = {}
for duration in (20, 40):
    points = [p for p in result["sweep"] if p["duration_ms"] == duration]
    x = np.array([p["onset_ms"] for p in points])
    y = np.array([p["delta_w"] for p in points])
    curves[duration] = (x, y, zero_crossing(x, y))
    print(f"apical bursts of {duration} ms: LTD for onsets below {curves[duration][2]:.1f} ms, "
          f"LTP after; most negative Δw at {x[np.argmin(y)]} ms, most positive at "
          f"{x[np.argmax(y)]} ms")

# %%
# Δw against apical timing
# ------------------------
# Left: the sweep, with the two averaging windows shaded and the zero crossings marked.
# Right: the basal responses (mean somatic potential to basal input alone) before and after the
# early and late inductions, the quantity the proposed experiment measures (both baselines use
# the same input spikes, so they are equal).

fig, (left, right) = plt.subplots(1, 2, figsize=(10.5, 4), width_ratios=[2, 1])
left.axvspan(30, 50, color="C0", alpha=0.12, label=r"$\alpha^f$ window (forward)")
left.axvspan(80, 100, color="C3", alpha=0.12, label=r"$\alpha^t$ window (target)")
left.axhline(0, color="0.4", lw=0.8)
for i, (duration, (x, y, crossing)) in enumerate(curves.items()):
    left.plot(x, y, "o-", color=f"C{i + 1}", ms=4, label=f"apical burst {duration} ms")
    left.axvline(crossing, color=f"C{i + 1}", ls=":", lw=1)
left.set_xlabel("apical onset after basal onset (ms)")
left.set_ylabel("Δw (mean basal weight change)")
left.set_title("Early apical input → LTD, late → LTP (Fig 10)")
left.legend(frameon=False, fontsize=8, loc="upper left")

labels, heights, colours = [], [], []
for name, colour in (("early", "C0"), ("late", "C3")):
    r = result[name]
    labels += [f"{name}\nbefore", f"{name}\nafter"]
    heights += [r["baseline_response"], r["after_response"]]
    colours += ["0.7", colour]
right.bar(range(4), heights, color=colours)
right.set_xticks(range(4), labels)
low, high = min(heights), max(heights)
right.set_ylim(low - 2 * (high - low), high + (high - low))
right.set_ylabel("basal response")
right.set_title("Basal response, before and after")
fig.tight_layout()

plt.show()
