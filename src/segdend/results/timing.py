"""Where the time of a full reproduction goes (issue 14 item 7), from the committed run folders.

For every run that ``segdend reproduce all`` needs at the folder's scale, the compute it took:
the sum of ``metrics.csv``'s per-epoch seconds (training, quick tests and the epoch's full test;
the initial test is epoch 0; a run continued from a shorter one, :mod:`segdend.continuation`,
counts only its own epochs), the share of those that were tests where ``events.jsonl`` records
it (epoch events' ``test_seconds`` and ``quick_test_seconds``), and the repeated weight tests
(event ``repeated_tests``). Runs trained since the events record CPU time (``cpu_seconds`` of
the ``initial_test``, ``epoch`` and ``repeated_tests`` events, from ``time.process_time``) also
have their CPU time, which other processes on a shared machine inflate less; where it is known
it is the run's compute, else the wall time is. The wall time of ``reproduce all`` on a number
of workers is then estimated by scheduling the runs' compute longest first, as ``reproduce``
hands them out (``segdend.experiments.reproduce.longest_first``), with each figure's
post-processing starting, in the main process, as soon as its runs are done
(:func:`reproduction_wall_time`).
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from segdend.continuation import extended_epochs
from segdend.results.formatting import fmt_seconds, markdown_table, parse_number
from segdend.results.reading import (
    FIGURES,
    Summaries,
    end_to_end_seconds,
    read_json,
    read_rows,
    read_timings,
)
from segdend.runs import read_events

GOAL_SECONDS = 4 * 3600.0
"""The goal of issue 14: ``reproduce all --scale full`` in at most 4 hours on 2 cores."""
WORKERS = 2


@dataclass
class RunTime:
    """The measured compute of one run (seconds; None where not recorded)."""

    name: str
    figures: list[str]
    epochs_seconds: float | None = None
    """Sum of metrics.csv's ``seconds`` (training + the tests made during training)."""
    test_seconds: float | None = None
    """Of which tests (the initial one, every epoch's full and quick tests), when the epoch
    events of every epoch record them."""
    repeated_seconds: float | None = None
    cpu_seconds: float | None = None
    """CPU time of the whole run (initial test, every epoch, repeated tests), when every one of
    its events records it."""
    quiet_seconds: float | None = None
    """A projection for a machine less shared: every epoch as long as the fastest tenth of the
    run's epochs (10th percentile), plus the initial and the repeated tests as measured."""
    span: tuple[float, float] | None = None
    """``time.time()`` of the run's first and last events (those it took over from a shorter run
    included): the run was trained, and tested, between them."""

    @property
    def total(self) -> float | None:
        """Training, tests and repeated tests; None if the run has not finished training."""
        if self.epochs_seconds is None:
            return None
        return self.epochs_seconds + (self.repeated_seconds or 0.0)

    @property
    def compute(self) -> float | None:
        """The run's compute: its CPU time where recorded, else its wall time (``total``)."""
        if self.total is None:
            return None
        return self.cpu_seconds if self.cpu_seconds is not None else self.total


def _planned_runs(scale: str, dataset: str, preset: str) -> list[tuple[str, Any]]:
    """(figure, its :class:`~segdend.sweep.SweepRun`) for every run of ``reproduce all``."""
    from segdend.experiments.reproduce import figures_for, sweep_run
    from segdend.experiments.spec import SCALES

    return [(figure.name, sweep_run(spec, SCALES[scale], dataset, preset, Path(".")))
            for figure in figures_for("all") for spec in figure.runs]


def needed_runs(scale: str, dataset: str, preset: str) -> dict[str, list[str]]:
    """Run name → the figures that need it, for ``reproduce all`` at this scale."""
    runs: dict[str, list[str]] = {}
    for figure, run in _planned_runs(scale, dataset, preset):
        runs.setdefault(run.name, []).append(figure)
    return runs


def extension_chains(scale: str, dataset: str, preset: str) -> dict[str, tuple[str, int]]:
    """Longer run name → (the shorter run it continues, that run's epochs), as a fresh
    ``reproduce all`` at this scale chains them (:func:`~segdend.experiments.reproduce.
    chain_extensions`)."""
    from segdend.experiments.reproduce import chain_extensions

    runs = {run.name: run for _, run in _planned_runs(scale, dataset, preset)}
    chain_extensions(list(runs.values()), started=lambda run: False)
    return {run.name: (run.extends.name, run.extends.config().train.epochs)
            for run in runs.values() if run.extends is not None}


