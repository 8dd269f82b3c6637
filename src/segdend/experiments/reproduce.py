"""``segdend reproduce FIGURE``: train every network a figure needs, then make its outputs.

The runs of all requested figures are pooled and deduplicated (the standard 784-500-10 network
serves six figures), executed by the sweep executor (``sweep.run_local``: a process pool whose
crashed workers are retried, every run resumable), each followed by its repeated weight tests.
Finished runs are reused when a reproduction is run again. As soon as the last run of a figure
has finished, while the other runs still train, the figure's ``make`` writes ``OUT/<figure>/``:
source-data CSVs (PAPER.md §4), PNGs, ``summary.md`` and ``summary.json``. A finished figure so
never waits for unrelated runs (nor is lost with them), and its post-processing overlaps the
training of the others. A figure whose post-processing fails leaves its traceback in
``OUT/<figure>/figure_error.txt``; the other figures are still made.
Every invocation appends a row to ``OUT/timings.csv`` (when it started, what it made, how many
runs it trained and reused, its wall time), an interrupted one too (its target marked
``(interrupted)``), and each figure's summary.json gets that invocation's timing.
"""

from __future__ import annotations

import importlib
import itertools
import json
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from segdend.errors import ConfigError, SegdendError
from segdend.experiments.context import FigureContext
from segdend.experiments.spec import SCALES, FigureSpec, RunSpec, Scale
from segdend.runs import append_text, atomic_write_text, finished_since
from segdend.sweep import SweepBase, SweepRun, flatten_results, run_local, run_name

FIGURE_NAMES = ("fig3", "fig4", "fig5", "fig5s1", "fig6", "fig6s1", "fig7", "fig8", "fig8s1",
                "fig9")
DATASETS = ("mnist", "fashion-mnist")
RUNS_FOLDER = "runs"
MANIFEST = "reproduction.json"
FIGURE_ERROR = "figure_error.txt"
TIMINGS = "timings.csv"
INTERRUPTED = "(interrupted)"
"""Appended to the ``target`` of an interrupted invocation's row in ``timings.csv``."""
TIMINGS_HEADER = ("started", "target", "figures", "runs_trained", "runs_reused", "runs_failed",
                  "workers", "wall_seconds")


def load_figure(name: str) -> FigureSpec:
    """The declarative module of a figure."""
    if name not in FIGURE_NAMES:
        raise ConfigError(f"unknown figure '{name}': expected one of "
                          f"{', '.join(FIGURE_NAMES)} or all")
    return importlib.import_module(f"segdend.experiments.figures.{name}").FIGURE


def figures_for(target: str) -> list[FigureSpec]:
    """The figures named by ``target`` (a figure or ``all``)."""
    names = FIGURE_NAMES if target == "all" else (target,)
    return [load_figure(name) for name in names]


def base_overrides(scale: Scale, dataset: str, spec: RunSpec) -> dict[str, Any]:
    """The settings every reproduction run shares, at this scale and length."""
    return {
        "dataset": dataset,
        "train.epochs": scale.epochs_of(spec.length),
        "train.examples": scale.examples_of(spec.length),
        "test.examples": scale.test_examples,
        "test.repeats": scale.repeats,
        "record.params_epochs": [1],
    }


def sweep_run(spec: RunSpec, scale: Scale, dataset: str, preset: str, out: Path) -> SweepRun:
    """The run of ``spec``: named by its overrides and epochs, under ``OUT/runs/``."""
    overrides = spec.settings()
    name = run_name({**overrides, "epochs": scale.epochs_of(spec.length),
                     "examples": scale.examples_of(spec.length)})
    settings = {**base_overrides(scale, dataset, spec), **overrides}
    base = SweepBase(preset=preset, set=settings)
    repeats = scale.repeats if spec.length in ("standard", "short") else 0
    return SweepRun(name, {}, out / RUNS_FOLDER / name, base, repeats=repeats)


INPUT_SIZE = 784
"""Input units of the data sets a reproduction runs (MNIST and Fashion-MNIST, 28 × 28)."""


