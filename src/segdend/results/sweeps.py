"""The RESULTS.md sections of the two sweep folders: ``seeds`` (the Fig 6 networks over
several seeds) and ``depth`` (one factor at a time for 784-500-10 and 784-500-100-10).

Each section reads the folder's sweep file and the final numbers of its committed runs
(:func:`~segdend.results.reading.run_final`); a run not yet finished shows as
:data:`~segdend.results.formatting.NOT_RUN`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

from segdend.results.formatting import (
    NOT_RUN,
    fmt_number,
    fmt_p,
    markdown_table,
    network_name,
)
from segdend.results.reading import run_final, sweep_runs

Link = Callable[[Path], str]
"""A path → its link text in RESULTS.md (:meth:`segdend.results.builder.Builder.link`)."""

NO_SWEEP_FILE = ["No sweep file (*.toml) in the folder.", ""]
PAPER_ONE_HIDDEN_ERROR, PAPER_TWO_HIDDEN_ERROR = 4.1, 3.2
"""Final test errors (%) of 784-500-10 and 784-500-100-10 in the paper (PAPER.md §0)."""


def _by_depth(name: str) -> tuple[int, str]:
    """Sort key of network names: fewer layers first, then by name."""
    return name.count("-"), name


def _sweep_file_line(sweep_file: Path, link: Link, finished: int, runs: int,
                     final: str) -> list[str]:
    """The section's first paragraph: the sweep file, how many runs finished, what 'final'
    means."""
    return [f"Sweep file [{sweep_file.name}]({link(sweep_file)}): {finished} of {runs} runs "
            f"finished. {final}", ""]


def _settings(config: Any) -> dict[str, Any]:
    """A run's settings apart from its seed and what it records (they do not change what it
    learns)."""
    from segdend.config import dotted_keys

    return {k: v for k, v in dotted_keys(config.model_dump(mode="json")).items()
            if k != "seed" and not k.startswith("record.")}


def _same_settings_runs(runs_folder: Path | None) -> list[tuple[dict[str, Any], Path, int]]:
    """(settings, run directory, seed) of every run under ``runs_folder``."""
    from segdend.config import load_config
    from segdend.errors import SegdendError

    found = []
    for path in sorted(runs_folder.glob("*/config.toml")) if runs_folder else []:
        try:
            config = load_config(path)
        except SegdendError:
            continue
        found.append((_settings(config), path.parent, config.seed))
    return found


def seeds_section(folder: Path, link: Link, reference_runs: Path | None = None) -> list[str]:
    """The Fig 6 networks over seeds.

    Parameters
    ----------
    folder : path
        The ``seeds`` sweep folder.
    link : callable
        Path → link text relative to RESULTS.md.
    reference_runs : path, optional
        Another folder of runs (``results/mnist-full/runs``): a finished run there with the
        settings of a sweep run but a seed the sweep does not use is one more seed of that
        network.

    Returns
    -------
    list of str
        Markdown lines: per network the spread of the final error across seeds beside the
        spread of the repeated tests within a seed, then t-tests across seeds (when at least
        two networks have two finished seeds).
    """
    from segdend.analysis.stats import compare as t_tests

    sweep_file, runs = sweep_runs(folder)
    if sweep_file is None:
        return list(NO_SWEEP_FILE)
    groups: dict[str, list[dict[str, Any]]] = {}
    finished = 0
    settings: dict[str, dict[str, Any]] = {}
    seeds: dict[str, set[int]] = {}
    for run in runs:
        config = run.config()
        name = network_name(list(config.model.hidden))
        settings[name] = _settings(config)
        seeds.setdefault(name, set()).add(config.seed)
        result = run_final(run.run_dir)
        groups.setdefault(name, [])
        if result is not None:
            finished += 1
            groups[name].append(result)
    borrowed = []
    for other, run_dir, seed in _same_settings_runs(reference_runs):
        for name, wanted in settings.items():
            result = run_final(run_dir) if other == wanted and seed not in seeds[name] else None
            if result is not None:
                groups[name].append(result)
                seeds[name].add(seed)
                borrowed.append(f"{name} seed {seed}: [{run_dir.name}]"
                                f"({link(run_dir / 'config.toml')})")
    lines = _sweep_file_line(sweep_file, link, finished, len(runs),
                             "Final error of a run: mean of its repeated tests (else its last "
                             "epoch's test error).")
    if borrowed:
        lines += ["Runs with the same settings found elsewhere, counted as further seeds: "
                  + "; ".join(borrowed) + ".", ""]
    rows = []
    for layers in sorted(groups, key=_by_depth):
        results = sorted(groups[layers], key=lambda r: r["seed"])
        if not results:
            rows.append([layers, 0, NOT_RUN, "", "", "", ""])
            continue
        means = [r["mean"] for r in results]
        mean = sum(means) / len(means)
        sd = (fmt_number(math.sqrt(sum((m - mean) ** 2 for m in means) / (len(means) - 1)))
              if len(means) > 1 else "—")
        within = sum(r["sd"] for r in results) / len(results)
        ranges = sum(r["max"] - r["min"] for r in results) / len(results)
        rows.append([layers, len(results), fmt_number(mean), sd,
                     f"{fmt_number(min(means))}–{fmt_number(max(means))}",
                     f"{fmt_number(within)} (range {fmt_number(ranges)}, n = "
                     f"{results[0]['n']} each)",
                     ", ".join(f"seed {r['seed']}: {fmt_number(r['mean'])}" for r in results)])
    lines += markdown_table(["network", "seeds", "mean across seeds (%)", "sd across seeds",
                             "min–max across seeds", "repeated tests: mean sd within a seed",
                             "per seed"], rows)
    complete = {k: [r["mean"] for r in v] for k, v in groups.items() if len(v) >= 2}
    if len(complete) >= 2:
        import numpy as np

        ordered = dict(sorted(complete.items(), key=lambda kv: _by_depth(kv[0])))
        results = t_tests({k: np.array(v) for k, v in ordered.items()})
        lines += ["t-tests across seeds (two-tailed, t > 0: the first-named network has "
                  "the higher error; Bonferroni-corrected for three groups):", ""]
        lines += markdown_table(["comparison", "t", "df", "p"],
                                [[f"{r['a']} vs {r['b']}", f"{r['t']:.2f}", r["df"],
                                  fmt_p(r["p_corrected"])] for r in results])
    return lines


def _value(value: Any) -> str:
    """An override value as a factor label writes it (lists in parentheses)."""
    if isinstance(value, list):
        return "(" + ", ".join(str(v) for v in value) + ")"
    return str(value)


class DepthTable(NamedTuple):
    """The depth sweep read into one table (see :func:`depth_table`)."""

    sweep_file: Path | None
    rows: dict[str, dict[str, dict[str, Any] | None]]
    """Factor label → network name → :func:`run_final` result (None: not finished)."""
    order: list[str]
    """Factor labels in the sweep file's order; the first is the baseline."""
    overrides: dict[str, dict[str, Any]]
    """Factor label → the overrides that make it (empty for the baseline)."""
    finished: int
    runs: int


