"""``segdend results RESULTS_DIR``: RESULTS.md, built only from the committed result folders.

Every number in RESULTS.md is read from the folders under ``results/``: the figures'
``summary.json`` files (our values, t-tests, measures, and the paper's values as their ``paper``
fields, taken from PAPER.md §0), their source-data CSVs and PNGs, the runs' ``config.toml``,
``metrics.csv`` and ``repeated_tests.csv``, and ``timings.csv``. Nothing is typed in by hand, so
``segdend results results --out RESULTS.md`` regenerates the file byte for byte.

Sections, each present when its folder exists:

- ``mnist-full`` — the reproduction with the code preset: the numbers of PAPER.md §0 beside
  ours with a verdict, the paper's qualitative claims with a verdict, every figure.
- ``mnist-full-paper`` — the same with the paper preset (Fig 6 side by side with the code
  preset).
- ``seeds`` — a ``segdend sweep`` of the three Fig 6 networks over several seeds.
- ``depth`` — a ``segdend sweep`` changing one factor at a time for 784-500-10 and
  784-500-100-10.
- ``fashion-mnist-full`` — the reproduction on Fashion-MNIST.

Verdict rules (also printed in RESULTS.md):

- a number: **matches** if the paper's value lies within our min–max or within
  :data:`MATCH_TOLERANCE` (relative) of our mean; **close** if within :data:`CLOSE_TOLERANCE`;
  **differs** otherwise. A range (``0.2–0.6``): matches if our value lies in it, close if it is
  within :data:`CLOSE_TOLERANCE` of the range's larger end outside it.
- a t-test: **matches** if our t has the paper's sign and the same significance at
  :data:`ALPHA`; **close** if the sign agrees but not the significance, or the sign disagrees
  without significance; **differs** if the sign disagrees and ours is significant.
- a claim: a list of checks computed from the summaries; **holds** if every check passes,
  **partly** if at least one does, **does not hold** if none does.
"""

from __future__ import annotations

import csv
import json
import math
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from segdend import csvio
from segdend.errors import DataError, SegdendError

ALPHA = 0.05
"""Significance level of every check and verdict."""
MATCH_TOLERANCE = 0.05
"""Relative distance of our mean from the paper's value that still counts as a match."""
CLOSE_TOLERANCE = 0.15
"""Relative distance that counts as close."""
HARMLESS = 0.05
"""Relative increase of the mean error that still counts as 'no harm' / 'no difference'."""
THUMBNAIL_WIDTH = 240

FIGURES = ("fig3", "fig4", "fig5", "fig5s1", "fig6", "fig6s1", "fig7", "fig8", "fig8s1", "fig9")
REPRODUCTIONS = (
    ("mnist-full", "MNIST, full scale, code preset"),
    ("mnist-full-paper", "MNIST, full scale, paper preset"),
    ("fashion-mnist-full", "Fashion-MNIST, full scale, code preset"),
)
MAIN = "mnist-full"
SEEDS = "seeds"
DEPTH = "depth"
NOT_RUN = "not yet run"


# ------------------------------------------------------------------------------ formatting


