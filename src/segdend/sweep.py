"""Sweeps: many independent runs on a local process pool, a Dask cluster, or SLURM/PBS.

A sweep file (TOML) holds a base config, a grid (cartesian product of lists) and/or a list of
override sets, and seeds::

    [base]
    preset = "code"              # or: config = "path/to/config.toml"
    [base.set]                   # overrides, exactly as with --set
    "model.mode" = "rate"
    [grid]
    "model.feedback" = ["random", "sparse"]
    seeds = [0, 1]
    # [[runs]]                   # optional: explicit override sets, crossed with the grid
    # "model.hidden" = [500, 100]

Each run gets a stable, readable name and its own run directory under the sweep's output folder.
A run is idempotent: finished runs are skipped, unfinished ones resume from their checkpoints, so
a killed worker's run is retried and ends exactly as if it had never been interrupted.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import csv
import itertools
import json
import multiprocessing
import os
import re
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError, field_validator

from segdend.config import Config, Strict, build_config, load_toml
from segdend.errors import ConfigError, RunInUseError, SegdendError

ERROR_FILE = "sweep_error.txt"


class SweepBase(Strict):
    """The base configuration every run starts from."""

    preset: str = "code"
    config: Path | None = None
    set: dict[str, Any] = Field(default_factory=dict)


class SweepFile(Strict):
    """A validated sweep file."""

    base: SweepBase = Field(default_factory=SweepBase)
    grid: dict[str, list[Any]] = Field(default_factory=dict)
    runs: list[dict[str, Any]] = Field(default_factory=list)
    seeds: list[int] = Field(default_factory=list)
    repeats: int = Field(0, ge=0, le=10_000)
    """Repeated weight tests after each run (``repeated_tests.csv``; 0: none)."""

    @field_validator("grid")
    @classmethod
    def _non_empty(cls, grid: dict[str, list[Any]]) -> dict[str, list[Any]]:
        for key, values in grid.items():
            if not values:
                raise ValueError(f"grid key '{key}' has an empty list")
        return grid


@dataclass
class SweepRun:
    """One run of a sweep: its name, its overrides and its directory."""

    name: str
    overrides: dict[str, Any]
    run_dir: Path
    base: SweepBase = field(repr=False, default_factory=SweepBase)
    repeats: int = 0
    """Repeated weight tests to run after training (``repeated_tests.csv``; 0: none)."""
    extends: SweepRun | None = field(repr=False, default=None)
    """A shorter run with the same settings but ``train.epochs``: :func:`execute_run` finishes
    it first and, if this run has not started, continues this run from its last epoch instead
    of training the shared epochs again (:mod:`segdend.continuation`)."""

    def set_arguments(self) -> list[str]:
        """The overrides as ``key=value`` strings (TOML values)."""
        return [*(f"{k}={_toml(v)}" for k, v in self.base.set.items()),
                *(f"{k}={_toml(v)}" for k, v in self.overrides.items())]

    def config(self) -> Config:
        """The run's resolved config."""
        files = [self.base.config] if self.base.config else []
        return build_config(self.base.preset, files, self.set_arguments())


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return repr(value)


def _slug(value: Any) -> str:
    if value == []:
        return "none"
    text = ",".join(str(v) for v in value) if isinstance(value, list) else str(value)
    return re.sub(r"[^A-Za-z0-9.+-]+", "-", text).strip("-") or "x"


def run_name(overrides: dict[str, Any]) -> str:
    """A stable, readable name: ``feedback-sparse_seed-1``."""
    if not overrides:
        return "base"
    return "_".join(f"{key.split('.')[-1]}-{_slug(value)}" for key, value in overrides.items())


