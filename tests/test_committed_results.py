"""The committed full-scale results are what their configs produce (issue 14).

Runs are deterministic (counter-based random numbers), so retraining the first epoch of a
committed network from its ``config.toml`` must give the same test errors, digit for digit, as its
committed ``metrics.csv``. The 784-10 network of Fig 6 is retrained: one 60,000-example epoch and
two 10,000-image tests take a few seconds with the fast engine.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import segdend
from segdend.config import load_config

REPO = Path(__file__).resolve().parents[1]
RUN = REPO / "results" / "mnist-full" / "runs" / "hidden-none_epochs-60_examples-60000"


@pytest.mark.mnist
def test_a_committed_network_retrains_to_its_committed_metrics(tmp_path):
    assert (RUN / "config.toml").is_file(), f"{RUN} is not committed"
    committed = segdend.Run(RUN).metrics
    config = load_config(RUN / "config.toml")
    assert config.train.epochs == 60 and config.model.hidden == []
    net = segdend.Network(config=config, settings={"train.epochs": 1})
    net.fit(run_dir=tmp_path / "again", progress=False)
    again = net.history_
    assert again["epoch"].tolist() == [0, 1]
    assert again["test_error"].tolist() == committed["test_error"].iloc[:2].tolist()
    assert again["train_error"].iloc[1] == committed["train_error"].iloc[1]
