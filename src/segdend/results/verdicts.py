"""The verdict of one of our numbers or t-tests against the paper's: matches, close or differs.

The rules (also printed in RESULTS.md):

- a number: **matches** if the paper's value lies within our min–max or within
  :data:`MATCH_TOLERANCE` (relative) of our mean; **close** if within :data:`CLOSE_TOLERANCE`;
  **differs** otherwise. A range (``0.2–0.6``): matches if our value lies in it, close if it is
  within :data:`CLOSE_TOLERANCE` of the range's larger end outside it.
- a t-test: **matches** if our t has the paper's sign and the same significance at
  :data:`ALPHA`; **close** if the sign agrees but not the significance, or the sign disagrees
  without significance; **differs** if the sign disagrees and ours is significant.

Our numbers come from a figure's ``summary.json`` rows (numeric fields, or their strings in
summaries written before the numeric fields existed); the paper's from the rows' ``paper``
strings, taken from PAPER.md §0.
"""

from __future__ import annotations

import math
import re
from typing import Any

from segdend.results.formatting import parse_number

ALPHA = 0.05
"""Significance level of every check and verdict."""
MATCH_TOLERANCE = 0.05
"""Relative distance of our mean from the paper's value that still counts as a match."""
CLOSE_TOLERANCE = 0.15
"""Relative distance that counts as close."""


def parse_paper_value(text: str) -> tuple[float, float] | None:
    """The paper's value as an interval.

    Parameters
    ----------
    text : str
        A ``paper`` field: a number (``'8.3'``, ``'≈ 65'``, ``'12 %'``) or a range
        (``'mostly 0.2–0.6'``).

    Returns
    -------
    tuple of float or None
        ``(x, x)`` for a number, ``(low, high)`` for a range, None for a qualitative
        statement.
    """
    text = str(text).strip().replace("−", "-")
    text = re.sub(r"^(≈|~|about|mostly)\s*", "", text)
    single = re.fullmatch(r"(-?\d+(?:\.\d+)?)\s*[%°]?", text)
    if single:
        value = float(single.group(1))
        return value, value
    interval = re.fullmatch(r"(-?\d+(?:\.\d+)?)\s*[–-]\s*(-?\d+(?:\.\d+)?)\s*[%°]?", text)
    if interval:
        low, high = sorted((float(interval.group(1)), float(interval.group(2))))
        return low, high
    return None


def value_numbers(row: dict[str, Any]) -> tuple[float, float, float, int] | None:
    """Our numbers of a summary value row.

    Parameters
    ----------
    row : dict
        A row of a summary's ``values``: numeric ``mean``, ``min``, ``max`` and ``n``, or (in
        summaries written before those existed) the strings ``ours`` and ``spread``
        (``'3.1–3.4 (n = 20)'``).

    Returns
    -------
    tuple or None
        ``(mean, min, max, n)``; None if ``ours`` is not a number.
    """
    if row.get("mean") is not None:
        return (float(row["mean"]), float(row.get("min", row["mean"])),
                float(row.get("max", row["mean"])), int(row.get("n", 1)))
    mean = parse_number(row.get("ours", ""))
    if mean is None:
        return None
    spread = re.fullmatch(r"\s*(-?[\d.]+(?:e-?\d+)?)–(-?[\d.]+(?:e-?\d+)?) \(n = (\d+)\)\s*",
                          str(row.get("spread", "")).replace("−", "-"))
    if spread:
        return mean, float(spread.group(1)), float(spread.group(2)), int(spread.group(3))
    return mean, mean, mean, 1


def value_verdict(ours: tuple[float, float, float, int], paper: tuple[float, float]) -> str:
    """Our value against the paper's (rules in the module docstring).

    Parameters
    ----------
    ours : tuple
        ``(mean, min, max, n)`` of :func:`value_numbers`.
    paper : tuple of float
        The interval of :func:`parse_paper_value`.

    Returns
    -------
    str
        ``matches``, ``close`` or ``differs``.
    """
    mean, low, high, _ = ours
    a, b = paper
    if a == b:
        scale = abs(a) or 1.0
        if low <= a <= high or abs(mean - a) <= MATCH_TOLERANCE * scale:
            return "matches"
        return "close" if abs(mean - a) <= CLOSE_TOLERANCE * scale else "differs"
    if a <= mean <= b:
        return "matches"
    distance = a - mean if mean < a else mean - b
    return "close" if distance <= CLOSE_TOLERANCE * max(abs(a), abs(b)) else "differs"


def parse_paper_test(text: str) -> tuple[float, float] | None:
    """The paper's t-test.

    Parameters
    ----------
    text : str
        A ``paper`` field such as ``'t38 = −71.54, p = 1.2e-41'``.

    Returns
    -------
    tuple of float or None
        ``(t, p)``; None if ``text`` states no t-test.
    """
    match = re.search(r"t\d*\s*=\s*(-?\d+(?:\.\d+)?),\s*p\s*=\s*(\d+(?:\.\d+)?(?:e-?\d+)?)",
                      str(text).replace("−", "-").replace("×10^", "e"))
    return (float(match.group(1)), float(match.group(2))) if match else None


def t_test_numbers(row: dict[str, Any]) -> tuple[float, float] | None:
    """Our t-test of a summary test row.

    Parameters
    ----------
    row : dict
        A row of a summary's ``tests``: numeric ``t_value`` and ``p_value``, or the strings
        ``t`` and ``p``.

    Returns
    -------
    tuple of float or None
        ``(t, p)``; None if either is missing.
    """
    t = row.get("t_value")
    p = row.get("p_value")
    if t is None:
        t = parse_number(row.get("t", ""))
    if p is None:
        p = parse_number(row.get("p", ""))
    return (float(t), float(p)) if t is not None and p is not None else None


def t_test_verdict(ours: tuple[float, float], paper: tuple[float, float]) -> str:
    """Our t-test against the paper's (rules in the module docstring).

    Parameters
    ----------
    ours, paper : tuple of float
        ``(t, p)`` of each.

    Returns
    -------
    str
        ``matches``, ``close`` or ``differs``.
    """
    same_sign = math.copysign(1, ours[0]) == math.copysign(1, paper[0])
    same_significance = (ours[1] < ALPHA) == (paper[1] < ALPHA)
    if same_sign and same_significance:
        return "matches"
    if not same_sign and ours[1] < ALPHA:
        return "differs"
    return "close"


def rules_paragraph() -> list[str]:
    """The verdict rules as RESULTS.md states them.

    Returns
    -------
    list of str
        One Markdown paragraph and an empty line.
    """
    return ["Verdicts: a value **matches** if the paper's value lies within our min–max or "
            f"within {100 * MATCH_TOLERANCE:.0f} % of our mean, is **close** within "
            f"{100 * CLOSE_TOLERANCE:.0f} %, and **differs** otherwise (a range such as "
            "0.2–0.6 matches if our value lies in it). A t-test **matches** if our t has the "
            f"paper's sign and the same significance at p < {ALPHA}, is **close** if only the "
            "sign agrees (or the sign differs without significance), and **differs** if the "
            "sign differs and ours is significant. t > 0: the first-named network has the "
            "higher error. Only values whose paper field is a number or a range are listed; "
            "the paper's qualitative statements are judged in the claims below.", ""]
