"""Shared fixtures: the MNIST fixture, the full MNIST (fetched once), small configs."""

from __future__ import annotations

from pathlib import Path

import pytest

from segdend.config import Config, build_config
from segdend.data import sources
from segdend.data.dataset import Dataset, load_dataset

FIXTURE_DIR = Path(__file__).parent / "data" / "mnist-small"


@pytest.fixture(scope="session")
def small_mnist() -> Dataset:
    """2,000 training and 500 test images of real MNIST, shipped with the tests."""
    arrays = sources.read_idx_dir(FIXTURE_DIR)
    assert arrays is not None
    return Dataset.from_arrays("mnist-small", arrays, str(FIXTURE_DIR))


@pytest.fixture(scope="session")
def mnist() -> Dataset:
    """The full MNIST (fetched and verified on first use)."""
    return load_dataset("mnist")


def tiny_config(*overrides: str, preset: str = "code") -> Config:
    """A small, fast configuration for tests."""
    base = [
        "engine=reference",
        "model.hidden=[20]",
        "train.epochs=1",
        "train.examples=20",
        "test.examples=20",
        "train.quick_test_every=0",
        "train.checkpoint_every=0",
        "phases.test_length=60",
    ]
    return build_config(preset, overrides=[*base, *overrides])
