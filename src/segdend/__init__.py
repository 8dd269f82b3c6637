"""segdend: the segregated-dendrites deep-learning model of Guerguiev, Lillicrap & Richards (2017).

The specification is the paper's fact sheet (``PAPER.md``); equation numbers in docstrings
refer to the eLife version of record.

The public API is what ``__all__`` lists; names are imported on first use, so that
``import segdend`` stays fast (the compiled engine loads only when a network runs)::

    import segdend

    mnist = segdend.load_dataset("mnist")
    net = segdend.Network(hidden=[500], preset="code", seed=1)
    net.fit(mnist, epochs=1)
    net.test_error(mnist)
    net.simulate(mnist.test_images[0], label=7).plot()
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: Public name → the module that defines it.
_EXPORTS = {
    "Network": "segdend.network",
    "Simulation": "segdend.simulation",
    "Run": "segdend.run",
    "read_table": "segdend.run",
    "Config": "segdend.config",
    "build_config": "segdend.config",
    "load_config": "segdend.config",
    "Dataset": "segdend.data.dataset",
    "load_dataset": "segdend.data.dataset",
    "NetworkParams": "segdend.model.params",
    "reproduce": "segdend.experiments.reproduce",
    "run_sweep": "segdend.sweep",
    "run_plasticity": "segdend.plasticity",
    "run_bench": "segdend.bench",
    "write_report": "segdend.report",
    "import_original": "segdend.original",
    "export_original": "segdend.original",
    "SegdendError": "segdend.errors",
    "ConfigError": "segdend.errors",
    "DataError": "segdend.errors",
    "RunError": "segdend.errors",
    "DivergenceError": "segdend.errors",
}

__all__ = [
    "Config",
    "ConfigError",
    "DataError",
    "Dataset",
    "DivergenceError",
    "Network",
    "NetworkParams",
    "Run",
    "RunError",
    "SegdendError",
    "Simulation",
    "build_config",
    "export_original",
    "import_original",
    "load_config",
    "load_dataset",
    "read_table",
    "reproduce",
    "run_bench",
    "run_plasticity",
    "run_sweep",
    "write_report",
]
assert sorted(_EXPORTS) == __all__  # one list of public names


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'segdend' has no attribute '{name}'")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])


if TYPE_CHECKING:
    from segdend.bench import run_bench
    from segdend.config import Config, build_config, load_config
    from segdend.data.dataset import Dataset, load_dataset
    from segdend.errors import ConfigError, DataError, DivergenceError, RunError, SegdendError
    from segdend.experiments.reproduce import reproduce
    from segdend.model.params import NetworkParams
    from segdend.network import Network
    from segdend.original import export_original, import_original
    from segdend.plasticity import run_plasticity
    from segdend.report import write_report
    from segdend.run import Run, read_table
    from segdend.simulation import Simulation
    from segdend.sweep import run_sweep
