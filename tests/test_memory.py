"""Recorders stream to disk: a 5-epoch run needs no more memory than a 1-epoch run (+5 %)."""

from __future__ import annotations

import csv
import subprocess
import sys

import pytest

PEAK_RSS = """
import resource, sys
from segdend.cli import main
code = main(sys.argv[1:])
print("PEAK_KIB", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
sys.exit(code)
"""


def _train(run_dir, epochs: int) -> int:
    """Peak resident memory (KiB) of a full-MNIST rate-mode run with every cheap recorder on."""
    settings = [
        "engine=fast", "model.mode=rate", "model.hidden=[500]", f"train.epochs={epochs}",
        "test.examples=10000", "train.quick_test_every=0", "record.losses=true",
        "record.backprop_angle=true",
    ]
    args = [sys.executable, "-c", PEAK_RSS, "train", "--quiet", "--run-dir", str(run_dir)]
    for setting in settings:
        args += ["--set", setting]
    done = subprocess.run(args, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr
    return int(done.stdout.split("PEAK_KIB")[-1].split()[0])


@pytest.mark.slow
@pytest.mark.mnist
def test_five_epochs_need_no_more_memory_than_one(tmp_path, mnist):
    one = _train(tmp_path / "one", 1)
    five = _train(tmp_path / "five", 5)
    with open(tmp_path / "five" / "recordings" / "losses.csv") as handle:
        rows = sum(1 for _ in csv.reader(handle)) - 1
    assert rows == 5 * 60_000  # every example of every epoch was recorded
    assert five <= 1.05 * one, f"peak RSS {five} KiB after 5 epochs vs {one} KiB after 1"
