"""``segdend report DIR``: one self-contained HTML file for a run or a reproduction.

Everything is inside the file: figures as PNG data URIs, tables as HTML, CSS inline, so the
report can be mailed or archived alone. A small inline script checks that every figure decoded
(``#image-check``), which the browser test reads back from headless Chromium.

- A reproduction folder (``reproduction.json``, written by ``segdend reproduce``): for each
  figure its summary tables (ours against PAPER.md §0), notes, PNGs and CSV files.
- A run directory (``config.toml``): its test-error curve, metrics, repeated tests and config.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import json
from pathlib import Path
from typing import Any

from segdend import csvio
from segdend.errors import DataError, SegdendError
from segdend.runs import atomic_write_text

STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; color: #222; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #ccc; padding-bottom: .2em; }
table { border-collapse: collapse; margin: .8em 0; font-size: .9em; }
th, td { border: 1px solid #ccc; padding: .25em .6em; text-align: left; vertical-align: top; }
th { background: #f2f2f2; } img { max-width: 100%; display: block; margin: .6em 0; }
.muted { color: #666; font-size: .9em; } pre { background: #f7f7f7; padding: .8em; }
"""

CHECK_SCRIPT = """
window.addEventListener('load', function () {
  var images = Array.prototype.slice.call(document.images);
  var ok = images.filter(function (i) { return i.complete && i.naturalWidth > 0; }).length;
  document.getElementById('image-check').textContent =
      'images decoded: ' + ok + ' of ' + images.length;
});
"""


def _table(header: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>"
                   for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _image(data: bytes, alt: str) -> str:
    encoded = base64.b64encode(data).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{encoded}">'


def _page(title: str, body: list[str]) -> str:
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>"
            f"<h1>{html.escape(title)}</h1>" + "\n".join(body)
            + '<p class="muted" id="image-check">images not checked</p>'
            f"<script>{CHECK_SCRIPT}</script></body></html>\n")


def figure_section(folder: Path) -> list[str]:
    """The HTML of one reproduced figure (from its summary.json, PNGs and CSVs)."""
    try:
        summary = json.loads((folder / "summary.json").read_text())
    except (OSError, ValueError) as error:
        raise DataError(f"'{folder / 'summary.json'}' is unreadable: {error}") from None
    parts = [f"<h2 id=\"{html.escape(folder.name)}\">{html.escape(summary['title'])}</h2>"]
    if summary.get("values"):
        parts.append(_table(["quantity", "ours", "spread (min–max)", "paper"],
                            [[v["quantity"], v["ours"], v["spread"], v["paper"]]
                             for v in summary["values"]]))
    if summary.get("tests"):
        parts.append(_table(["comparison", "t", "df", "p", "correction", "paper"],
                            [[t["comparison"], t["t"], t["df"], t["p"], t["corrected"],
                              t["paper"]] for t in summary["tests"]]))
    parts += [f"<p class=\"muted\">{html.escape(note)}</p>" for note in summary.get("notes", [])]
    for png in sorted(folder.glob("*.png")):
        parts.append(_image(png.read_bytes(), png.stem))
    csvs = csvio.csv_files(folder)
    if csvs:
        parts.append(_table(["source-data file", "data rows"],
                            [[p.name, csvio.count_rows(p)] for p in csvs]))
    return parts


def reproduction_report(directory: Path) -> str:
    """HTML of a reproduction folder."""
    from segdend.experiments.reproduce import FIGURE_NAMES, MANIFEST

    manifest = json.loads((directory / MANIFEST).read_text())
    folders = [directory / name for name in FIGURE_NAMES
               if (directory / name / "summary.json").is_file()]
    if not folders:
        raise DataError(f"'{directory}' holds no reproduced figure yet (no */summary.json)")
    body = [f"<p>Data set <b>{html.escape(manifest.get('dataset', '?'))}</b>, scale "
            f"<b>{html.escape(manifest.get('scale', '?'))}</b>, preset "
            f"<b>{html.escape(manifest.get('preset', '?'))}</b>. Paper values: PAPER.md §0 "
            "(Guerguiev, Lillicrap &amp; Richards, eLife 2017).</p>",
            "<p>" + " · ".join(f'<a href="#{f.name}">{f.name}</a>' for f in folders) + "</p>"]
    for folder in folders:
        body += figure_section(folder)
    return _page("segdend reproduction", body)


def _metrics(run_dir: Path) -> list[dict[str, str]]:
    try:
        with csvio.open_csv(run_dir / "metrics.csv") as handle:
            return list(csv.DictReader(handle))
    except OSError as error:
        raise DataError(f"'{run_dir / 'metrics.csv'}' is unreadable: {error.strerror}") from None


def _finished(run_dir: Path, rows: list[dict[str, str]]) -> bool:
    """Finished: params.npz exists, or (a committed copy without parameters) metrics.csv reaches
    the configured number of epochs."""
    if (run_dir / "params.npz").is_file():
        return True
    from segdend.config import load_config

    try:
        epochs = load_config(run_dir / "config.toml").train.epochs
    except SegdendError:
        return False
    return bool(rows) and rows[-1].get("epoch", "") == str(epochs)


def _curve_png(rows: list[dict[str, str]]) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.4))
    epochs = [int(r["epoch"]) for r in rows]
    ax.plot(epochs, [float(r["test_error"]) for r in rows], marker="o", label="test")
    train = [(int(r["epoch"]), float(r["train_error"])) for r in rows if r.get("train_error")]
    if train:
        ax.plot(*zip(*train, strict=True), marker="o", label="training")
    ax.set_xlabel("epoch")
    ax.set_ylabel("error (%)")
    ax.legend(frameon=False)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    return buffer.getvalue()


def run_report(run_dir: Path) -> str:
    """HTML of one run directory."""
    rows = _metrics(run_dir)
    body = [f"<p>Run directory <code>{html.escape(str(run_dir))}</code>; "
            f"{'finished' if _finished(run_dir, rows) else 'unfinished'}.</p>"]
    if rows:
        body.append(_image(_curve_png(rows), "test error per epoch"))
        body.append(_table(["epoch", "test error (%)", "training error (%)", "seconds"],
                           [[r["epoch"], r["test_error"], r.get("train_error", ""),
                             r.get("seconds", "")] for r in rows]))
    if any((run_dir / name).is_file() for name in ("repeated_tests.csv",
                                                    "repeated_tests.csv.gz")):
        from segdend.analysis.stats import summarise
        from segdend.evaluate import read_repeated_tests

        s = summarise(read_repeated_tests(run_dir))
        body.append(_table(["repeated tests", "mean (%)", "sd", "min", "max"],
                           [[s["n"], f"{s['mean']:.2f}", f"{s['sd']:.2f}", f"{s['min']:.2f}",
                             f"{s['max']:.2f}"]]))
    body.append("<h2>Configuration</h2><pre>"
                + html.escape((run_dir / "config.toml").read_text()) + "</pre>")
    return _page(f"segdend run {run_dir.name}", body)


def write_report(directory: Path, out: Path | None = None) -> Path:
    """Write ``report.html`` for a run or a reproduction and return its path."""
    from segdend.experiments.reproduce import MANIFEST

    directory = Path(directory)
    if (directory / MANIFEST).is_file():
        text = reproduction_report(directory)
    elif (directory / "config.toml").is_file():
        text = run_report(directory)
    else:
        raise DataError(f"'{directory}' is neither a run directory (config.toml) nor a "
                        "reproduction (reproduction.json)")
    path = Path(out) if out is not None else directory / "report.html"
    atomic_write_text(path, text)
    return path
