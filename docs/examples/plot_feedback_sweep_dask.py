"""
A sweep over feedback weights on a Dask cluster
===============================================

Does it matter what the feedback weights Y look like? Fig 8 of the paper answers for MNIST:
random feedback (the standard model, 4.1 % test error after 60 epochs), sparse random feedback
with 80 % of the synapses removed and the survivors amplified five-fold (Fig 8A–B, 3.7 %) and
feedback that mirrors the forward weights, Y = (W¹)ᵀ (Fig 8C–D, 3.6 %) all learn, and the two
variants end slightly below random feedback.

This example runs a small version of that comparison as a *sweep*: one TOML file describes a
grid of runs, :func:`segdend.run_sweep` trains each run in its own run directory on the
workers of a Dask cluster, and :class:`segdend.Run` reads the results back.

Here the cluster is a :class:`distributed.LocalCluster` with two worker processes; on a real
cluster only the scheduler address changes (README, "Sweeps"). The runs are tiny (rate mode,
two epochs of 3,000 examples, 500 test images), so their errors are far from the paper's.
"""

import tempfile
from pathlib import Path

import dask
import matplotlib.pyplot as plt
import pandas as pd
from distributed import LocalCluster

import segdend

# %%
# The sweep file
# --------------
# ``[base]`` is the configuration shared by every run (a preset and dotted overrides);
# ``[grid]`` lists the values to cross. Three feedback types and two seeds make six runs.

scratch = tempfile.TemporaryDirectory()
folder = Path(scratch.name)
sweep_file = folder / "feedback.toml"
sweep_file.write_text("""
[base]
preset = "code"
[base.set]
"model.mode" = "rate"
"train.epochs" = 2
"train.examples" = 3000
"train.quick_test_every" = 0
"test.examples" = 500

[grid]
"model.feedback" = ["random", "sparse", "symmetric"]
seeds = [0, 1]
""")
print(sweep_file.read_text())

# %%
# Run it on a local Dask cluster
# ------------------------------
# Each run is one Dask task. A run directory is resumable: running the sweep again skips
# finished runs and resumes interrupted ones, so a lost worker costs only its unfinished epoch.
# MNIST is loaded once here so that it is in the local cache before the workers need it.
#
# Dask starts its worker processes with ``spawn`` by default, which re-runs a script's top-level
# code in every worker; a script (rather than a notebook) either puts the cluster under
# ``if __name__ == "__main__":`` or, as here, lets the workers ``fork`` (fine on Linux; on
# macOS prefer the guard). In a notebook neither is needed.

segdend.load_dataset("mnist")
with dask.config.set({"distributed.worker.multiprocessing-method": "fork"}):
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                           dashboard_address=None)
results = segdend.run_sweep(sweep_file, out=folder / "runs",
                            scheduler=cluster.scheduler_address, progress=None)
cluster.close()
print(pd.DataFrame(results)[["name", "status"]].to_string(index=False))

# %%
# Read every run back
# -------------------
# A run directory holds its resolved ``config.toml`` and a ``metrics.csv`` table with one row per
# epoch; :class:`segdend.Run` opens both.

rows = []
for run_dir in sorted((folder / "runs").iterdir()):
    run = segdend.Run(run_dir)
    final = run.metrics.iloc[-1]
    rows.append({"feedback": run.config.model.feedback, "seed": run.config.seed,
                 "test_error": final.test_error, "curve": run.metrics})
table = pd.DataFrame(rows)
print(table.groupby("feedback").test_error.agg(["mean", "min", "max"]).round(1))

# %%
# Test error per feedback type
# ----------------------------
# Left: the learning curve of each run. Right: the final test error of each run (dots) and
# the mean over the two seeds (bars).

order = ["random", "sparse", "symmetric"]
fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.8))
for row in rows:
    colour = f"C{order.index(row['feedback'])}"
    curve = row["curve"]
    left.plot(curve.epoch, curve.test_error, "o-", color=colour, alpha=0.8,
              label=row["feedback"] if row["seed"] == 0 else None)
left.set_xlabel("epoch (3,000 examples each)")
left.set_ylabel("test error (%)")
left.set_xticks([0, 1, 2])
left.legend(title="feedback", frameon=False)

means = table.groupby("feedback").test_error.mean().reindex(order)
right.bar(order, means, color=[f"C{i}" for i in range(len(order))], alpha=0.5)
for i, name in enumerate(order):
    errors = table.loc[table.feedback == name, "test_error"]
    right.plot([i] * len(errors), errors, "ko", ms=4)
right.set_ylabel("final test error (%)")
right.set_title("784-500-10, rate mode (cf. Fig 8B, 8D)")
fig.tight_layout()

scratch.cleanup()
plt.show()