def load_sweep(path: Path, out: Path | None = None) -> list[SweepRun]:
    """Parse and expand a sweep file; every run's config is validated (one-line errors)."""
    path = Path(path)
    tree = load_toml(path)
    try:
        sweep = SweepFile.model_validate(tree)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "sweep"
        message = first["msg"].removeprefix("Value error, ")
        if first["type"] == "extra_forbidden":
            message = "unknown section or key (expected base, grid, runs, seeds, repeats)"
        raise ConfigError(f"sweep file '{path}': '{where}': {message}") from None
    base = sweep.base
    if base.config is not None and not base.config.is_absolute():
        base = base.model_copy(update={"config": path.parent / base.config})
    grid = dict(sweep.grid)
    seeds = grid.pop("seeds", None) or sweep.seeds
    keys = list(grid)
    combos = [dict(zip(keys, values, strict=True)) for values in itertools.product(*grid.values())]
    explicit = sweep.runs or [{}]
    out = Path(out) if out is not None else Path("runs") / path.stem
    runs: list[SweepRun] = []
    for extra in explicit:
        for combo in combos:
            for seed in seeds or [None]:
                overrides = {**extra, **combo}
                if seed is not None:
                    overrides["seed"] = seed
                name = run_name(overrides)
                runs.append(SweepRun(name, overrides, out / name, base, repeats=sweep.repeats))
    names = [r.name for r in runs]
    duplicates = {n for n in names if names.count(n) > 1}
    if duplicates:
        raise ConfigError(f"sweep file '{path}': runs with identical overrides: "
                          f"{', '.join(sorted(duplicates))}")
    for run in runs:
        try:
            run.config()
        except ConfigError as error:
            raise ConfigError(f"sweep file '{path}', run '{run.name}': {error}") from None
    return runs


# ------------------------------------------------------------------------------- execution


def run_is_finished(run_dir: Path) -> bool:
    """A run is finished when its final parameters exist."""
    return (Path(run_dir) / "params.npz").is_file()


WAIT_POLL_SECONDS = 2.0
"""How often a run locked by another process is checked again."""


def _announce(message: str) -> None:
    print(message, flush=True)


def wait_for_run(run: SweepRun, poll_seconds: float = WAIT_POLL_SECONDS,
                 notify: Any = _announce) -> None:
    """Block while another live process holds the run's lock, announcing each holder once."""
    from segdend.runs import lock_holder

    announced = None
    while (pid := lock_holder(run.run_dir)) is not None:
        if pid != announced:
            notify(f"waiting for {run.name}: held by pid {pid}")
            announced = pid
        time.sleep(poll_seconds)


def execute_run(run: SweepRun, data_dir: str | None = None,
                poll_seconds: float = WAIT_POLL_SECONDS) -> dict[str, Any]:
    """Run (or resume, or skip) one sweep run; called in a worker process.

    A run locked by another live process (a second ``segdend reproduce`` or ``sweep`` on the
    same folder) is waited for, then used if that process finished it, or resumed if it died.

    A run that ``extends`` a shorter one runs that one first (its result is returned under
    ``"extends"``) and, if it is not started yet, starts from the shorter run's last epoch.
    """
    shorter = None
    if run.extends is not None:
        from segdend.continuation import extend_run

        shorter = execute_run(run.extends, data_dir, poll_seconds)
        if shorter["status"] != "failed":
            # not extended (a copy that failed leaves nothing): this run trains from scratch
            with contextlib.suppress(OSError, SegdendError):
                extend_run(run.extends.run_dir, run.run_dir, run.config())
    while True:
        wait_for_run(run, poll_seconds)
        result = _execute_once(run, data_dir)
        if result is not None:
            return result if shorter is None else {**result, "extends": shorter}


def report_result(result: dict[str, Any], progress: Callable[[str], None]) -> None:
    """One line per run of an :func:`execute_run` result (the shorter run it extends first)."""
    for item in flatten_results([result]):
        progress(f"{item['status']:8s} {item['name']}"
                 + (f": {item['error']}" if "error" in item else ""))


