"""Simulation engines: ``reference`` (NumPy, the oracle) and ``fast`` (compiled)."""

from __future__ import annotations

from segdend.config import Config
from segdend.engines.base import Engine
from segdend.errors import ConfigError


def fast_engine_available() -> bool:
    """Whether the compiled engine can be imported (Numba installed and working)."""
    try:
        from segdend.engines import fast  # noqa: F401
    except ImportError:
        return False
    return True


def resolve_engine_name(config: Config) -> str:
    """``auto`` means the fastest engine available."""
    if config.engine == "auto":
        return "fast" if fast_engine_available() else "reference"
    return config.engine


def make_engine(config: Config) -> Engine:
    """Create the engine named in ``config.engine``."""
    name = resolve_engine_name(config)
    if name == "reference":
        from segdend.engines.reference import ReferenceEngine

        return ReferenceEngine(config)
    if name == "fast":
        if not fast_engine_available():
            raise ConfigError("engine = 'fast' needs Numba, which cannot be imported here")
        from segdend.engines.fast import FastEngine

        return FastEngine(config)
    raise ConfigError(f"unknown engine '{name}'")
