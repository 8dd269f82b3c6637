"""Numbers as RESULTS.md writes them, and reads them back: values, p-values, durations,
network names and Markdown tables.

Every number in RESULTS.md goes through :func:`fmt_number`, :func:`fmt_p` or
:func:`fmt_seconds`, every table through :func:`markdown_table`, so the whole document has one
fixed form; :func:`parse_number` reads the strings that ``summary.json`` and the CSVs hold.
"""

from __future__ import annotations

import math

NOT_RUN = "not yet run"
"""What a cell, check or section says when its figure, folder or run has not been run."""


def fmt_number(value: float | None) -> str:
    """A number in a fixed, readable form.

    Parameters
    ----------
    value : float or None
        The number.

    Returns
    -------
    str
        ``–`` for None or a non-finite float; otherwise two significant decimals in exponent
        form below 1e-3, one decimal from 100, two from 1, three below 1.
    """
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    value = float(value)
    if value != 0 and abs(value) < 1e-3:
        return f"{value:.2e}"
    if abs(value) >= 100:
        return f"{value:.1f}"
    if abs(value) >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"


def fmt_p(value: float | None) -> str:
    """A p-value.

    Parameters
    ----------
    value : float or None
        The p-value.

    Returns
    -------
    str
        ``–`` for None, exponent form below 1e-3, else three decimals.
    """
    if value is None:
        return "–"
    return f"{value:.2e}" if value < 1e-3 else f"{value:.3f}"


def fmt_seconds(value: float | None) -> str:
    """A duration as s, min or h.

    Parameters
    ----------
    value : float or None
        Seconds.

    Returns
    -------
    str
        Hours from 3600 s, minutes from 60 s, else seconds; ``not recorded`` for None.
    """
    if value is None:
        return "not recorded"
    if value >= 3600:
        return f"{value / 3600:.2f} h"
    if value >= 60:
        return f"{value / 60:.1f} min"
    return f"{value:.0f} s"


def parse_number(text: str) -> float | None:
    """A float from a summary or CSV string.

    Parameters
    ----------
    text : str
        Such as ``'3.15'``, ``'−10.20'`` (typographic minus) or ``'2.50e-58'``.

    Returns
    -------
    float or None
        The number, or None if ``text`` is not one.
    """
    try:
        return float(str(text).strip().replace("−", "-"))
    except ValueError:
        return None


def network_name(hidden: list[int]) -> str:
    """A network's layer sizes as the paper writes them.

    Parameters
    ----------
    hidden : list of int
        Hidden-layer sizes.

    Returns
    -------
    str
        Such as ``784-500-10`` (MNIST input and output around the hidden layers).
    """
    return "-".join(str(n) for n in [784, *hidden, 10])


def _cell(text: object) -> str:
    """A table cell: pipes escaped, line breaks flattened."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def markdown_table(header: list[str], rows: list[list[object]]) -> list[str]:
    """A Markdown table.

    Parameters
    ----------
    header : list of str
        The column names.
    rows : list of list
        The cells, converted with ``str`` (pipes escaped, line breaks flattened).

    Returns
    -------
    list of str
        The table's lines followed by one empty line.
    """
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return [*lines, ""]
