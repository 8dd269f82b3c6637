"""Progress bars for long work (tqdm); silent when output is not a terminal or with --quiet."""

from __future__ import annotations

import sys

from tqdm import tqdm


class Progress:
    """A context-managed progress bar that is a no-op when disabled."""

    def __init__(self, total: int, label: str, quiet: bool = False, unit: str = "ex",
                 initial: int = 0):
        enabled = not quiet and sys.stderr.isatty()
        self.bar = (
            tqdm(total=total, desc=label, unit=unit, initial=initial, leave=False,
                 dynamic_ncols=True, file=sys.stderr)
            if enabled else None
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