NOISE_DRAW_COST = 3000.0
"""What drawing one normal number of the noisy symmetric feedback (Fig 8D: Y = W¹ᵀ + noise,
re-drawn after every example) costs, in synapse-steps. Measured on the trained Fig 8 networks of
the full reproduction (one core): the 5,000 draws of an example of 784-500-10 take 0.18 ms
(0.627 ms per example with noise against 0.448 ms without), where its training, 39.7 million
synapse-steps, takes 0.44 ms."""


def estimated_cost(run: SweepRun) -> float:
    """A run's compute in synapse-steps, relative only: the key that orders runs longest first.

    Training: epochs × examples × synapses × the two phases' minimum steps, plus, with noisy
    symmetric feedback, the noise drawn after every example (:data:`NOISE_DRAW_COST` each);
    tests: every epoch's, the initial one and the repeated ones, × test images × synapses × test
    length, doubled when g_A ≠ 0 (the test then steps the output layer, PAPER.md §1.9).
    """
    config = run.config()
    sizes = [INPUT_SIZE, *config.model.hidden, config.model.n_out]
    synapses = sum(a * b for a, b in itertools.pairwise(sizes))
    examples = config.train.epochs * config.train.examples
    train = float(synapses * examples * 2 * config.phases.min_length)
    if config.model.feedback == "symmetric-noise":
        train += examples * sum(config.model.hidden) * config.model.n_out * NOISE_DRAW_COST
    tests = ((config.train.epochs + 1 + run.repeats) * config.test.examples
             * config.phases.test_length * (2 if config.model.apical_conductance else 1))
    return train + float(synapses * tests)


def longest_first(runs: list[SweepRun]) -> list[SweepRun]:
    """``runs`` by decreasing :func:`estimated_cost` (ties keep their order).

    With fewer workers than runs, starting the longest runs first (LPT scheduling) keeps a
    long run from starting last and leaving the other workers idle while it finishes.
    """
    return sorted(runs, key=estimated_cost, reverse=True)


def _started(run: SweepRun) -> bool:
    """Whether a run has begun in its directory (``config.toml`` written)."""
    return (run.run_dir / "config.toml").exists()


def chain_extensions(runs: list[SweepRun],
                     started: Callable[[SweepRun], bool] = _started) -> list[SweepRun]:
    """Pair each run with a longer run of the same settings, so the shared epochs train once.

    A run whose settings are another's but for fewer epochs (Fig 8S1's 20-epoch networks and
    the 60-epoch networks of Figs 6 and 8), measurement-only recorders aside (Fig 7's 10-epoch
    network with the backprop angle and Fig 8S1's 20-epoch network), becomes the ``extends`` of
    the shortest such longer run that has not started yet and extends no other run, and leaves
    the list: the longer run's job trains it first and then continues from its last epoch
    (:mod:`segdend.continuation`). Chains may be longer than two (10 → 20 → 60 epochs). A longer
    run already started keeps its own training, and the shorter run stays a job of its own.

    Parameters
    ----------
    runs : list of SweepRun
        The runs of a reproduction, without duplicates.
    started : callable
        Whether a run has begun (default: its ``config.toml`` exists).

    Returns
    -------
    list of SweepRun
        The jobs: the runs that are nobody's ``extends``.
    """
    from segdend.continuation import measurement_recorders, same_but_epochs

    configs = {run.name: run.config() for run in runs}
    chained: set[str] = set()

    def order(run: SweepRun) -> tuple[int, int]:
        # longest first; of equal length, the run with fewer recorders to drop first
        config = configs[run.name]
        return -config.train.epochs, len(measurement_recorders(config))

    for short in sorted(runs, key=order):
        longer = [r for r in runs if r.extends is None
                  and r is not short and not started(r)
                  and same_but_epochs(configs[short.name], configs[r.name])]
        if longer:
            target = min(longer, key=lambda r: configs[r.name].train.epochs)
            target.extends = short
            chained.add(short.name)
    return [run for run in runs if run.name not in chained]


def check_manifest(out: Path, scale: Scale, dataset: str, preset: str) -> None:
    """Refuse to mix scales, data sets or presets in one output folder."""
    wanted = {"scale": scale.name, "dataset": dataset, "preset": preset}
    path = out / MANIFEST
    if path.is_file():
        try:
            found = json.loads(path.read_text())
        except (OSError, ValueError):
            raise SegdendError(f"'{path}' is unreadable; choose another --out") from None
        if {k: found.get(k) for k in wanted} != wanted:
            raise SegdendError(
                f"'{out}' holds a reproduction with scale {found.get('scale')}, data set "
                f"{found.get('dataset')}, preset {found.get('preset')}; choose another --out")
        return
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(wanted, indent=1) + "\n")


