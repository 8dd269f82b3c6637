"""User-facing errors: each one is printed by the CLI as a single line, without a traceback."""


class SegdendError(Exception):
    """An error caused by the user's input (a file, a config key, a value), not by a bug."""


class DataError(SegdendError):
    """A data file is missing, truncated, corrupt or fails its checksum."""


class ConfigError(SegdendError):
    """A config key is unknown, or its value has the wrong type or is out of range."""


class RunError(SegdendError):
    """A run directory cannot be created, resumed or read."""


class RunInUseError(RunError):
    """A run directory is locked by another live process (``pid``)."""

    def __init__(self, message: str, pid: int = 0):
        super().__init__(message)
        self.pid = pid


class DivergenceError(RunError):
    """A potential or a weight became NaN or infinite during training."""
