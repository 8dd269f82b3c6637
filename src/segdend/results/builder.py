"""RESULTS.md as a whole: the :class:`Builder` that lays out its sections, and
:func:`build_results` / :func:`write_results`, which ``segdend results`` calls.

The document, each section present when its folder exists:

- the folders and their state;
- the numbers of PAPER.md §0 beside ours from ``mnist-full`` (code preset), with verdicts
  (:mod:`segdend.results.verdicts`), and the verdict rules;
- the paper's qualitative claims, one verdict column per reproduction folder
  (:mod:`segdend.results.claims`);
- the disagreements probed inside the figures (:mod:`segdend.results.findings`);
- per reproduction folder (``mnist-full``, ``mnist-full-paper``, ``fashion-mnist-full``):
  Fig 6 with the code preset beside the paper preset (``mnist-full-paper`` only), the timings,
  where the time goes (:mod:`segdend.results.timing`) and every figure (networks as run, wall
  time, values, t-tests, thumbnails);
- the ``seeds`` and ``depth`` sweeps (:mod:`segdend.results.sweeps`).

Links and image paths are relative to the folder RESULTS.md is written to.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from segdend.errors import DataError
from segdend.results.claims import CLAIMS, HARMLESS, claim_cell
from segdend.results.findings import findings_section
from segdend.results.formatting import (
    NOT_RUN,
    fmt_number,
    fmt_p,
    fmt_seconds,
    markdown_table,
    parse_number,
)
from segdend.results.presets import preset_differences_section
from segdend.results.reading import (
    FIGURES,
    Summaries,
    figure_wall_seconds,
    load_summaries,
    read_timings,
)
from segdend.results.sweeps import depth_section, seeds_section
from segdend.results.timing import time_section
from segdend.results.verdicts import (
    ALPHA,
    parse_paper_test,
    parse_paper_value,
    rules_paragraph,
    t_test_numbers,
    t_test_verdict,
    value_numbers,
    value_verdict,
)

THUMBNAIL_WIDTH = 240
"""Width in pixels of a figure's PNG thumbnails."""
REPRODUCTIONS = (
    ("mnist-full", "MNIST, full scale, code preset"),
    ("mnist-full-paper", "MNIST, full scale, paper preset"),
    ("fashion-mnist-full", "Fashion-MNIST, full scale, code preset"),
)
"""The reproduction folders under ``results/`` and their titles, in the document's order."""
MAIN = "mnist-full"
"""The reproduction whose numbers are set beside PAPER.md §0."""
SEEDS = "seeds"
"""The sweep folder of the Fig 6 networks over seeds."""
DEPTH = "depth"
"""The sweep folder of the depth investigation."""


