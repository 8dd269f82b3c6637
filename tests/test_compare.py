"""``segdend compare``: two reproductions number by number, times left out."""

import gzip
import json
import shutil
import subprocess
import sys
from pathlib import Path

from segdend.cli import main
from segdend.results import compare_folders

METRICS = ("epoch,test_error,train_error,seconds,examples\n0,88.69,,13.4,0\n"
           "1,10.43,21.40,47.7,60000\n")


def _reproduction(folder: Path, *, seconds: str = "47.7", wall: float = 353.5) -> Path:
    """A small folder shaped like one ``segdend reproduce`` writes."""
    (folder / "fig6").mkdir(parents=True)
    (folder / "fig6" / "Fig_6B_errors.csv").write_text("epoch,one_hidden\n0,88.1\n1,10.4\n")
    summary = {"figure": "fig6", "values": {"one_hidden": {"mean": 3.15, "n": 20}},
               "train_seconds": wall * 2, "timing": {"wall_seconds": wall, "started": "x"}}
    (folder / "fig6" / "summary.json").write_text(json.dumps(summary))
    (folder / "fig6" / "summary.md").write_text(f"took {wall} s\n")
    run = folder / "runs" / "hidden-500"
    run.mkdir(parents=True)
    (run / "config.toml").write_text('seed = 0\n[model]\nhidden = [500]\n')
    (run / "metrics.csv").write_text(METRICS.replace("47.7", seconds))
    (run / "events.jsonl").write_text(f'{{"time": {wall}}}\n')
    (folder / "timings.csv").write_text(f"started,target,wall_seconds\nx,fig6,{wall}\n")
    return folder


def test_times_are_left_out_and_the_numbers_compared(tmp_path):
    first = _reproduction(tmp_path / "a")
    second = _reproduction(tmp_path / "b", seconds="99.9", wall=1000.0)
    comparison = compare_folders(first, second)
    assert comparison.identical
    assert comparison.compared == ["fig6/Fig_6B_errors.csv", "fig6/summary.json",
                                   "runs/hidden-500/config.toml", "runs/hidden-500/metrics.csv"]
    (second / "runs" / "hidden-500" / "metrics.csv").write_text(
        METRICS.replace("47.7", "99.9").replace("10.43", "10.44"))
    summary = json.loads((second / "fig6" / "summary.json").read_text())
    summary["values"]["one_hidden"]["mean"] = 3.16
    (second / "fig6" / "summary.json").write_text(json.dumps(summary))
    comparison = compare_folders(first, second)
    assert not comparison.identical
    assert comparison.differences == {
        "fig6/summary.json": "values.one_hidden.mean: 3.15 vs 3.16",
        "runs/hidden-500/metrics.csv": "2 rows, 1 of the first 2 differ; first row 2, column "
                                       "test_error: 10.43 vs 10.44",
    }
    assert compare_folders(first, second, rtol=1e-2).identical


def test_gzip_and_plain_forms_and_an_unfinished_run(tmp_path):
    first = _reproduction(tmp_path / "a")
    second = _reproduction(tmp_path / "b")
    csv_path = second / "fig6" / "Fig_6B_errors.csv"
    csv_path.with_name(csv_path.name + ".gz").write_bytes(gzip.compress(csv_path.read_bytes()))
    csv_path.unlink()
    metrics = second / "runs" / "hidden-500" / "metrics.csv"
    metrics.write_text("".join(metrics.read_text().splitlines(keepends=True)[:2]))
    comparison = compare_folders(first, second)
    assert "fig6/Fig_6B_errors.csv" not in comparison.differences
    assert comparison.differences == {
        "runs/hidden-500/metrics.csv": "2 vs 1 rows, the first 1 identical"}


def test_files_on_one_side_are_listed_not_failed(tmp_path):
    first = _reproduction(tmp_path / "a")
    second = _reproduction(tmp_path / "b")
    shutil.copytree(first / "fig6", first / "fig7")
    comparison = compare_folders(first, second)
    assert comparison.identical
    assert comparison.only_in_first == ["fig7/Fig_6B_errors.csv", "fig7/summary.json"]
    assert "only in A (2 files): fig7/Fig_6B_errors.csv, fig7/summary.json" in \
        comparison.lines("A", "B")
    (first / "fig7" / "summary.json").unlink()
    assert "only in A (1 file): fig7/Fig_6B_errors.csv" in compare_folders(first, second).lines("A")


def test_cli_exit_status_and_one_line_errors(tmp_path, capsys):
    first = _reproduction(tmp_path / "a")
    second = _reproduction(tmp_path / "b")
    assert main(["compare", str(first), str(second)]) == 0
    assert "compared 4 files: 4 identical, 0 differ" in capsys.readouterr().out
    (second / "fig6" / "Fig_6B_errors.csv").write_text("epoch,one_hidden\n0,88.1\n1,10.5\n")
    assert main(["compare", str(first), str(second)]) == 1
    assert "differs  fig6/Fig_6B_errors.csv" in capsys.readouterr().out
    assert main(["compare", str(first), str(tmp_path / "none")]) == 2
    error = capsys.readouterr().err.strip()
    assert error == f"segdend: error: '{tmp_path / 'none'}' is not a folder"
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["compare", str(first), str(empty)]) == 1  # nothing compared is no agreement
    (second / "fig6" / "summary.json").write_text("{not json")
    assert main(["compare", str(first), str(second)]) == 2
    assert "summary.json' is unreadable" in capsys.readouterr().err


def test_output_into_a_closed_pipe_is_no_traceback(tmp_path):
    """``segdend compare A B | head -1``: the reader closes the pipe early."""
    folders = [_reproduction(tmp_path / name) for name in ("a", "b")]
    for value, folder in enumerate(folders):
        for index in range(2000):
            (folder / f"f{index}.csv").write_text(f"a\n{value}\n")
    result = subprocess.run(f"{sys.executable} -m segdend compare {folders[0]} {folders[1]} "
                            "| head -1", shell=True, capture_output=True, text=True, check=False)
    assert result.stdout.startswith("compared 2004 files: 4 identical, 2000 differ")
    assert "Traceback" not in result.stderr, result.stderr


def test_run_configs_are_compared_with_their_defaults_filled_in(tmp_path):
    """A config.toml written before a key existed (here record.voltage_every, added with the
    training-voltage recorder) is the same configuration as one that writes the key at its
    default; a changed value still differs."""
    from segdend.config import build_config, dump_toml

    first = _reproduction(tmp_path / "a")
    second = _reproduction(tmp_path / "b")
    full = dump_toml(build_config(settings={"model.hidden": [500]}))
    assert "voltage_every = 1" in full
    older = "".join(line for line in full.splitlines(keepends=True)
                    if not line.startswith(("voltage_every", "voltages", "voltage_examples")))
    (first / "runs" / "hidden-500" / "config.toml").write_text(older)
    (second / "runs" / "hidden-500" / "config.toml").write_text(full)
    assert compare_folders(first, second).identical
    (second / "runs" / "hidden-500" / "config.toml").write_text(
        full.replace("voltage_every = 1", "voltage_every = 5"))
    assert compare_folders(first, second).differences == {
        "runs/hidden-500/config.toml": "record.voltage_every: 1 vs 5"}