def _fmt(value: float | None) -> str:
    """A number in a fixed, readable form (– for none)."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    value = float(value)
    if value != 0 and abs(value) < 1e-3:
        return f"{value:.2e}"
    if abs(value) >= 100:
        return f"{value:.1f}"
    if abs(value) >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"


def _p(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.2e}" if value < 1e-3 else f"{value:.3f}"


def _seconds(value: float | None) -> str:
    """Seconds as s, min or h."""
    if value is None:
        return "not recorded"
    if value >= 3600:
        return f"{value / 3600:.2f} h"
    if value >= 60:
        return f"{value / 60:.1f} min"
    return f"{value:.0f} s"


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _table(header: list[str], rows: list[list[object]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return [*lines, ""]


def _number(text: str) -> float | None:
    """A float from a summary string ('3.15', '−10.20', '2.50e-58'), else None."""
    try:
        return float(str(text).strip().replace("−", "-"))
    except ValueError:
        return None


# ------------------------------------------------------------------------------- reading


def read_json(path: Path) -> dict[str, Any]:
    """A JSON file as a dict (one-line :class:`DataError` if unreadable)."""
    try:
        record = json.loads(Path(path).read_text())
    except (OSError, ValueError) as error:
        raise DataError(f"'{path}' is unreadable: {error}") from None
    if not isinstance(record, dict):
        raise DataError(f"'{path}' is not a JSON object")
    return record


def read_rows(path: Path) -> list[dict[str, str]]:
    """The rows of a CSV (plain or gzip-compressed) as dicts."""
    try:
        with csvio.open_csv(path) as handle:
            return list(csv.DictReader(handle))
    except (OSError, csv.Error, UnicodeDecodeError) as error:
        raise DataError(f"'{path}' is unreadable: {error}") from None


def load_summaries(folder: Path) -> dict[str, dict[str, Any]]:
    """figure name → summary.json of every reproduced figure in a reproduction folder."""
    return {name: read_json(folder / name / "summary.json") for name in FIGURES
            if (folder / name / "summary.json").is_file()}


def read_timings(folder: Path) -> list[dict[str, str]]:
    """The rows of ``timings.csv`` (none if absent)."""
    path = folder / "timings.csv"
    return read_rows(path) if path.is_file() else []


def figure_wall_seconds(timings: list[dict[str, str]], figure: str) -> float | None:
    """Wall time of the latest invocation that made ``figure``."""
    for row in reversed(timings):
        if figure in row.get("figures", "").split():
            return _number(row.get("wall_seconds", ""))
    return None


# ------------------------------------------------------------------------------- verdicts


def parse_paper_value(text: str) -> tuple[float, float] | None:
    """The paper's value as an interval: (x, x) for a number ('8.3', '≈ 65'), (a, b) for a
    range ('mostly 0.2–0.6'); None for a qualitative statement."""
    text = str(text).strip().replace("−", "-")
    text = re.sub(r"^(≈|~|about|mostly)\s*", "", text)
    single = re.fullmatch(r"(-?\d+(?:\.\d+)?)\s*[%°]?", text)
    if single:
        value = float(single.group(1))
        return value, value
    interval = re.fullmatch(r"(-?\d+(?:\.\d+)?)\s*[–-]\s*(-?\d+(?:\.\d+)?)\s*[%°]?", text)
    if interval:
        low, high = sorted((float(interval.group(1)), float(interval.group(2))))
        return low, high
    return None


def value_numbers(row: dict[str, Any]) -> tuple[float, float, float, int] | None:
    """(mean, min, max, n) of a summary value row: its numeric fields, or parsed from its
    ``ours`` and ``spread`` strings (summaries written before the numeric fields existed)."""
    if row.get("mean") is not None:
        return (float(row["mean"]), float(row.get("min", row["mean"])),
                float(row.get("max", row["mean"])), int(row.get("n", 1)))
    mean = _number(row.get("ours", ""))
    if mean is None:
        return None
    spread = re.fullmatch(r"\s*(-?[\d.]+(?:e-?\d+)?)–(-?[\d.]+(?:e-?\d+)?) \(n = (\d+)\)\s*",
                          str(row.get("spread", "")).replace("−", "-"))
    if spread:
        return mean, float(spread.group(1)), float(spread.group(2)), int(spread.group(3))
    return mean, mean, mean, 1


def value_verdict(ours: tuple[float, float, float, int], paper: tuple[float, float]) -> str:
    """matches, close or differs (module docstring)."""
    mean, low, high, _ = ours
    a, b = paper
    if a == b:
        scale = abs(a) or 1.0
        if low <= a <= high or abs(mean - a) <= MATCH_TOLERANCE * scale:
            return "matches"
        return "close" if abs(mean - a) <= CLOSE_TOLERANCE * scale else "differs"
    if a <= mean <= b:
        return "matches"
    distance = a - mean if mean < a else mean - b
    return "close" if distance <= CLOSE_TOLERANCE * max(abs(a), abs(b)) else "differs"


def parse_paper_test(text: str) -> tuple[float, float] | None:
    """(t, p) from the paper's 't38 = −71.54, p = 1.2e-41', else None."""
    match = re.search(r"t\d*\s*=\s*(-?\d+(?:\.\d+)?),\s*p\s*=\s*(\d+(?:\.\d+)?(?:e-?\d+)?)",
                      str(text).replace("−", "-").replace("×10^", "e"))
    return (float(match.group(1)), float(match.group(2))) if match else None


def t_test_numbers(row: dict[str, Any]) -> tuple[float, float] | None:
    """(t, p) of one of our t-tests: numeric fields, or parsed from the strings."""
    t = row.get("t_value")
    p = row.get("p_value")
    if t is None:
        t = _number(row.get("t", ""))
    if p is None:
        p = _number(row.get("p", ""))
    return (float(t), float(p)) if t is not None and p is not None else None


def t_test_verdict(ours: tuple[float, float], paper: tuple[float, float]) -> str:
    """matches, close or differs (module docstring)."""
    same_sign = math.copysign(1, ours[0]) == math.copysign(1, paper[0])
    same_significance = (ours[1] < ALPHA) == (paper[1] < ALPHA)
    if same_sign and same_significance:
        return "matches"
    if not same_sign and ours[1] < ALPHA:
        return "differs"
    return "close"


# --------------------------------------------------------------------------------- claims


@dataclass(frozen=True)
class Check:
    """One test of a claim against the data: what it asks, whether it passed, the numbers."""

    text: str
    passed: bool | None
    """None: its figure has not been run (or its summary lacks the quantity)."""
    evidence: str


def _measure(summary: dict[str, Any] | None, key: str) -> float | None:
    if summary is None:
        return None
    value = summary.get("measures", {}).get(key)
    return None if value is None else float(value)


