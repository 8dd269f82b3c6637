"""
Inside the neurons: apical, basal and somatic potentials
========================================================

Each hidden neuron of the model has three compartments (Fig 3A): a basal dendrite that sums the
input from below, an apical dendrite that sums the feedback from the output layer, and a soma.
Eq. 1 of the paper couples them::

    dV/dt = -g_L V + g_B (V_b - V) + g_A (V_a - V)

With the paper's standard g_A = 0 the apical dendrite is *segregated*: the soma hears only the
basal dendrite, and the apical potential is read out only as the plateau potentials α^f and
α^t, the sigmoid of its mean over the last steps of the forward and the target phase (Eq. 5,
Fig 3C). With g_A > 0 the apical potential leaks into the soma (Fig 9). This example simulates
one MNIST digit through both phases and compares g_A = 0 with g_A = 0.6.
"""

import matplotlib.pyplot as plt
import numpy as np

import segdend

# %%
# One example, two apical conductances
# ------------------------------------
# :meth:`~segdend.Network.simulate` runs one forward phase and one target phase (50 ms each)
# from rest with the reference engine and keeps every potential. The two networks share their
# weights (``params_``) and the seed, so they receive the same input spikes; only g_A differs.

mnist = segdend.load_dataset("mnist")
image, label = mnist.test_images[0], int(mnist.test_labels[0])

segregated = segdend.Network(hidden=[500], seed=3).initialise()
leaky = segdend.Network(hidden=[500], seed=3, model__apical_conductance=0.6)
leaky.params_ = segregated.params_.copy()

runs = {0.0: segregated.simulate(image, label), 0.6: leaky.simulate(image, label)}
sim = runs[0.0]
print(sim.layers, "soma of hidden1:", sim.soma[0].shape, "(time, neuron)")

# %%
# The averaging windows
# ---------------------
# In the code preset each phase's plateau averages its last ``phases.window`` steps (20 ms).
# We pick the hidden neuron whose apical potential changes most between the two phases, that
# is, the one with the largest plateau difference α^t − α^f, the signal that drives learning.

window = segregated.config.phases.window
forward_end = sim.forward_length
end = len(sim.time_ms)
windows = {"forward": slice(forward_end - window, forward_end),
           "target": slice(end - window, end)}


apical = sim.apical[0]
change = apical[windows["target"]].mean(0) - apical[windows["forward"]].mean(0)
neuron = int(np.argmax(np.abs(change)))
for g_a, run in runs.items():
    # Simulation.plateaus(): α^f and α^t of every hidden neuron (Eq. 5), rows forward, target.
    alpha_f, alpha_t = run.plateaus()[0][:, neuron]
    print(f"g_A = {g_a}: neuron {neuron}, alpha_f = {alpha_f:.3f}, alpha_t = {alpha_t:.3f}")

# %%
# Voltages and plateaus
# ---------------------
# The grey bands are the averaging windows, where the plateau potentials are taken; the dashed
# line is the start of the target phase. With g_A = 0 the soma (black) follows the basal
# potential (blue) scaled by g_B / (g_L + g_B) and ignores the apical potential (green), even
# when the teaching signal of the target phase moves it. With g_A = 0.6 the soma is pulled
# towards the apical potential as well.

model = segregated.config.model
g_l, g_b = model.leak_conductance, model.basal_conductance


def shade_windows(ax):
    """Grey bands on the two averaging windows and a dashed line at the phase change."""
    for w in windows.values():
        ax.axvspan(w.start, w.stop - 1, color="0.88", zorder=0)
    ax.axvline(forward_end, color="0.4", ls="--", lw=0.8)


fig, axes = plt.subplots(2, 1, figsize=(8, 5.5), sharex=True, sharey=True)
for ax, (g_a, run) in zip(axes, runs.items(), strict=True):
    shade_windows(ax)
    ax.plot(run.time_ms, run.apical[0][:, neuron], color="C2", label="apical $V_a$")
    ax.plot(run.time_ms, run.basal[0][:, neuron], color="C0", label="basal $V_b$")
    ax.plot(run.time_ms, run.soma[0][:, neuron], color="k", lw=1.5, label="soma $V$")
    ax.set_ylabel("potential")
    ax.set_title(f"hidden neuron {neuron}, $g_A$ = {g_a}", loc="left", fontsize=10)
for name, w in zip((r"$\alpha^f$ window", r"$\alpha^t$ window"), windows.values(), strict=True):
    axes[0].text((w.start + w.stop) / 2, 1.02, name, transform=axes[0].get_xaxis_transform(),
                 ha="center", va="bottom", fontsize=8)
axes[0].legend(loc="upper left", ncol=3, frameon=False, fontsize=8)
axes[1].set_xlabel("time (ms): forward phase | target phase")
fig.tight_layout()

# %%
# What the apical conductance adds
# --------------------------------
# The somatic difference between the two runs isolates the effect of g_A. At steady state
# Eq. 1 gives V = (g_B V_b + g_A V_a) / (g_L + g_B + g_A), so switching g_A on shifts the soma
# by g_A (V_a − k_B V_b) / (g_L + g_B + g_A), with k_B = g_B / (g_L + g_B): the apical
# potential leaks in. The measured difference follows this prediction, delayed and smoothed by
# the membrane's time constant (10 ms).

difference = runs[0.6].soma[0][:, neuron] - runs[0.0].soma[0][:, neuron]
g_a = leaky.config.model.apical_conductance
v_a, v_b = runs[0.6].apical[0][:, neuron], runs[0.6].basal[0][:, neuron]
predicted = g_a * (v_a - g_b / (g_l + g_b) * v_b) / (g_l + g_b + g_a)
print(f"soma shift caused by g_A = 0.6: mean |dV| = {np.abs(difference).mean():.3f}, "
      f"correlation with the Eq. 1 prediction r = {np.corrcoef(difference, predicted)[0, 1]:.2f}")

fig, ax = plt.subplots(figsize=(8, 3))
shade_windows(ax)
ax.plot(sim.time_ms, difference, color="C3", label="soma, $g_A$ = 0.6 minus $g_A$ = 0")
ax.plot(sim.time_ms, predicted, color="C2", lw=1, ls=":",
        label="steady state of Eq. 1: $g_A (V_a - k_B V_b) / (g_L + g_B + g_A)$")
ax.axhline(0, color="0.5", lw=0.6)
ax.set_xlabel("time (ms): forward phase | target phase")
ax.set_ylabel("potential difference")
ax.legend(loc="upper right", frameon=False, fontsize=8)
fig.tight_layout()

plt.show()