def depth_table(folder: Path) -> DepthTable:
    """Read the depth sweep: one row per factor, one entry per network.

    Parameters
    ----------
    folder : path
        The ``depth`` sweep folder.

    Returns
    -------
    DepthTable
        A factor is a run's overrides other than ``model.hidden`` and ``seed``; runs with the
        same factor and different networks share a row.
    """
    sweep_file, runs = sweep_runs(folder)
    table = DepthTable(sweep_file, {}, [], {}, 0, len(runs))
    finished = 0
    for run in runs:
        hidden = list(run.config().model.hidden)
        factors = {k: v for k, v in run.overrides.items() if k not in ("model.hidden", "seed")}
        label = "; ".join(f"{k} = {_value(v)}" for k, v in sorted(factors.items())) \
            or "baseline (code preset)"
        if label not in table.rows:
            table.order.append(label)
            table.overrides[label] = factors
        result = run_final(run.run_dir)
        finished += result is not None
        table.rows.setdefault(label, {})[network_name(hidden)] = result
    return table._replace(finished=finished)


def depth_section(folder: Path, link: Link) -> list[str]:
    """One factor at a time for the one- and two-hidden-layer networks.

    Parameters
    ----------
    folder : path
        The ``depth`` sweep folder.
    link : callable
        Path → link text relative to RESULTS.md.

    Returns
    -------
    list of str
        Markdown lines: one row per factor (the sweep's overrides other than
        ``model.hidden`` and ``seed``, in the sweep file's order), one column per network, and
        the difference between the two deepest networks.
    """
    depth = depth_table(folder)
    if depth.sweep_file is None:
        return list(NO_SWEEP_FILE)
    table, order = depth.rows, depth.order
    networks = sorted({n for row in table.values() for n in row}, key=_by_depth)
    lines = _sweep_file_line(depth.sweep_file, link, depth.finished, depth.runs,
                             "Final test error (%): mean of the repeated tests if the run has "
                             "them (n given), else the last epoch's test error.")
    rows = []
    for label in order:
        cells = []
        for network in networks:
            if network not in table[label]:
                cells.append("—")
                continue
            result = table[label][network]
            cells.append(NOT_RUN if result is None else
                         f"{fmt_number(result['mean'])} (n = {result['n']})")
        pair = [table[label].get(n) for n in networks[-2:]]
        difference = (fmt_number(pair[1]["mean"] - pair[0]["mean"])
                      if len(pair) == 2 and all(pair) else "—")
        rows.append([label, *cells, difference])
    header = ["factor", *networks,
              f"{networks[-1]} − {networks[-2]}" if len(networks) >= 2 else "difference"]
    return lines + markdown_table(header, rows) + depth_conclusion(table, order, networks)