def _missing(summary: dict[str, Any] | None, figure: str) -> str:
    return f"{figure} {NOT_RUN}" if summary is None else (
        f"{figure}: quantity missing from summary.json (rerun segdend reproduce {figure})")


def _find_test(summary: dict[str, Any], a: str, b: str) -> tuple[float, float] | None:
    """(t, p) with t > 0 meaning ``a`` has the higher error."""
    for row in summary.get("tests", []):
        pair = (row.get("a"), row.get("b"))
        numbers = t_test_numbers(row)
        if numbers is None:
            continue
        if pair == (a, b):
            return numbers
        if pair == (b, a):
            return -numbers[0], numbers[1]
    return None


def lower(summaries: dict[str, dict[str, Any]], figure: str, a: str, b: str,
          text: str) -> Check:
    """Check: network ``a`` has a significantly lower final error than ``b``."""
    summary = summaries.get(figure)
    mean_a = _measure(summary, f"final_error.{a}")
    mean_b = _measure(summary, f"final_error.{b}")
    test = _find_test(summary, a, b) if summary is not None else None
    if mean_a is None or mean_b is None or test is None:
        return Check(text, None, _missing(summary, figure))
    passed = mean_a < mean_b and test[1] < ALPHA
    return Check(text, passed, f"{_fmt(mean_a)} vs {_fmt(mean_b)} %, t = {test[0]:.2f}, "
                               f"p = {_p(test[1])}")


def no_worse(summaries: dict[str, dict[str, Any]], figure: str, a: str, b: str,
             text: str) -> Check:
    """Check: ``a``'s mean error exceeds ``b``'s by at most :data:`HARMLESS` (relative)."""
    summary = summaries.get(figure)
    mean_a = _measure(summary, f"final_error.{a}")
    mean_b = _measure(summary, f"final_error.{b}")
    if mean_a is None or mean_b is None:
        return Check(text, None, _missing(summary, figure))
    return Check(text, mean_a <= mean_b * (1 + HARMLESS),
                 f"{_fmt(mean_a)} vs {_fmt(mean_b)} % ({100 * (mean_a / mean_b - 1):+.1f} %)")


def not_significantly_worse(summaries: dict[str, dict[str, Any]], figure: str, a: str, b: str,
                            text: str) -> Check:
    """Check: ``a`` is not significantly worse than ``b``."""
    summary = summaries.get(figure)
    test = _find_test(summary, a, b) if summary is not None else None
    if test is None:
        return Check(text, None, _missing(summary, figure))
    return Check(text, not (test[0] > 0 and test[1] < ALPHA),
                 f"t = {test[0]:.2f}, p = {_p(test[1])}")


def compare(summaries: dict[str, dict[str, Any]], figure: str, key: str, relation: str,
            other: str | float, text: str) -> Check:
    """Check: a measure is below (``<``) or above (``>``) another measure or a number."""
    summary = summaries.get(figure)
    value = _measure(summary, key)
    bound = float(other) if isinstance(other, int | float) else _measure(summary, other)
    if value is None or bound is None:
        return Check(text, None, _missing(summary, figure))
    passed = value < bound if relation == "<" else value > bound
    return Check(text, passed, f"{_fmt(value)} {relation} {_fmt(bound)}"
                 if passed else f"{_fmt(value)} vs {_fmt(bound)}")


def _exists(summaries: dict[str, dict[str, Any]], figure: str, key: str, text: str) -> Check:
    summary = summaries.get(figure)
    if summary is None or key not in summary.get("measures", {}):
        return Check(text, None, _missing(summary, figure))
    value = summary["measures"][key]
    return Check(text, value is not None,
                 "never" if value is None else f"at example {int(value)}")


@dataclass(frozen=True)
class Claim:
    """A qualitative claim of the paper, the figures that show it, and its checks."""

    text: str
    figures: tuple[str, ...]
    checks: Callable[[dict[str, dict[str, Any]]], list[Check]]


def _shifted(summaries: dict[str, dict[str, Any]]) -> list[Check]:
    summary = summaries.get("fig5")
    real = _measure(summary, "5B.r")
    shuffled = _measure(summary, "5B.r_shuffled")
    text = "5B: r(L⁰, L¹) exceeds the shuffled r by at least 0.1"
    if real is None or shuffled is None:
        first = Check(text, None, _missing(summary, "fig5"))
    else:
        first = Check(text, real - shuffled >= 0.1, f"r = {real:.3f}, shuffled {shuffled:.3f}")
    return [first,
            compare(summaries, "fig5", "5C.median_r_after_epoch_1", ">", 0.1,
                    "5C: median per-category r after epoch 1 above 0.1"),
            compare(summaries, "fig5", "5C.share_above_shuffled", ">", 0.9,
                    "5C: real r above the shuffled r in more than 90 % of (epoch, category) "
                    "cells")]


