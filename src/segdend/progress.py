"""Progress bars for long work (``tqdm.auto``: a terminal bar, or a widget in Jupyter).

A bar is shown when stderr is a terminal or the code runs in a Jupyter kernel, unless it is
switched off (``--quiet``, or ``progress=False`` in the Python API).
"""

from __future__ import annotations

import sys

from tqdm.auto import tqdm


def in_notebook() -> bool:
    """Whether the code runs in a Jupyter (IPython kernel) session."""
    shell = sys.modules.get("IPython")
    if shell is None:
        return False
    try:
        ip = shell.get_ipython()  # type: ignore[attr-defined]
    except AttributeError:
        return False
    return ip is not None and "IPKernelApp" in getattr(ip, "config", {})


def bars_wanted(quiet: bool = False) -> bool:
    """Whether a progress bar can be seen: not quiet, and a terminal or a notebook."""
    return not quiet and (sys.stderr.isatty() or in_notebook())


class Progress:
    """A context-managed progress bar that is a no-op when disabled."""

    def __init__(self, total: int, label: str, quiet: bool = False, unit: str = "ex",
                 initial: int = 0):
        self.bar = (
            tqdm(total=total, desc=label, unit=unit, initial=initial, leave=False,
                 dynamic_ncols=True, file=sys.stderr)
            if bars_wanted(quiet) else None
        )

    def update(self, n: int = 1) -> None:
        """Advance by ``n``."""
        if self.bar is not None:
            self.bar.update(n)

    def note(self, text: str) -> None:
        """Show a short status beside the bar."""
        if self.bar is not None:
            self.bar.set_postfix_str(text, refresh=False)

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.close()