def measure_run(run_dir: Path, name: str, figures: list[str], shared_epochs: int = 0) -> RunTime:
    """What ``run_dir``'s metrics.csv and events.jsonl say about its compute.

    The first ``shared_epochs`` epochs (and the initial test), or those the run took over from a
    shorter run (its ``extended`` event), are left out: they are the shorter run's compute.
    """
    timing = RunTime(name, figures)
    events = read_events(run_dir)
    if not any(e.get("event") == "finished" for e in events):
        return timing  # not finished (or not here)
    times = [float(e["time"]) for e in events if isinstance(e.get("time"), int | float)]
    if times:
        timing.span = (min(times), max(times))
    rows = read_rows(run_dir / "metrics.csv") if (run_dir / "metrics.csv").is_file() else []
    shared = max(extended_epochs(events), shared_epochs)
    if shared:  # the first epochs are the shorter run's, counted there
        rows = [row for row in rows if (parse_number(row.get("epoch", "")) or 0) > shared]
        events = [e for e in events if e.get("event") != "initial_test"
                  and not (e.get("event") == "epoch" and e.get("epoch", 0) <= shared)]
    seconds = [parse_number(row.get("seconds", "")) for row in rows]
    if not rows or any(s is None for s in seconds):
        return timing
    timing.epochs_seconds = float(sum(s for s in seconds if s is not None))
    trained = sorted(float(s or 0.0) for s, row in zip(seconds, rows, strict=True)
                     if row.get("epoch") != "0")
    initial = timing.epochs_seconds - sum(trained)
    tests = {e["epoch"]: e["test_seconds"] + e.get("quick_test_seconds", 0.0)
             for e in events if e.get("event") == "epoch" and "test_seconds" in e}
    has_initial = rows[0].get("epoch") == "0"
    if len(tests) == len(rows) - has_initial:
        timing.test_seconds = (float(seconds[0] or 0.0) if has_initial else 0.0) \
            + float(sum(tests.values()))
    repeated = [e for e in events if e.get("event") == "repeated_tests"]
    if repeated:
        timing.repeated_seconds = float(repeated[-1]["seconds"])
    timing.cpu_seconds = _cpu_seconds(events, rows, repeated[-1] if repeated else None)
    if trained:
        timing.quiet_seconds = (trained[len(trained) // 10] * len(trained) + initial
                                + (timing.repeated_seconds or 0.0))
    return timing


def _cpu_seconds(events: list[dict[str, Any]], rows: list[dict[str, str]],
                 repeated: dict[str, Any] | None) -> float | None:
    """The run's CPU time if its events record it for every part, else None."""
    epochs = {e["epoch"]: e["cpu_seconds"] for e in events
              if e.get("event") == "epoch" and "cpu_seconds" in e}
    initial = [e["cpu_seconds"] for e in events
               if e.get("event") == "initial_test" and "cpu_seconds" in e]
    has_initial = bool(rows) and rows[0].get("epoch") == "0"
    trained = len(rows) - 1 if has_initial else len(rows)
    if len(epochs) != trained or (has_initial and not initial):
        return None
    if repeated is not None and "cpu_seconds" not in repeated:
        return None
    return float(sum(epochs.values()) + (initial[-1] if has_initial else 0.0)
                 + (repeated["cpu_seconds"] if repeated is not None else 0.0))


@dataclass
class Job:
    """What one worker runs: a run, or a shorter run and the longer run that continues it."""

    compute: float | None
    quiet_seconds: float | None
    runs: tuple[str, ...] = ()
    """The names of the runs it finishes."""


def _sum_or_none(values: list[float | None]) -> float | None:
    """The sum, or None if any value is unknown."""
    known = [v for v in values if v is not None]
    return float(sum(known)) if len(known) == len(values) else None


def _jobs(timings: list[RunTime], chains: dict[str, tuple[str, int]]) -> list[Job]:
    """The runs grouped as ``reproduce`` hands them out: a chain of continued runs is one
    job."""
    by_name = {t.name: t for t in timings}
    continued_by = {short: long for long, (short, _) in chains.items() if long in by_name}
    jobs = []
    for t in timings:
        if t.name in continued_by:
            continue  # counted with the longest run of its chain
        parts = [t]
        while parts[-1].name in chains and chains[parts[-1].name][0] in by_name:
            parts.append(by_name[chains[parts[-1].name][0]])
        jobs.append(Job(_sum_or_none([p.compute for p in parts]),
                        _sum_or_none([p.quiet_seconds for p in parts]),
                        tuple(p.name for p in parts)))
    return jobs


def longest_first_makespan(durations: list[float], workers: int) -> float:
    """Wall time of running ``durations`` on ``workers`` workers, longest first (LPT).

    Each job goes to the worker that frees first; the result is when the last one finishes.
    """
    free = [0.0] * max(workers, 1)
    for duration in sorted(durations, reverse=True):
        heapq.heapreplace(free, free[0] + duration)
    return max(free)


def reproduction_wall_time(jobs: list[tuple[float, tuple[str, ...]]],
                           figures: list[tuple[float, tuple[str, ...]]],
                           workers: int, cores: int) -> float:
    """Wall time of ``reproduce``: jobs on a pool, each figure made as soon as its runs are done.

    The jobs go, longest first, to ``workers`` worker processes (each to the worker that frees
    first); the main process makes the figures one at a time, each once every job holding one
    of its runs has finished (a figure without runs at once; a figure whose runs are not among
    the jobs after all of them). The processes share ``cores`` cores equally: with more of them
    busy than cores, each runs at cores / busy of its speed, so the post-processing made while
    both workers train slows them down.

    Parameters
    ----------
    jobs : list of (seconds, run names)
        What each job costs on a core of its own, and the runs it finishes.
    figures : list of (seconds, run names)
        Each figure's post-processing time and the runs it needs, in the order ``reproduce``
        makes the figures that become ready together.
    workers, cores : int
        Worker processes and the cores they (and the main process) share.

    Returns
    -------
    float
        When the last job or figure finishes (seconds).
    """
    queue = sorted(jobs, key=lambda job: -job[0])
    known = {name for _, names in jobs for name in names}
    running: list[list] = []  # [remaining seconds, run names]
    done: set[str] = set()
    waiting = list(figures)
    making: list[float] = []  # [remaining seconds] of the figure the main process makes
    ready: list[float] = []
    now = 0.0

    def release(finished_all: bool) -> None:
        for figure in list(waiting):
            seconds, names = figure
            if all(n in done for n in names) or (finished_all and not set(names) <= known):
                waiting.remove(figure)
                ready.append(seconds)

    release(finished_all=not queue)
    while True:
        while queue and len(running) < max(workers, 1):
            seconds, names = queue.pop(0)
            running.append([seconds, names])
        if not making and ready:
            making = [ready.pop(0)]
        busy = len(running) + len(making)
        if busy == 0:
            return now
        speed = min(1.0, cores / busy)
        step = min([job[0] for job in running] + making) / speed
        now += step
        for job in running:
            job[0] -= step * speed
        if making:
            making[0] -= step * speed
            if making[0] <= 1e-9:
                making = []
        for job in [job for job in running if job[0] <= 1e-9]:
            running.remove(job)
            done.update(job[1])
        release(finished_all=not queue and not running)


def post_processing_seconds(summaries: Summaries) -> dict[str, float]:
    """Each figure's last post-processing time (``timing.figure_seconds`` of summary.json)."""
    found = {}
    for figure, summary in summaries.items():
        value = (summary.get("timing") or {}).get("figure_seconds")
        if isinstance(value, int | float):
            found[figure] = float(value)
    return found


def time_section(folder: Path, summaries: Summaries) -> list[str]:
    """Markdown lines: the compute of every run of ``reproduce all`` and the estimated wall time.

    Parameters
    ----------
    folder : path
        A reproduction folder (with ``reproduction.json`` and ``runs/``).
    summaries : dict
        Figure name → its summary.json.

    Returns
    -------
    list of str
        A table of runs and a paragraph with the estimate against the 4-hour goal.
    """
    manifest_path = folder / "reproduction.json"
    if not manifest_path.is_file():
        return ["No reproduction.json: the runs of the folder are unknown.", ""]
    manifest = read_json(manifest_path)
    needed = needed_runs(manifest["scale"], manifest["dataset"], manifest["preset"])
    chains = extension_chains(manifest["scale"], manifest["dataset"], manifest["preset"])
    timings = [measure_run(folder / "runs" / name, name, figures,
                           chains[name][1] if name in chains else 0)
               for name, figures in needed.items()]
    timings.sort(key=lambda t: -(t.compute or 0.0))
    rows = []
    for t in timings:
        label = f"`{t.name}`"
        if t.name in chains:
            label += f" (epochs {chains[t.name][1] + 1}– only: continues `{chains[t.name][0]}`)"
        if t.total is None:
            rows.append([label, " ".join(t.figures), "not yet run", "", "", ""])
            continue
        tests = ("not recorded" if t.test_seconds is None or not t.epochs_seconds else
                 f"{fmt_seconds(t.test_seconds)} ({100 * t.test_seconds / t.epochs_seconds:.0f} %)")
        cpu = "not recorded" if t.cpu_seconds is None else fmt_seconds(t.cpu_seconds)
        rows.append([label, " ".join(t.figures), fmt_seconds(t.epochs_seconds), tests,
                     fmt_seconds(t.repeated_seconds), cpu])
    lines = markdown_table(["run", "figures", "training + per-epoch tests",
                            "of which tests", "repeated tests", "CPU time (all)"], rows)
    jobs = _jobs(timings, chains)
    measured = [job.compute for job in jobs if job.compute is not None]
    runs_measured = [t.compute for t in timings if t.compute is not None]
    quiet = [job.quiet_seconds for job in jobs if job.quiet_seconds is not None]
    with_cpu = sum(t.cpu_seconds is not None for t in timings)
    post = post_processing_seconds(summaries)
    runs_of: dict[str, list[str]] = {}
    for name, figures in needed.items():
        for figure in figures:
            runs_of.setdefault(figure, []).append(name)
    made = [(post[f], tuple(runs_of.get(f, []))) for f in FIGURES if f in post]
    estimate = reproduction_wall_time([(job.compute, job.runs) for job in jobs
                                       if job.compute is not None], made, WORKERS, WORKERS)
    quiet_estimate = reproduction_wall_time([(job.quiet_seconds, job.runs) for job in jobs
                                             if job.quiet_seconds is not None], made,
                                            WORKERS, WORKERS)
    tested = [t for t in timings if t.test_seconds is not None and t.epochs_seconds]
    share = ""
    if tested:
        test_total = sum(t.test_seconds or 0.0 for t in tested)
        epoch_total = sum(t.epochs_seconds or 0.0 for t in tested)
        share = (f" In the {len(tested)} run(s) whose events record it, the tests made during "
                 f"training (the initial and every epoch's full test, the quick tests) took "
                 f"{100 * test_total / epoch_total:.0f} % of the time; the rest is training.")
    complete = len(runs_measured) == len(timings) and len(post) == len(FIGURES)
    if complete:
        verdict = ("within" if estimate <= GOAL_SECONDS else "above") + " the goal of 4 h."
    else:
        verdict = (f"counting only the {len(runs_measured)} runs measured so far: a lower bound, "
                   + ("already above" if estimate > GOAL_SECONDS else "not yet comparable with")
                   + " the goal of 4 h.")
    measured_whole = end_to_end_seconds(read_timings(folder), [t.span for t in timings])
    if measured_whole is not None:
        seconds, calls = measured_whole
        lines += [
            f"**Measured end to end:** `segdend reproduce all` trained the {len(timings)} runs "
            f"and made the {len(FIGURES)} figures in **{fmt_seconds(seconds)}** of wall time on "
            f"{WORKERS} workers (timings.csv"
            + (f", {calls} invocations: {calls - 1} interrupted and resumed by the next" if
               calls > 1 else "") + "), "
            + ("within" if seconds <= GOAL_SECONDS else "above") + " the goal of 4 h.", ""]
    lines += [
        f"{len(runs_measured)} of the {len(timings)} runs that `segdend reproduce all` needs "
        f"at this scale are measured: {fmt_seconds(sum(runs_measured))} of compute in all."
        + (f" {len(chains)} run(s) continue a shorter run with the same settings "
           "(`segdend.continuation`), so the epochs they share train once; their rows count "
           "only their own epochs (a run trained before this had its shared epochs measured "
           "in the longer run too: they are left out there)." if chains else "")
        + f" Scheduled longest first on {WORKERS} workers, as `reproduce` hands them out "
        "(a shorter run and its continuation as one job), they take "
        f"{fmt_seconds(longest_first_makespan(measured, WORKERS))}; with the post-processing "
        f"of the {len(post)} figures made ({fmt_seconds(sum(post.values()))}), each begun as "
        "soon as its runs are done and sharing the cores with the runs still training "
        f"(`reproduction_wall_time`), the estimate is **{fmt_seconds(estimate)}**, {verdict}"
        + share + " Wall times are those of this project's shared 2-core machine, two runs at "
        "a time and beside other work, so they are upper bounds for an idle machine; "
        f"{with_cpu} run(s) also record their CPU time, which the estimate uses for them."
        + (f" Were every epoch of a run as fast as the fastest tenth of its epochs (a machine "
           f"less shared), the same schedule would take "
           f"{fmt_seconds(quiet_estimate)} with the post-processing: a projection, not a "
           "measurement." if quiet else ""), ""]
    return lines