CLAIMS: tuple[Claim, ...] = (
    Claim("Depth helps: 0 < 1 < 2 hidden layers (lower error with more layers)", ("fig6",),
          lambda s: [lower(s, "fig6", "one_hidden", "no_hidden",
                           "784-500-10 below 784-10 (p < 0.05)"),
                     lower(s, "fig6", "two_hidden", "one_hidden",
                           "784-500-100-10 below 784-500-10 (p < 0.05)")]),
    Claim("The hidden loss correlates with the output loss, more strongly than shuffled",
          ("fig5",), _shifted),
    Claim("The Jacobian condition of Theorem 1 holds within the first epoch", ("fig5s1",),
          lambda s: [_exists(s, "fig5s1", "5S1A.first_below_1",
                             "max eigenvalue (product of means) falls below 1 in epoch 1"),
                     compare(s, "fig5s1", "5S1A.end", "<", 1.0,
                             "and is below 1 at the end of epoch 1")]),
    Claim("The angle to backprop stays below 90°, and is lower with rate feedback", ("fig7",),
          lambda s: [compare(s, "fig7", "7A.spiking.max_after_1000", "<", 90.0,
                             "spiking feedback: smoothed angle below 90° after 1,000 examples"),
                     compare(s, "fig7", "7A.rate.max_after_1000", "<", 90.0,
                             "rate feedback: smoothed angle below 90° after 1,000 examples"),
                     compare(s, "fig7", "7A.rate.mean_after_1000", "<",
                             "7A.spiking.mean_after_1000",
                             "mean angle lower with rate than with spiking feedback")]),
    Claim("Receptive fields resemble backprop's more than shuffled ones do", ("fig7",),
          lambda s: [compare(s, "fig7", "7C.mean_max_r", ">", "7C.mean_max_r_shuffled",
                             "mean max r above the shuffled control's"),
                     compare(s, "fig7", "7C.share_above_shuffled", ">", 0.9,
                             "more than 90 % of the fields beat their shuffled control")]),
    Claim("Sparse feedback ×5 is better, ×1 worse", ("fig8", "fig8s1"),
          lambda s: [lower(s, "fig8", "sparse", "regular",
                           "8B: sparse ×5 below regular (p < 0.05)"),
                     lower(s, "fig8s1", "sparse", "regular",
                           "8S1: sparse ×5 below regular (p < 0.05)"),
                     lower(s, "fig8s1", "regular", "sparse_unamplified",
                           "8S1: sparse ×1 above regular (p < 0.05)")]),
    Claim("Symmetric feedback is better, noisy symmetric worse", ("fig8",),
          lambda s: [lower(s, "fig8", "symmetric", "regular",
                           "symmetric below regular (p < 0.05)"),
                     lower(s, "fig8", "regular", "symmetric_noise",
                           "symmetric + noise above regular (p < 0.05)")]),
    Claim("g_a = 0.05 does no harm; g_a = 0.6 impairs learning", ("fig9",),
          lambda s: [no_worse(s, "fig9", "strong", "two_hidden",
                              f"g_a = 0.05 at most {100 * HARMLESS:.0f} % above g_a = 0"),
                     lower(s, "fig9", "two_hidden", "weak",
                           "g_a = 0.6 above g_a = 0 (p < 0.05)"),
                     lower(s, "fig9", "strong", "weak",
                           "g_a = 0.6 above g_a = 0.05 (p < 0.05)")]),
    Claim("Stochastic plateau times make no difference", ("fig6s1",),
          lambda s: [no_worse(s, "fig6s1", "stochastic", "regular",
                              f"stochastic at most {100 * HARMLESS:.0f} % above synchronized"),
                     not_significantly_worse(s, "fig6s1", "stochastic", "regular",
                                             "stochastic not significantly worse "
                                             "(p ≥ 0.05 or lower)")]),
    Claim("Categories separate better at higher layers (t-SNE)", ("fig6",),
          lambda s: [compare(s, "fig6", "6C.neighbour_agreement.hidden1", ">",
                             "6C.neighbour_agreement.input",
                             "nearest-neighbour agreement: hidden 1 above input"),
                     compare(s, "fig6", "6C.neighbour_agreement.hidden2", ">",
                             "6C.neighbour_agreement.hidden1",
                             "hidden 2 above hidden 1")]),
)


def claim_verdict(checks: list[Check]) -> str:
    """holds, partly, does not hold (module docstring), or not computable (no check could be
    computed: a summary written before its figure recorded the quantities)."""
    if all(c.passed is None for c in checks):
        return "not computable"
    passed = sum(bool(c.passed) for c in checks)
    if passed == len(checks):
        return "holds"
    return "partly" if passed else "does not hold"