def _lowered(table: dict[str, dict[str, dict[str, Any] | None]], base: str, factor: str,
             shallow: str, deep: str) -> str:
    """'4.49 %; 784-500-10: 4.41 %, also lower' — the deeper network's error with ``factor``
    and what the factor does to the shallower one."""
    deep_mean = float(table[factor][deep]["mean"])  # type: ignore[index]
    other, other_base = table[factor].get(shallow), table[base].get(shallow)
    text = f"{fmt_number(deep_mean)} %"
    if other is not None and other_base is not None:
        change = "also lower" if other["mean"] < other_base["mean"] else "not lower"
        text += f"; {shallow}: {fmt_number(float(other['mean']))} %, {change}"
    return text


def depth_conclusion(table: dict[str, dict[str, dict[str, Any] | None]], order: list[str],
                     networks: list[str]) -> list[str]:
    """The investigation's conclusion, computed from its table (never typed).

    Parameters
    ----------
    table : dict
        Factor label → network name → :func:`run_final` result (None: not finished).
    order : list of str
        Factor labels in the sweep file's order; the first is the baseline.
    networks : list of str
        Network names, shallowest first; the last two are compared.

    Returns
    -------
    list of str
        A paragraph: the baseline's difference between the two deepest networks, the factors
        with which the deeper network has the lower error, the factors that lower the deeper
        network's error below its baseline, and the factors not yet run.
    """
    if len(networks) < 2 or not order:
        return []
    shallow, deep = networks[-2], networks[-1]

    def mean(label: str, network: str) -> float | None:
        result = table[label].get(network)
        return None if result is None else float(result["mean"])

    base = order[0]
    base_shallow, base_deep = mean(base, shallow), mean(base, deep)
    if base_shallow is None or base_deep is None:
        return ["", "Conclusion: not yet computable (the baselines have not finished)."]
    factors = order[1:]
    reverses = [f for f in factors if mean(f, shallow) is not None
                and mean(f, deep) is not None and mean(f, deep) < mean(f, shallow)]
    helps = [f for f in factors if mean(f, deep) is not None and mean(f, deep) < base_deep]
    pending = [f for f in factors
               if any(table[f].get(n, {"mean": 0}) is None for n in (shallow, deep))]
    side = "above" if base_deep >= base_shallow else "below"
    text = (f"Conclusion (computed from the table): with the baseline settings {deep} ends "
            f"{fmt_number(abs(base_deep - base_shallow))} points {side} {shallow}. ")
    text += ("With " + ", ".join(f"`{f}` ({_reversal(table[f], shallow, deep)})"
                                 for f in reverses)
             + f", {deep} is below {shallow}; t-tests over the repeated tests of one network "
             "each measure the test noise, not the spread across independently trained "
             "networks (section Seeds). The largest reversal is "
             f"{fmt_number(max(mean(f, shallow) - mean(f, deep) for f in reverses))} points; in "
             f"the paper {deep} is {PAPER_ONE_HIDDEN_ERROR - PAPER_TWO_HIDDEN_ERROR:.1f} points "
             f"below {shallow} ({PAPER_TWO_HIDDEN_ERROR} % against {PAPER_ONE_HIDDEN_ERROR} % "
             "after 60 epochs). "
             if reverses else f"No factor finished so far puts {deep} below {shallow}. ")
    if helps:
        text += (f"Factors that lower {deep}'s error below its baseline: "
                 + ", ".join(f"`{f}` ({_lowered(table, base, f, shallow, deep)})"
                             for f in helps) + ". ")
    else:
        text += f"No factor finished so far lowers {deep}'s error below its baseline. "
    paper_gap = PAPER_ONE_HIDDEN_ERROR - PAPER_TWO_HIDDEN_ERROR
    largest = max((mean(f, shallow) - mean(f, deep) for f in reverses), default=0.0)
    if largest >= paper_gap / 2:
        text += (f"A factor reverses the order by at least half the paper's {paper_gap:.1f} "
                 "points: it is a candidate explanation of the paper's depth result.")
    else:
        text += (f"**Not explained**: no factor reverses the order by even half the paper's "
                 f"{paper_gap:.1f} points")
        text += (" among those run so far; not yet run: "
                 + ", ".join(f"`{f}`" for f in pending) + "." if pending else ".")
    return ["", text]


def _reversal(row: dict[str, dict[str, Any] | None], shallow: str, deep: str) -> str:
    """``a vs b %`` for a factor's two networks, with the t-test when both have repeated tests."""
    a, b = row[deep], row[shallow]
    assert a is not None and b is not None
    text = f"{fmt_number(a['mean'])} vs {fmt_number(b['mean'])} %"
    if a.get("repeated") and b.get("repeated") and a["n"] > 1 and b["n"] > 1:
        from scipy import stats

        t, p = stats.ttest_ind_from_stats(a["mean"], a["sd"], a["n"], b["mean"], b["sd"],
                                          b["n"], equal_var=True)
        text += f", t{a['n'] + b['n'] - 2} = {float(t):.2f}, p = {fmt_p(float(p))}"
    return text