def flatten_results(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """:func:`execute_run` results with the shorter runs' results (``"extends"``) listed too."""
    flat = []
    for result in results:
        if "extends" in result:
            flat += flatten_results([result["extends"]])
        flat.append({k: v for k, v in result.items() if k != "extends"})
    return flat


def _execute_once(run: SweepRun, data_dir: str | None) -> dict[str, Any] | None:
    """One attempt; None when another process took the run's lock first."""
    from segdend.evaluate import REPEATED_FILE, write_repeated_tests
    from segdend.runs import RunLock
    from segdend.train import resume_training, run_training

    run_dir = run.run_dir
    wants_repeats = run.repeats > 0 and not (run_dir / REPEATED_FILE).is_file()
    if run_is_finished(run_dir) and not wants_repeats:
        return {"name": run.name, "status": "skipped"}
    data = Path(data_dir) if data_dir else None
    try:
        (run_dir / ERROR_FILE).unlink(missing_ok=True)
        if not run_is_finished(run_dir):
            if (run_dir / "config.toml").is_file():
                resume_training(run_dir, quiet=True, data_dir=data, log=_silent)
            else:
                run_training(run.config(), run_dir, quiet=True, data_dir=data, log=_silent)
        if wants_repeats:
            with RunLock(run_dir):
                if not (run_dir / REPEATED_FILE).is_file():
                    write_repeated_tests(run_dir, run.repeats, data_dir=data)
    except RunInUseError:
        return None
    except SegdendError as error:
        _record_error(run_dir, str(error))
        return {"name": run.name, "status": "failed", "error": str(error)}
    except Exception as error:  # a bug: keep the traceback beside the run
        _record_error(run_dir, f"{type(error).__name__}: {error}\n{traceback.format_exc()}")
        return {"name": run.name, "status": "failed", "error": f"{type(error).__name__}: {error}"}
    return {"name": run.name, "status": "done"}


def _silent(_message: str) -> None:
    """Workers keep quiet: every run logs its progress to its own events.jsonl."""


def _record_error(run_dir: Path, text: str) -> None:
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / ERROR_FILE).write_text(text)
    except OSError:
        pass


def run_local(runs: list[SweepRun], workers: int, data_dir: str | None = None,
              retries: int = 3, progress=print,
              heartbeat_seconds: float = 300.0,
              on_result: Callable[[dict[str, Any]], None] | None = None) -> list[dict[str, Any]]:
    """Run on a local process pool; a crashed worker's runs are retried (they resume).

    Every ``heartbeat_seconds`` without a finished run, the runs under way are reported
    (:func:`running_summary`), so that hour-long runs show their progress. ``on_result`` is
    called with each result as it comes, while the other runs go on (``reproduce`` makes a
    figure there as soon as its runs are done).
    """
    pending = list(runs)
    results: dict[str, dict[str, Any]] = {}
    context = multiprocessing.get_context("spawn")
    for attempt in range(retries + 1):
        if not pending:
            break
        crashed: list[SweepRun] = []
        with concurrent.futures.ProcessPoolExecutor(max_workers=workers,
                                                    mp_context=context) as pool:
            futures = {pool.submit(execute_run, run, data_dir): run for run in pending}
            waiting = set(futures)
            try:
                while waiting:
                    done, waiting = concurrent.futures.wait(
                        waiting, timeout=heartbeat_seconds,
                        return_when=concurrent.futures.FIRST_COMPLETED)
                    if not done:
                        summary = running_summary([futures[f] for f in waiting])
                        if summary:
                            progress(summary)
                    for future in done:
                        run = futures[future]
                        try:
                            result = future.result()
                        except concurrent.futures.process.BrokenProcessPool:
                            crashed.append(run)
                            continue
                        results[run.name] = result
                        report_result(result, progress)
                        if on_result is not None:
                            on_result(result)
            except BaseException:  # Ctrl-C, or SIGTERM to this process alone: do not wait
                stop_workers(pool)
                raise
        if crashed:
            progress(f"a worker died; retrying {len(crashed)} run(s) (attempt {attempt + 2})")
        pending = crashed
    for run in pending:
        results[run.name] = {"name": run.name, "status": "failed",
                             "error": "its worker died repeatedly"}
    return [results[r.name] for r in runs]


def stop_workers(pool: concurrent.futures.ProcessPoolExecutor) -> None:
    """End a pool's worker processes now, and drop the runs not yet started.

    Leaving the pool's ``with`` block would otherwise wait for the runs under way, for hours
    when only this process was told to stop (``kill PID``; Ctrl-C in a terminal reaches the
    workers too). A stopped run resumes from its last checkpoint the next time.
    """
    terminate = getattr(pool, "terminate_workers", None)  # Python 3.14+
    if terminate is not None:
        terminate()
        return
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)  # (it forgets its processes)
    for process in processes:
        process.terminate()