class Builder:
    """Builds the text of RESULTS.md.

    Parameters
    ----------
    results : path
        The results folder.
    out : path
        Where RESULTS.md will be written; links are relative to its folder.
    """

    def __init__(self, results: Path, out: Path):
        self.results = Path(results)
        self.base = Path(out).resolve().parent

    def link(self, path: Path) -> str:
        """A path as RESULTS.md links to it.

        Parameters
        ----------
        path : path
            Any file or folder.

        Returns
        -------
        str
            The POSIX path relative to the folder of RESULTS.md.
        """
        return Path(os.path.relpath(Path(path).resolve(), self.base)).as_posix()

    def thumbnails(self, folder: Path) -> str:
        """Every PNG of a folder as an HTML thumbnail linking to the full image.

        Parameters
        ----------
        folder : path
            A figure folder.

        Returns
        -------
        str
            The ``<a><img></a>`` elements, by file name, space-separated; empty if none.
        """
        return " ".join(f'<a href="{self.link(p)}"><img src="{self.link(p)}" '
                        f'width="{THUMBNAIL_WIDTH}" alt="{p.stem}"></a>'
                        for p in sorted(folder.glob("*.png")))

    # ----------------------------------------------------------------- top tables

    def paper_numbers(self, summaries: Summaries) -> list[str]:
        """The numbers of PAPER.md §0 beside ours, with verdicts.

        Parameters
        ----------
        summaries : dict
            Figure name → ``summary.json`` of the main reproduction.

        Returns
        -------
        list of str
            Markdown lines: every value and every t-test whose paper field is a number, a
            range or a t-test, ours beside it, and the verdict of
            :mod:`segdend.results.verdicts`.
        """
        values = []
        for figure in FIGURES:
            for row in summaries.get(figure, {}).get("values", []):
                paper = parse_paper_value(row.get("paper", ""))
                ours = value_numbers(row)
                if paper is None or ours is None:
                    continue
                values.append([figure, row["quantity"], fmt_number(ours[0]),
                               f"{fmt_number(ours[1])}–{fmt_number(ours[2])}", ours[3],
                               row["paper"], value_verdict(ours, paper)])
        tests = []
        for figure in FIGURES:
            for row in summaries.get(figure, {}).get("tests", []):
                paper = parse_paper_test(row.get("paper", ""))
                ours = t_test_numbers(row)
                if paper is None or ours is None:
                    continue
                tests.append([figure, row["comparison"], f"t{row.get('df', '')} = "
                              f"{ours[0]:.2f}", fmt_p(ours[1]), row.get("corrected", ""),
                              row["paper"], t_test_verdict(ours, paper)])
        lines = ["### Values", ""]
        lines += markdown_table(["figure", "quantity", "ours (mean)", "min–max", "n", "paper",
                                 "verdict"], values) if values else [
            f"No figure with a paper value has been run yet ({NOT_RUN}).", ""]
        lines += ["### t-tests (ours against the paper's)", ""]
        lines += markdown_table(["figure", "comparison", "ours", "p", "correction", "paper",
                                 "verdict"], tests) if tests else [
            "No t-test yet (not yet run).", ""]
        return lines

    def claims(self, columns: list[tuple[str, Summaries]]) -> list[str]:
        """The claims table.

        Parameters
        ----------
        columns : list of tuple
            (folder name, its summaries) for each verdict column.

        Returns
        -------
        list of str
            Markdown lines: per claim of :data:`~segdend.results.claims.CLAIMS` its figures,
            its checks and one verdict per column.
        """
        header = ["claim", "figure", "checks", *(f"{name}" for name, _ in columns)]
        rows = []
        for claim in CLAIMS:
            texts = "; ".join(c.text for c in claim.checks({}))
            rows.append([claim.text, ", ".join(claim.figures), texts,
                         *(claim_cell(claim, s) for _, s in columns)])
        return markdown_table(header, rows)

    # ----------------------------------------------------------------- figures

    def figure_sections(self, folder: Path, summaries: Summaries,
                        level: str = "###") -> list[str]:
        """A section per figure of a reproduction folder.

        Parameters
        ----------
        folder : path
            The reproduction folder.
        summaries : dict
            Its figure name → ``summary.json``.
        level : str, optional
            The Markdown heading of each section.

        Returns
        -------
        list of str
            Markdown lines: per figure the networks as run, wall time, values, t-tests and
            thumbnails; :data:`~segdend.results.formatting.NOT_RUN` for a figure not run.
        """
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
            training = (fmt_seconds(train) if networks else
                        "no runs" if networks == [] else "not recorded")
            lines += [f"Wall time of the `segdend reproduce` calls that made it, with the "
                      "interrupted calls they resumed (timings.csv, summed; a call of "
                      "`reproduce all` counts whole): "
                      f"{fmt_seconds(figure_wall_seconds(timings, figure))}, of which "
                      f"this figure's last post-processing {fmt_seconds(own)}; training and "
                      f"per-epoch tests of its runs (metrics.csv, summed): {training}. "
                      f"[summary.json]({self.link(folder / figure / 'summary.json')})", ""]
            if summary.get("values"):
                lines += markdown_table(["quantity", "ours", "spread (min–max)", "paper"],
                                        [[v["quantity"], v["ours"], v["spread"], v["paper"]]
                                         for v in summary["values"]])
            if summary.get("tests"):
                lines += markdown_table(["comparison", "t", "df", "p", "correction", "paper"],
                                        [[t["comparison"], t["t"], t["df"], t["p"],
                                          t["corrected"], t["paper"]]
                                         for t in summary["tests"]])
            thumbs = self.thumbnails(folder / figure)
            if thumbs:
                lines += [thumbs, ""]
        return lines

    def timings_table(self, folder: Path) -> list[str]:
        """Every recorded invocation of ``segdend reproduce`` on a folder.

        Parameters
        ----------
        folder : path
            The reproduction folder.

        Returns
        -------
        list of str
            Markdown lines: the rows of its ``timings.csv``, or a line saying it is absent.
        """
        rows = read_timings(folder)
        if not rows:
            return ["No timings recorded (timings.csv absent).", ""]
        return markdown_table(["started (UTC)", "target", "figures", "runs trained",
                               "runs reused", "workers", "wall time"],
                              [[r.get("started", ""), r.get("target", ""), r.get("figures", ""),
                                r.get("runs_trained", ""), r.get("runs_reused", ""),
                                r.get("workers", ""),
                                fmt_seconds(parse_number(r.get("wall_seconds", "")))]
                               for r in rows])

    # ----------------------------------------------------------------- side by side

    def presets(self, code: Summaries, paper: Summaries) -> list[str]:
        """Fig 6 with the code preset beside Fig 6 with the paper preset.

        Parameters
        ----------
        code, paper : dict
            Figure name → ``summary.json`` of the code-preset and paper-preset reproductions.

        Returns
        -------
        list of str
            Markdown lines: values, t-tests and thumbnails side by side, then the settings
            that separate the presets with what each did alone in the depth investigation
            (:func:`~segdend.results.presets.preset_differences_section`).
        """
        if "fig6" not in paper:
            return [f"Fig 6 with the paper preset: {NOT_RUN}.", ""]
        rows = []
        by_code = {v["quantity"]: v for v in code.get("fig6", {}).get("values", [])}
        for row in paper["fig6"].get("values", []):
            other = by_code.get(row["quantity"])
            rows.append([row["quantity"], _ours(other) if other else NOT_RUN, _ours(row),
                         row["paper"]])
        lines = markdown_table(["quantity", "code preset", "paper preset", "paper"], rows)
        tests_code = {t["comparison"]: t for t in code.get("fig6", {}).get("tests", [])}
        lines += markdown_table(["comparison", "code preset", "paper preset", "paper"],
                                [[t["comparison"], _test_cell(tests_code.get(t["comparison"])),
                                  _test_cell(t), t["paper"]]
                                 for t in paper["fig6"].get("tests", [])])
        thumbs = [self.thumbnails(self.results / name / "fig6")
                  for name in (MAIN, "mnist-full-paper")]
        lines += ["| code preset | paper preset |", "|---|---|",
                  f"| {thumbs[0] or NOT_RUN} | {thumbs[1]} |", ""]
        lines += preset_differences_section(self.results / MAIN, self.results / "mnist-full-paper",
                                            self.results / DEPTH)
        return lines

    # ----------------------------------------------------------------- document

    def build(self) -> str:
        """The whole of RESULTS.md.

        Returns
        -------
        str
            The Markdown text, ending in one newline.
        """
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
        lines += markdown_table(["folder", "what", "state"], folder_rows)
        main = present.get(MAIN, {})
        lines += [f"## The numbers of PAPER.md §0 ({MAIN}, code preset)", ""]
        if MAIN in present:
            lines += self.paper_numbers(main)
        else:
            lines += [f"`{MAIN}`: {NOT_RUN}.", ""]
        lines += rules_paragraph()
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
        lines += ["## Disagreements probed inside the figures", ""]
        lines += findings_section(main)
        for name, title in REPRODUCTIONS:
            if name not in present:
                continue
            folder = self.results / name
            lines += [f"## {title} (`{self.link(folder)}`)", ""]
            if name == "mnist-full-paper":
                lines += ["### Fig 6: code preset beside paper preset", ""]
                lines += self.presets(main, present[name])
            lines += ["### Timings", "", *self.timings_table(folder)]
            lines += ["### Where the time goes", "", *time_section(folder, present[name])]
            lines += self.figure_sections(folder, present[name])
        for name, title in ((SEEDS, "Seeds"), (DEPTH, "Depth investigation")):
            folder = self.results / name
            if folder.is_dir():
                lines += [f"## {title} (`{self.link(folder)}`)", "",
                          *(seeds_section(folder, self.link, self.results / MAIN / "runs")
                            if name == SEEDS else depth_section(folder, self.link))]
        return "\n".join(lines).rstrip() + "\n"


def _ours(row: dict[str, Any]) -> str:
    """Our value of a summary value row with its spread."""
    return f"{row['ours']} ({row['spread']})" if row.get("spread") else str(row["ours"])


def _test_cell(row: dict[str, Any] | None) -> str:
    """A summary test row as ``t<df> = t, p = p``."""
    if row is None:
        return NOT_RUN
    return f"t{row['df']} = {row['t']}, p = {row['p']}"


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