def _claim_cell(claim: Claim, summaries: dict[str, dict[str, Any]]) -> str:
    if not any(f in summaries for f in claim.figures):
        return NOT_RUN
    checks = claim.checks(summaries)
    verdict = claim_verdict(checks)
    marks = "; ".join(f"{'✔' if c.passed else '✘' if c.passed is False else '?'} {c.evidence}"
                      for c in checks)
    return f"**{verdict}** ({marks})"


# ------------------------------------------------------------------------- committed runs


def run_final(run_dir: Path) -> dict[str, Any] | None:
    """A committed run's final numbers: repeated tests (mean, min, max, sd, n) if present,
    else the last epoch's test error; None if the run has not finished (metrics.csv short of
    the configured epochs). Needs no params.npz."""
    from segdend.analysis.stats import summarise
    from segdend.config import load_config
    from segdend.evaluate import read_repeated_tests

    if not (run_dir / "config.toml").is_file():
        return None
    try:
        config = load_config(run_dir / "config.toml")
        rows = read_rows(run_dir / "metrics.csv")
    except SegdendError:
        return None
    if not rows or rows[-1].get("epoch") != str(config.train.epochs):
        return None
    last = float(rows[-1]["test_error"])
    record: dict[str, Any] = {"last_epoch_error": last, "epochs": config.train.epochs,
                              "seconds": _number(rows[-1].get("seconds", "")),
                              "seed": config.seed, "hidden": list(config.model.hidden)}
    try:
        errors = read_repeated_tests(run_dir)
    except DataError:
        record.update({"mean": last, "min": last, "max": last, "sd": 0.0, "n": 1,
                       "repeated": False})
        return record
    record.update({**summarise(errors), "repeated": True})
    return record


def _layers(hidden: list[int]) -> str:
    return "-".join(str(n) for n in [784, *hidden, 10])


def _sweep_runs(folder: Path) -> tuple[Path | None, list[Any]]:
    """The sweep file of a sweep folder and its runs (directories under the folder)."""
    from segdend.sweep import load_sweep

    files = sorted(folder.glob("*.toml"))
    if not files:
        return None, []
    return files[0], load_sweep(files[0], folder)


# ------------------------------------------------------------------------------ sections


