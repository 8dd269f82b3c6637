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


def tiny_reproduce_script(epochs: int, examples: int) -> str:
    """A script that runs ``reproduce TARGET`` into OUT at a tiny scale on the MNIST fixture.

    Arguments: TARGET OUT [PRESET [WORKERS]]. Every figure's run has ``epochs`` epochs of
    ``examples`` examples (Fig 8S1 and Fig 7A one epoch), ``examples`` test images and two
    repeated tests.
    """
    return f"""
import sys
from pathlib import Path

if __name__ == "__main__":
    import segdend.experiments.spec as spec

    spec.SCALES["quick"] = spec.Scale("quick", epochs={epochs}, examples={examples},
                                      test_examples={examples}, repeats=2, short_epochs=1,
                                      angle_epochs=1, jacobian_examples={examples},
                                      tsne_examples={examples})
    from segdend.experiments.reproduce import reproduce

    preset = sys.argv[3] if len(sys.argv) > 3 else "code"
    workers = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    reproduce(sys.argv[1], "quick", workers, Path(sys.argv[2]),
              data_dir=Path({str(FIXTURE_DIR)!r}), preset=preset)
"""