def running_summary(runs: list[SweepRun]) -> str:
    """One line on the runs under way: epochs done and the latest test error of each (a job's
    shorter run, which it trains first, included), then how many jobs wait for a worker.

    A run is under way while a live process other than this one holds its lock
    (:func:`segdend.runs.lock_holder`); the other jobs are counted as waiting.
    """
    from segdend.runs import lock_holder

    parts = []
    active = [r for job in runs for r in (job.extends, job)
              if r is not None and lock_holder(r.run_dir) is not None]
    waiting = sum(not any(r is job or r is job.extends for r in active) for job in runs)
    for run in active:
        path = run.run_dir / "metrics.csv"
        if not path.is_file():
            continue
        try:
            last = final_metrics(run.run_dir)
            epochs = run.config().train.epochs
        except (OSError, ValueError, KeyError, SegdendError):
            continue
        if last.get("epoch") not in (None, ""):
            parts.append(f"{run.name} {last['epoch']}/{epochs} ({float(last['test_error']):.2f} %)")
    line = ("under way: " + "; ".join(parts)) if parts else ""
    if waiting:
        line += ("; " if line else "") + f"{waiting} waiting for a worker"
    return line


def run_dask(runs: list[SweepRun], client, data_dir: str | None = None,
             progress=print,
             on_result: Callable[[dict[str, Any]], None] | None = None) -> list[dict[str, Any]]:
    """Run on a Dask cluster; tasks of a dead worker are rescheduled and resume.

    ``on_result`` is called with each result as it comes (as in :func:`run_local`).
    """
    from distributed import as_completed

    futures = {client.submit(execute_run, run, data_dir, pure=False, key=f"segdend-{run.name}",
                             retries=3): run for run in runs}
    results: dict[str, dict[str, Any]] = {}
    for future in as_completed(futures):
        run = futures[future]
        try:
            result = future.result()
        except Exception as error:  # KilledWorker and the like
            result = {"name": run.name, "status": "failed", "error": f"{type(error).__name__}"}
        results[run.name] = result
        report_result(result, progress)
        if on_result is not None:
            on_result(result)
    return [results[r.name] for r in runs]


