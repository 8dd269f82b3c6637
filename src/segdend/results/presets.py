"""Why the two presets differ: the settings that separate the paper preset from the code
preset (read from the committed runs' ``config.toml``), each beside what it did alone in the
depth investigation (``results/depth``, one factor at a time against the code preset).

This is the RESULTS.md paragraph under "Fig 6: code preset beside paper preset"; every number
in it is computed from committed files.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from segdend.config import ACTS_ONLY_WHEN, dotted_keys
from segdend.results.formatting import markdown_table
from segdend.results.sweeps import DepthTable, _by_depth, _value, depth_table

IGNORED_SECTIONS = ("preset", "record.")
"""Keys that name the preset or only choose what is recorded: not a difference of the model."""


def config_differences(code_config: Path, paper_config: Path) -> list[tuple[str, Any, Any]]:
    """The settings in which two run configurations differ.

    Parameters
    ----------
    code_config, paper_config : path
        Two runs' ``config.toml``.

    Returns
    -------
    list of (key, code value, paper value)
        Sorted by key; the preset's name and the ``record`` section are left out, and a key
        missing on one side counts as a difference.
    """
    with code_config.open("rb") as f:
        code = dotted_keys(tomllib.load(f))
    with paper_config.open("rb") as f:
        paper = dotted_keys(tomllib.load(f))
    keys = sorted(k for k in set(code) | set(paper)
                  if not any(k == s or k.startswith(s) for s in IGNORED_SECTIONS))
    return [(k, code.get(k), paper.get(k)) for k in keys if code.get(k) != paper.get(k)]


def matching_pairs(code_folder: Path, paper_folder: Path) -> list[tuple[Path, Path]]:
    """Run directories with the same name under both folders' ``runs/`` (same network,
    different preset), in name order."""
    pairs = []
    for paper_run in sorted((paper_folder / "runs").glob("*/config.toml")):
        code_run = code_folder / "runs" / paper_run.parent.name / "config.toml"
        if code_run.is_file():
            pairs.append((code_run, paper_run))
    return pairs


def single_factor_changes(depth: DepthTable, key: str, value: Any) -> dict[str, float] | None:
    """What setting ``key`` to ``value`` alone did in the depth investigation.

    Returns
    -------
    dict or None
        Network name → the factor's final error minus the baseline's (percentage points), for
        the networks where both finished; None if the sweep has no such factor.
    """
    base = depth.rows.get(depth.order[0], {}) if depth.order else {}
    for label in depth.order[1:]:
        overrides = depth.overrides[label]
        if list(overrides) == [key] and _value(overrides[key]) == _value(value):
            return {network: float(result["mean"]) - float(base[network]["mean"])
                    for network, result in depth.rows[label].items()
                    if result is not None and base.get(network) is not None}
    return None


def preset_differences_section(code_folder: Path, paper_folder: Path,
                               depth_folder: Path) -> list[str]:
    """The settings that separate the presets, each with its single-factor effect.

    Parameters
    ----------
    code_folder, paper_folder : path
        The code-preset and paper-preset reproduction folders (``results/mnist-full`` and
        ``results/mnist-full-paper``).
    depth_folder : path
        The depth sweep folder; may be absent.

    Returns
    -------
    list of str
        Markdown lines: a table of the differing settings with the change in final error each
        one made alone (20 epochs, code preset otherwise), and a sentence naming the largest.
        Empty if no run exists in both folders.
    """
    pairs = matching_pairs(code_folder, paper_folder)
    if not pairs:
        return []
    differences: dict[str, tuple[Any, Any]] = {}
    used: dict[str, bool] = {}
    for code_run, paper_run in pairs:
        with paper_run.open("rb") as f:
            paper_config = dotted_keys(tomllib.load(f))
        for key, code_value, paper_value in config_differences(code_run, paper_run):
            differences.setdefault(key, (code_value, paper_value))
            condition = ACTS_ONLY_WHEN.get(key)
            used[key] = used.get(key, False) or condition is None \
                or paper_config.get(condition[0]) in condition[1]
    if not differences:
        return ["The runs' config.toml are the same in both folders (apart from the preset's "
                "name and what is recorded).", ""]
    depth = (depth_table(depth_folder) if depth_folder.is_dir()
             else DepthTable(None, {}, [], {}, 0, 0))
    changes = {key: single_factor_changes(depth, key, paper) if depth.order else None
               for key, (_, paper) in differences.items()}
    networks = sorted({n for c in changes.values() if c for n in c}, key=_by_depth)
    width = max(len(networks), 1)
    rows = []
    for key, (code_value, paper_value) in differences.items():
        change = changes[key]
        if not used[key]:
            condition = ACTS_ONLY_WHEN[key]
            change = None
            cells = [f"unused by these networks (acts only with {condition[0]} = "
                     + " or ".join(str(v) for v in condition[1]) + ")"]
        else:
            cells = (["not in the depth investigation"] if change is None else
                     [f"{change[n]:+.2f}" if n in change else "—" for n in networks])
        cells = (cells + [""] * width)[:width]
        rows.append([f"`{key}`", _value(code_value), _value(paper_value), *cells])
    header = ["setting", "code preset", "paper preset",
              *([f"{n}: change alone (points)" for n in networks] or ["change alone"])]
    lines = ["What separates the presets (the runs' config.toml, compared key by key), and "
             "what each setting did alone in the depth investigation (20 epochs, code preset "
             "otherwise; final error minus the baseline's):", ""]
    lines += markdown_table(header, rows)
    measured = {k: c for k, c in changes.items() if c}
    if measured:
        def worst(key: str) -> float:
            return max(measured[key].values())

        largest = max(measured, key=worst)
        others = [k for k in measured if k != largest]
        text = (f"Of the settings measured alone, `{largest} = "
                f"{_value(differences[largest][1])}` raises the error most ("
                + ", ".join(f"{n}: {measured[largest][n]:+.2f}"
                            for n in networks if n in measured[largest]) + " points)")
        if others:
            text += ("; the others move it by at most "
                     f"{max(abs(v) for k in others for v in measured[k].values()):.2f} points")
        unmeasured = [k for k in differences if changes[k] is None and used[k]]
        text += "." + (" Not measured alone: " + ", ".join(f"`{k}`" for k in unmeasured) + "."
                       if unmeasured else "")
        lines += [text, ""]
    return lines