class Builder:
    """Builds the text of RESULTS.md; links are relative to the folder of ``out``."""

    def __init__(self, results: Path, out: Path):
        self.results = Path(results)
        self.base = Path(out).resolve().parent

    def link(self, path: Path) -> str:
        """A POSIX path relative to RESULTS.md."""
        return Path(os.path.relpath(Path(path).resolve(), self.base)).as_posix()

    def thumbnails(self, folder: Path) -> str:
        """Every PNG of a folder as an HTML thumbnail linking to the full image."""
        return " ".join(f'<a href="{self.link(p)}"><img src="{self.link(p)}" '
                        f'width="{THUMBNAIL_WIDTH}" alt="{p.stem}"></a>'
                        for p in sorted(folder.glob("*.png")))

    # ----------------------------------------------------------------- top tables

    def paper_numbers(self, summaries: dict[str, dict[str, Any]]) -> list[str]:
        """Every value and t-test with a numeric paper value, ours beside it, verdicts."""
        values = []
        for figure in FIGURES:
            for row in summaries.get(figure, {}).get("values", []):
                paper = parse_paper_value(row.get("paper", ""))
                ours = value_numbers(row)
                if paper is None or ours is None:
                    continue
                values.append([figure, row["quantity"], _fmt(ours[0]),
                               f"{_fmt(ours[1])}–{_fmt(ours[2])}", ours[3], row["paper"],
                               value_verdict(ours, paper)])
        tests = []
        for figure in FIGURES:
            for row in summaries.get(figure, {}).get("tests", []):
                paper = parse_paper_test(row.get("paper", ""))
                ours = t_test_numbers(row)
                if paper is None or ours is None:
                    continue
                tests.append([figure, row["comparison"], f"t{row.get('df', '')} = "
                              f"{ours[0]:.2f}", _p(ours[1]), row.get("corrected", ""),
                              row["paper"], t_test_verdict(ours, paper)])
        lines = ["### Values", ""]
        lines += _table(["figure", "quantity", "ours (mean)", "min–max", "n", "paper",
                         "verdict"], values) if values else [f"No figure with a paper value "
                                                             f"has been run yet ({NOT_RUN}).",
                                                             ""]
        lines += ["### t-tests (ours against the paper's)", ""]
        lines += _table(["figure", "comparison", "ours", "p", "correction", "paper",
                         "verdict"], tests) if tests else ["No t-test yet (not yet run).", ""]
        return lines

    def claims(self, columns: list[tuple[str, dict[str, dict[str, Any]]]]) -> list[str]:
        """The claims table: one verdict column per reproduction folder."""
        header = ["claim", "figure", "checks", *(f"{name}" for name, _ in columns)]
        rows = []
        for claim in CLAIMS:
            texts = "; ".join(c.text for c in claim.checks({}))
            rows.append([claim.text, ", ".join(claim.figures), texts,
                         *(_claim_cell(claim, s) for _, s in columns)])
        return _table(header, rows)

    # ----------------------------------------------------------------- figures

    def figure_sections(self, folder: Path, summaries: dict[str, dict[str, Any]],
                        level: str = "###") -> list[str]:
        """Each figure: networks as run, wall time, values, t-tests, thumbnails."""
        timings = read_timings(folder)
        lines = []
        for figure in FIGURES:
            summary = summaries.get(figure)
            if summary is None:
                lines += [f"{level} {figure}", "", f"{NOT_RUN}.", ""]
                continue
            lines += [f"{level} {figure}: {summary.get('title', figure)}", ""]
            networks = summary.get("networks")
            if networks:
                lines += ["Networks: " + "; ".join(
                    f"{n['title']} ({n['layers']}): {n['epochs']} epochs × {n['examples']} "
                    f"examples, {n['test_images']} test images, {n['repeated_tests']} repeated "
                    f"tests, preset {n['preset']}, seed {n['seed']}" for n in networks) + ".", ""]
            elif networks is None:
                lines += ["Networks: not recorded (summary written before `networks` existed; "
                          f"rerun `segdend reproduce {figure}`).", ""]
            train = summary.get("train_seconds")
            own = summary.get("timing", {}).get("figure_seconds")
            training = (_seconds(train) if networks else
                        "no runs" if networks == [] else "not recorded")
            lines += [f"Wall time of the `segdend reproduce` that made it (timings.csv): "
                      f"{_seconds(figure_wall_seconds(timings, figure))}, of which this "
                      f"figure's post-processing {_seconds(own)}; training time of its runs "
                      f"(metrics.csv): {training}. "
                      f"[summary.md]({self.link(folder / figure / 'summary.md')})", ""]
            if summary.get("values"):
                lines += _table(["quantity", "ours", "spread (min–max)", "paper"],
                                [[v["quantity"], v["ours"], v["spread"], v["paper"]]
                                 for v in summary["values"]])
            if summary.get("tests"):
                lines += _table(["comparison", "t", "df", "p", "correction", "paper"],
                                [[t["comparison"], t["t"], t["df"], t["p"], t["corrected"],
                                  t["paper"]] for t in summary["tests"]])
            thumbs = self.thumbnails(folder / figure)
            if thumbs:
                lines += [thumbs, ""]
        return lines

    def timings_table(self, folder: Path) -> list[str]:
        """Every recorded invocation of ``segdend reproduce`` on the folder."""
        rows = read_timings(folder)
        if not rows:
            return ["No timings recorded (timings.csv absent).", ""]
        return _table(["started (UTC)", "target", "figures", "runs trained", "runs reused",
                       "workers", "wall time"],
                      [[r.get("started", ""), r.get("target", ""), r.get("figures", ""),
                        r.get("runs_trained", ""), r.get("runs_reused", ""),
                        r.get("workers", ""), _seconds(_number(r.get("wall_seconds", "")))]
                       for r in rows])

    # ----------------------------------------------------------------- side by side

    def presets(self, code: dict[str, dict[str, Any]],
                paper: dict[str, dict[str, Any]]) -> list[str]:
        """Fig 6 with the code preset beside Fig 6 with the paper preset."""
        if "fig6" not in paper:
            return [f"Fig 6 with the paper preset: {NOT_RUN}.", ""]
        rows = []
        by_code = {v["quantity"]: v for v in code.get("fig6", {}).get("values", [])}
        for row in paper["fig6"].get("values", []):
            other = by_code.get(row["quantity"])
            rows.append([row["quantity"], _ours(other) if other else NOT_RUN, _ours(row),
                         row["paper"]])
        lines = _table(["quantity", "code preset", "paper preset", "paper"], rows)
        tests_code = {t["comparison"]: t for t in code.get("fig6", {}).get("tests", [])}
        lines += _table(["comparison", "code preset", "paper preset", "paper"],
                        [[t["comparison"], _test_cell(tests_code.get(t["comparison"])),
                          _test_cell(t), t["paper"]] for t in paper["fig6"].get("tests", [])])
        thumbs = [self.thumbnails(self.results / name / "fig6")
                  for name in (MAIN, "mnist-full-paper")]
        lines += ["| code preset | paper preset |", "|---|---|",
                  f"| {thumbs[0] or NOT_RUN} | {thumbs[1]} |", ""]
        return lines

    # ----------------------------------------------------------------- sweeps

    def seeds(self, folder: Path) -> list[str]:
        """The Fig 6 networks over seeds: spread across seeds beside the repeated-test spread,
        and t-tests across seeds."""
        from segdend.analysis.stats import compare as t_tests

        sweep_file, runs = _sweep_runs(folder)
        if sweep_file is None:
            return ["No sweep file (*.toml) in the folder.", ""]
        groups: dict[str, list[dict[str, Any]]] = {}
        finished = 0
        for run in runs:
            hidden = list(run.config().model.hidden)
            result = run_final(run.run_dir)
            groups.setdefault(_layers(hidden), [])
            if result is not None:
                finished += 1
                groups[_layers(hidden)].append(result)
        lines = [f"Sweep file [{sweep_file.name}]({self.link(sweep_file)}): {finished} of "
                 f"{len(runs)} runs finished. Final error of a run: mean of its repeated tests "
                 "(else its last epoch's test error).", ""]
        rows = []
        for layers in sorted(groups, key=lambda k: (k.count("-"), k)):
            results = sorted(groups[layers], key=lambda r: r["seed"])
            if not results:
                rows.append([layers, 0, NOT_RUN, "", "", "", ""])
                continue
            means = [r["mean"] for r in results]
            mean = sum(means) / len(means)
            sd = (math.sqrt(sum((m - mean) ** 2 for m in means) / (len(means) - 1))
                  if len(means) > 1 else 0.0)
            within = sum(r["sd"] for r in results) / len(results)
            ranges = sum(r["max"] - r["min"] for r in results) / len(results)
            rows.append([layers, len(results), _fmt(mean), _fmt(sd),
                         f"{_fmt(min(means))}–{_fmt(max(means))}",
                         f"{_fmt(within)} (range {_fmt(ranges)}, n = "
                         f"{results[0]['n']} each)",
                         ", ".join(f"seed {r['seed']}: {_fmt(r['mean'])}" for r in results)])
        lines += _table(["network", "seeds", "mean across seeds (%)", "sd across seeds",
                         "min–max across seeds", "repeated tests: mean sd within a seed",
                         "per seed"], rows)
        complete = {k: [r["mean"] for r in v] for k, v in groups.items() if len(v) >= 2}
        if len(complete) >= 2:
            import numpy as np

            ordered = dict(sorted(complete.items(), key=lambda kv: (kv[0].count("-"), kv[0])))
            results = t_tests({k: np.array(v) for k, v in ordered.items()})
            lines += ["t-tests across seeds (two-tailed, t > 0: the first-named network has "
                      "the higher error; Bonferroni-corrected for three groups):", ""]
            lines += _table(["comparison", "t", "df", "p"],
                            [[f"{r['a']} vs {r['b']}", f"{r['t']:.2f}", r["df"],
                              _p(r["p_corrected"])] for r in results])
        return lines

    def depth(self, folder: Path) -> list[str]:
        """One factor at a time for the one- and two-hidden-layer networks."""
        sweep_file, runs = _sweep_runs(folder)
        if sweep_file is None:
            return ["No sweep file (*.toml) in the folder.", ""]
        table: dict[str, dict[str, dict[str, Any] | None]] = {}
        order: list[str] = []
        finished = 0
        for run in runs:
            hidden = list(run.config().model.hidden)
            factors = {k: v for k, v in run.overrides.items() if k not in ("model.hidden",
                                                                              "seed")}
            label = "; ".join(f"{k} = {_value(v)}" for k, v in sorted(factors.items())) \
                or "baseline (code preset)"
            if label not in table:
                order.append(label)
            result = run_final(run.run_dir)
            finished += result is not None
            table.setdefault(label, {})[_layers(hidden)] = result
        networks = sorted({n for row in table.values() for n in row},
                          key=lambda k: (k.count("-"), k))
        lines = [f"Sweep file [{sweep_file.name}]({self.link(sweep_file)}): {finished} of "
                 f"{len(runs)} runs finished. Final test error (%): mean of the repeated tests "
                 "if the run has them (n given), else the last epoch's test error.", ""]
        rows = []
        for label in order:
            cells = []
            for network in networks:
                if network not in table[label]:
                    cells.append("—")
                    continue
                result = table[label][network]
                cells.append(NOT_RUN if result is None else
                             f"{_fmt(result['mean'])} (n = {result['n']})")
            pair = [table[label].get(n) for n in networks[-2:]]
            difference = (_fmt(pair[1]["mean"] - pair[0]["mean"])
                          if len(pair) == 2 and all(pair) else "—")
            rows.append([label, *cells, difference])
        header = ["factor", *networks,
                  f"{networks[-1]} − {networks[-2]}" if len(networks) >= 2 else "difference"]
        return lines + _table(header, rows)

    # ----------------------------------------------------------------- document

    def build(self) -> str:
        """The whole of RESULTS.md."""
        present = {name: load_summaries(self.results / name)
                   for name, _ in REPRODUCTIONS if (self.results / name).is_dir()}
        lines = ["# Results", "",
                 "Our reproduction of Guerguiev, Lillicrap & Richards (eLife 2017), generated by "
                 "`segdend results` (`make results`) from the committed folders under "
                 f"`{self.link(self.results)}/` only; do not edit by hand. The paper's values "
                 "are the `paper` fields of the figures' summary.json, taken from PAPER.md §0.",
                 "", "## Folders", ""]
        folder_rows = []
        for name, title in (*REPRODUCTIONS, (SEEDS, "Fig 6 networks over seeds (sweep)"),
                            (DEPTH, "depth investigation, one factor at a time (sweep)")):
            path = self.results / name
            if not path.is_dir():
                state = "absent"
            elif name in present:
                state = (f"{len(present[name])} of {len(FIGURES)} figures: "
                         + (", ".join(present[name]) or "none"))
            else:
                state = "present"
            folder_rows.append([f"`{self.link(path)}`", title, state])
        lines += _table(["folder", "what", "state"], folder_rows)
        main = present.get(MAIN, {})
        lines += [f"## The numbers of PAPER.md §0 ({MAIN}, code preset)", ""]
        if MAIN in present:
            lines += self.paper_numbers(main)
        else:
            lines += [f"`{MAIN}`: {NOT_RUN}.", ""]
        lines += _rules()
        lines += ["## The paper's qualitative claims", ""]
        lines += ["Each claim is judged by the checks listed, computed from the figures' "
                  "summary.json (`measures`, `values`, `tests`): **holds** if every check "
                  "passes, **partly** if at least one does, **does not hold** if none does, "
                  f"**{NOT_RUN}** if none of its figures has been run. ✔ passed, ✘ failed, "
                  f"? not available. Significance: p < {ALPHA} (two-tailed, Bonferroni-corrected "
                  f"for three groups as in the paper); 'no harm' allows {100 * HARMLESS:.0f} % "
                  "more error.", ""]
        columns = [(name, present.get(name, {})) for name, _ in REPRODUCTIONS
                   if name == MAIN or name in present]
        lines += self.claims(columns)
        for name, title in REPRODUCTIONS:
            if name not in present:
                continue
            folder = self.results / name
            lines += [f"## {title} (`{self.link(folder)}`)", ""]
            if name == "mnist-full-paper":
                lines += ["### Fig 6: code preset beside paper preset", ""]
                lines += self.presets(main, present[name])
            lines += ["### Timings", "", *self.timings_table(folder)]
            lines += self.figure_sections(folder, present[name])
        for name, title, method in ((SEEDS, "Seeds", self.seeds),
                                    (DEPTH, "Depth investigation", self.depth)):
            folder = self.results / name
            if folder.is_dir():
                lines += [f"## {title} (`{self.link(folder)}`)", "", *method(folder)]
        return "\n".join(lines).rstrip() + "\n"