ResultCallback = Callable[[dict[str, Any]], None]
"""Called with each run's result (``sweep.execute_run``'s) as soon as the executor has it."""
Executor = Callable[[list[SweepRun], ResultCallback], list[dict[str, Any]]]
"""Runs the jobs, calls the callback as each one finishes, and returns all results."""


def reproduce(target: str, scale_name: str = "quick", workers: int = 1,
              out: Path | None = None, dataset: str = "mnist", preset: str = "code",
              data_dir: Path | None = None,
              progress: Callable[[str], None] = print,
              execute: Executor | None = None) -> list[Path]:
    """Reproduce ``target`` (a figure or ``all``); return the figure folders written.

    ``execute`` runs the sweep runs and reports each result as it comes (default:
    ``sweep.run_local`` with ``workers`` processes; the command line passes ``sweep.run_dask``
    for a Dask or SLURM/PBS cluster). Each figure is made as soon as its runs have finished.
    """
    if scale_name not in SCALES:
        raise ConfigError(f"unknown scale '{scale_name}': expected quick or full")
    if dataset not in DATASETS:
        raise ConfigError(f"unknown data set '{dataset}': expected mnist or fashion-mnist")
    scale = SCALES[scale_name]
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    began = time.perf_counter()
    began_clock = time.time()
    figures = figures_for(target)
    out = Path(out) if out is not None else default_out(dataset, scale_name)
    check_manifest(out, scale, dataset, preset)
    plans = {figure.name: {spec.label: sweep_run(spec, scale, dataset, preset, out)
                           for spec in figure.runs} for figure in figures}
    unique = {r.name: r for plan in plans.values() for r in plan.values()}
    for run in unique.values():
        run.config()  # every config is valid before anything runs
    progress(f"reproduce {target} ({scale.name} scale, {dataset}): {len(unique)} runs in "
             f"{out / RUNS_FOLDER}, {workers} worker(s)")
    from segdend.data.dataset import load_dataset

    load_dataset(dataset, data_dir)  # fetch once, before the workers start
    if execute is None:
        def execute(runs: list[SweepRun], on_result: ResultCallback) -> list[dict[str, Any]]:
            return run_local(runs, workers, str(data_dir) if data_dir else None,
                             progress=progress, on_result=on_result)
    maker = _FigureMaker(figures, plans, out, scale, dataset, preset, data_dir, progress)
    maker.make_ready()  # the figures without runs (Fig 4)
    try:
        results = flatten_results(execute(longest_first(chain_extensions(list(unique.values()))),
                                          maker.add_result))
    except KeyboardInterrupt:  # Ctrl-C, or SIGTERM from the command line: keep the record
        so_far = list(maker.finished.values())
        # the shorter runs of a stopped job (e.g. 10 of 10 → 20 → 60 epochs) finished unreported
        unreported = sum(finished_since(run.run_dir, began_clock) for name, run in unique.items()
                         if name not in maker.finished)
        record_timing(out, [started, f"{target} {INTERRUPTED}",
                            " ".join(f.name for f in figures if f.name in maker.contexts),
                            sum(r["status"] == "done" for r in so_far) + unreported,
                            sum(r["status"] == "skipped" for r in so_far),
                            sum(r["status"] == "failed" for r in so_far), workers,
                            f"{time.perf_counter() - began:.3f}"])
        raise
    for result in results:  # an executor that reported nothing as it went
        maker.finished.setdefault(result["name"], result)
    for name in unique:
        maker.finished.setdefault(name, {"name": name, "status": "failed", "error":
                                         "no result: the job that ran it did not finish"})
    maker.make_ready()
    failed = {n: r.get("error", "") for n, r in maker.finished.items() if r["status"] == "failed"}
    trained = sum(r["status"] == "done" for r in results)
    reused = sum(r["status"] == "skipped" for r in results)
    wall = time.perf_counter() - began
    made = [(maker.contexts[f.name], maker.seconds[f.name]) for f in figures
            if f.name in maker.contexts]
    for context, seconds in made:
        context.write_summary({"started": started, "target": target,
                               "wall_seconds": round(wall, 3),
                               "figure_seconds": round(seconds, 3), "runs_trained": trained,
                               "runs_reused": reused, "workers": workers})
    record_timing(out, [started, target, " ".join(c.spec.name for c, _ in made), trained,
                        reused, len(failed), workers, f"{wall:.3f}"])
    problems = []
    if failed:
        problems.append(f"{len(failed)} run(s) failed (see sweep_error.txt in each): "
                        + ", ".join(sorted(failed)))
    if maker.errors:
        problems.append(f"{len(maker.errors)} figure(s) failed in post-processing (see "
                        f"{FIGURE_ERROR} in each): " + ", ".join(sorted(maker.errors)))
    if problems:
        raise SegdendError("; ".join(problems))
    return [out / f.name for f in figures if f.name in maker.contexts]