def make_client(scheduler: str | None, cluster: str | None, options: dict[str, Any],
                workers: int):
    """A Dask client: a running scheduler, a dask-jobqueue cluster, or a local cluster."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise SegdendError("Dask is not installed: pip install 'segdend[dask]'") from None
    if scheduler:
        return Client(scheduler), None
    if cluster:
        try:
            import dask_jobqueue
        except ImportError:
            raise SegdendError("--cluster needs dask-jobqueue: pip install dask-jobqueue") from None
        classes = {"slurm": dask_jobqueue.SLURMCluster, "pbs": dask_jobqueue.PBSCluster}
        job_cluster = classes[cluster](**options)
        job_cluster.scale(jobs=max(workers, 1))
        return Client(job_cluster), job_cluster
    local = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True)
    return Client(local), local


# ------------------------------------------------------------------------- status, collect


def run_status(run: SweepRun) -> tuple[str, str]:
    """(state, detail): done, running, failed, interrupted or pending."""
    from segdend.runs import _pid_alive

    run_dir = run.run_dir
    if run_is_finished(run_dir):
        return "done", ""
    lock = run_dir / ".lock"
    if lock.is_file():
        try:
            pid = int(lock.read_text().strip() or 0)
        except (OSError, ValueError):
            pid = 0
        if pid and _pid_alive(pid):
            return "running", f"process {pid}"
    if (run_dir / ERROR_FILE).is_file():
        return "failed", (run_dir / ERROR_FILE).read_text().strip().splitlines()[0]
    if (run_dir / "config.toml").is_file():
        return "interrupted", "resumes on the next 'segdend sweep'"
    return "pending", ""


def final_metrics(run_dir: Path) -> dict[str, str]:
    """The last row of a run's metrics.csv."""
    with open(run_dir / "metrics.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return rows[-1] if rows else {}


def collect(runs: list[SweepRun], out: Path) -> Path:
    """results.csv (final metrics and override values of every finished run) and a plot."""
    from segdend.runs import atomic_write_text

    out.mkdir(parents=True, exist_ok=True)
    keys = list(dict.fromkeys(k for run in runs for k in run.overrides))
    header = ["name", *keys, "epoch", "test_error", "train_error", "seconds"]
    lines = [",".join(header)]
    table = []
    for run in runs:
        if not run_is_finished(run.run_dir):
            continue
        metrics = final_metrics(run.run_dir)
        values = [_csv(run.overrides.get(k, "")) for k in keys]
        lines.append(",".join([run.name, *values, metrics.get("epoch", ""),
                               metrics.get("test_error", ""), metrics.get("train_error", ""),
                               metrics.get("seconds", "")]))
        table.append((run, float(metrics.get("test_error", "nan"))))
    path = out / "results.csv"
    atomic_write_text(path, "\n".join(lines) + "\n")
    _plot(table, [k for k in keys if k != "seed"], out / "results.png")
    return path


def _csv(value: Any) -> str:
    text = _toml(value) if isinstance(value, list) else str(value)
    return f'"{text}"' if "," in text else text


def _plot(table: list[tuple[SweepRun, float]], keys: list[str], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    if not table or not keys:
        return
    fig, axes = plt.subplots(1, len(keys), figsize=(4.5 * len(keys), 3.5), squeeze=False)
    for ax, key in zip(axes[0], keys, strict=True):
        groups: dict[str, list[float]] = {}
        for run, error in table:
            groups.setdefault(str(run.overrides.get(key)), []).append(error)
        labels = list(groups)
        means = [np.mean(groups[k]) for k in labels]
        low = [means[i] - min(groups[k]) for i, k in enumerate(labels)]
        high = [max(groups[k]) - means[i] for i, k in enumerate(labels)]
        ax.errorbar(range(len(labels)), means, yerr=[low, high], fmt="o", capsize=4)
        ax.set_xticks(range(len(labels)), labels, rotation=20)
        ax.set_xlabel(key)
        ax.set_ylabel("final test error (%), min–max over seeds")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def default_workers() -> int:
    """All cores this process may use."""
    return max(len(os.sched_getaffinity(0)), 1)


def run_sweep(path: str | Path, *, workers: int | None = None, out: str | Path | None = None,
              scheduler: str | None = None, cluster: str | None = None,
              cluster_options: dict[str, Any] | None = None,
              data_dir: str | Path | None = None,
              progress: Callable[[str], None] | None = print) -> list[dict[str, Any]]:
    """Run every run of a sweep file: on local processes, a Dask scheduler or SLURM/PBS.

    Finished runs are skipped and unfinished ones resumed from their checkpoints.

    Parameters
    ----------
    path : path
        The sweep TOML file (``[base]``, ``[grid]``, optional ``[[runs]]``).
    workers : int, optional
        Parallel runs (local processes, or dask-jobqueue jobs); default all cores.
    out : path, optional
        Where the run directories go (default ``runs/<sweep file stem>/``).
    scheduler : str, optional
        Address of a running Dask scheduler, e.g. ``"tcp://head:8786"``.
    cluster : {"slurm", "pbs"}, optional
        Submit Dask workers as batch jobs through dask-jobqueue, with ``cluster_options``.
    data_dir : path, optional
        Where every worker finds the data set's IDX files.
    progress : callable, optional
        Receives progress lines (``None``: silent).

    Returns
    -------
    list of dict
        One record per run: ``name``, ``status`` (done, skipped, failed) and ``error``.
    """
    runs = load_sweep(Path(path), None if out is None else Path(out))
    workers = workers or default_workers()
    report = progress or _silent
    data = str(data_dir) if data_dir else None
    if scheduler or cluster:
        client, job_cluster = make_client(scheduler, cluster, cluster_options or {}, workers)
        try:
            return run_dask(runs, client, data, report)
        finally:
            client.close()
            if job_cluster is not None:
                job_cluster.close()
    return run_local(runs, workers, data, progress=report)