def _ours(row: dict[str, Any]) -> str:
    return f"{row['ours']} ({row['spread']})" if row.get("spread") else str(row["ours"])


def _test_cell(row: dict[str, Any] | None) -> str:
    if row is None:
        return NOT_RUN
    return f"t{row['df']} = {row['t']}, p = {row['p']}"


def _value(value: Any) -> str:
    if isinstance(value, list):
        return "(" + ", ".join(str(v) for v in value) + ")"
    return str(value)


def _rules() -> list[str]:
    return ["Verdicts: a value **matches** if the paper's value lies within our min–max or "
            f"within {100 * MATCH_TOLERANCE:.0f} % of our mean, is **close** within "
            f"{100 * CLOSE_TOLERANCE:.0f} %, and **differs** otherwise (a range such as "
            "0.2–0.6 matches if our value lies in it). A t-test **matches** if our t has the "
            f"paper's sign and the same significance at p < {ALPHA}, is **close** if only the "
            "sign agrees (or the sign differs without significance), and **differs** if the "
            "sign differs and ours is significant. t > 0: the first-named network has the "
            "higher error. Only values whose paper field is a number or a range are listed; "
            "the paper's qualitative statements are judged in the claims below.", ""]


def build_results(results: Path, out: Path) -> str:
    """The text of RESULTS.md for the folders under ``results`` (links relative to ``out``).

    Parameters
    ----------
    results : path
        The results folder (``results/``), holding any of ``mnist-full``,
        ``mnist-full-paper``, ``fashion-mnist-full``, ``seeds`` and ``depth``.
    out : path
        Where RESULTS.md will be written (image links are relative to its folder).

    Returns
    -------
    str
        The Markdown text; identical for identical folders.
    """
    results = Path(results)
    if not results.is_dir():
        raise DataError(f"'{results}' is not a folder")
    return Builder(results, Path(out)).build()


def write_results(results: Path, out: Path | None = None) -> Path:
    """Write RESULTS.md (default: beside the results folder) and return its path.

    Parameters
    ----------
    results : path
        The results folder.
    out : path, optional
        The Markdown file to write (default ``<parent of results>/RESULTS.md``).

    Returns
    -------
    Path
        The file written.
    """
    from segdend.runs import atomic_write_text

    out = Path(out) if out is not None else Path(results).resolve().parent / "RESULTS.md"
    atomic_write_text(out, build_results(Path(results), out))
    return out