class _FigureMaker:
    """Makes each figure of a reproduction once all of its runs have a result."""

    def __init__(self, figures: list[FigureSpec], plans: dict[str, dict[str, SweepRun]],
                 out: Path, scale: Scale, dataset: str, preset: str,
                 data_dir: Path | None, progress: Callable[[str], None]) -> None:
        self.waiting = list(figures)
        self.plans = plans
        self.out, self.scale, self.dataset, self.preset = out, scale, dataset, preset
        self.data_dir = data_dir
        self.progress = progress
        self.finished: dict[str, dict[str, Any]] = {}
        """Run name → its result (a shorter run a job extends included)."""
        self.contexts: dict[str, FigureContext] = {}
        self.seconds: dict[str, float] = {}
        self.errors: dict[str, str] = {}

    def add_result(self, result: dict[str, Any]) -> None:
        """The executor's callback: note the job's results, then make the figures now ready."""
        for item in flatten_results([result]):
            self.finished[item["name"]] = item
        self.make_ready()

    def make_ready(self) -> None:
        """Make every waiting figure whose runs all have a result (skip it if one failed)."""
        for figure in list(self.waiting):
            runs = self.plans[figure.name]
            if any(run.name not in self.finished for run in runs.values()):
                continue
            self.waiting.remove(figure)
            failed = [(run.name, self.finished[run.name].get("error", ""))
                      for run in runs.values() if self.finished[run.name]["status"] == "failed"]
            if failed:
                self.progress(f"{figure.name}: skipped, its run(s) failed: "
                              + "; ".join(f"{name}: {error}" for name, error in failed))
                continue
            self._make(figure)

    def _make(self, figure: FigureSpec) -> None:
        folder = self.out / figure.name
        folder.mkdir(parents=True, exist_ok=True)
        (folder / FIGURE_ERROR).unlink(missing_ok=True)
        context = FigureContext(figure, folder, self.scale, self.dataset, self.preset,
                                {label: r.run_dir for label, r in self.plans[figure.name].items()},
                                self.data_dir)
        began = time.perf_counter()
        try:
            figure.make(context)
            context.write_summary()
        except Exception as error:  # one figure's fault must not stop the others
            atomic_write_text(folder / FIGURE_ERROR, traceback.format_exc())
            self.errors[figure.name] = f"{type(error).__name__}: {error}"
            self.progress(f"{figure.name}: post-processing failed: {type(error).__name__}: "
                          f"{error} (traceback in {folder / FIGURE_ERROR})")
            return
        self.contexts[figure.name] = context
        self.seconds[figure.name] = time.perf_counter() - began
        self.progress(f"{figure.name}: {len(set(context.written))} files and summary.md "
                      f"in {folder}")


def record_timing(out: Path, row: list[object]) -> None:
    """Append one invocation's row to ``OUT/timings.csv`` (header first if the file is new)."""
    path = out / TIMINGS
    text = ",".join(str(v) for v in row) + "\n"
    if not path.is_file():
        text = ",".join(TIMINGS_HEADER) + "\n" + text
    append_text(path, text)


def default_out(dataset: str, scale: str) -> Path:
    """``reproduction/<dataset>-<scale>``."""
    return Path("reproduction") / f"{dataset}-{scale}"
