"""The paper's qualitative claims and how each is judged from the figures' summaries.

A :class:`Claim` is a statement of the paper, the figures that show it and a function from
the summaries (figure name → ``summary.json``) to a list of :class:`Check`. The checks are
built from :func:`lower`, :func:`no_worse`, :func:`not_significantly_worse` and
:func:`compare`, which read the summaries' ``measures`` and ``tests``. A claim **holds** if
every check passes, **partly** if at least one does, **does not hold** if none does
(:func:`claim_verdict`). :data:`CLAIMS` is the list RESULTS.md judges.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from segdend.results.formatting import NOT_RUN, fmt_number, fmt_p
from segdend.results.reading import Summaries
from segdend.results.verdicts import ALPHA, t_test_numbers

HARMLESS = 0.05
"""Relative increase of the mean error that still counts as 'no harm' / 'no difference'."""

@dataclass(frozen=True)
class Check:
    """One test of a claim against the data: what it asks, whether it passed, the numbers."""

    text: str
    passed: bool | None
    """None: its figure has not been run (or its summary lacks the quantity)."""
    evidence: str


def _measure(summary: dict[str, Any] | None, key: str) -> float | None:
    """A named number of a summary's ``measures`` (None if absent or null)."""
    if summary is None:
        return None
    value = summary.get("measures", {}).get(key)
    return None if value is None else float(value)


def _final_errors(summary: dict[str, Any] | None, a: str,
                  b: str) -> tuple[float | None, float | None]:
    """The mean final errors of networks ``a`` and ``b`` (``final_error.<label>`` measures)."""
    return _measure(summary, f"final_error.{a}"), _measure(summary, f"final_error.{b}")


def _missing(summary: dict[str, Any] | None, figure: str) -> str:
    """The evidence of a check that could not be computed."""
    return f"{figure} {NOT_RUN}" if summary is None else (
        f"{figure}: quantity missing from summary.json (rerun segdend reproduce {figure})")


def _find_test(summary: dict[str, Any], a: str, b: str) -> tuple[float, float] | None:
    """(t, p) with t > 0 meaning ``a`` has the higher error."""
    for row in summary.get("tests", []):
        pair = (row.get("a"), row.get("b"))
        numbers = t_test_numbers(row)
        if numbers is None:
            continue
        if pair == (a, b):
            return numbers
        if pair == (b, a):
            return -numbers[0], numbers[1]
    return None


def lower(summaries: Summaries, figure: str, a: str, b: str, text: str) -> Check:
    """Check: network ``a`` has a significantly lower final error than ``b``.

    Parameters
    ----------
    summaries : dict
        Figure name → ``summary.json``.
    figure : str
        The figure whose runs are compared.
    a, b : str
        Network labels of the figure (its ``final_error.<label>`` measures and ``tests``).
    text : str
        What the check asks, as RESULTS.md lists it.

    Returns
    -------
    Check
        Passed if ``a``'s mean is lower and the t-test significant at
        :data:`~segdend.results.verdicts.ALPHA`; ``passed`` None if not computable.
    """
    summary = summaries.get(figure)
    mean_a, mean_b = _final_errors(summary, a, b)
    test = _find_test(summary, a, b) if summary is not None else None
    if mean_a is None or mean_b is None or test is None:
        return Check(text, None, _missing(summary, figure))
    passed = mean_a < mean_b and test[1] < ALPHA
    return Check(text, passed, f"{fmt_number(mean_a)} vs {fmt_number(mean_b)} %, "
                               f"t = {test[0]:.2f}, p = {fmt_p(test[1])}")


def no_worse(summaries: Summaries, figure: str, a: str, b: str, text: str) -> Check:
    """Check: ``a``'s mean error exceeds ``b``'s by at most :data:`HARMLESS` (relative).

    Parameters
    ----------
    summaries : dict
        Figure name → ``summary.json``.
    figure : str
        The figure whose runs are compared.
    a, b : str
        Network labels of the figure.
    text : str
        What the check asks.

    Returns
    -------
    Check
        ``passed`` None if either mean is missing.
    """
    summary = summaries.get(figure)
    mean_a, mean_b = _final_errors(summary, a, b)
    if mean_a is None or mean_b is None:
        return Check(text, None, _missing(summary, figure))
    return Check(text, mean_a <= mean_b * (1 + HARMLESS),
                 f"{fmt_number(mean_a)} vs {fmt_number(mean_b)} % "
                 f"({100 * (mean_a / mean_b - 1):+.1f} %)")


def not_significantly_worse(summaries: Summaries, figure: str, a: str, b: str,
                            text: str) -> Check:
    """Check: ``a`` is not significantly worse than ``b``.

    Parameters
    ----------
    summaries : dict
        Figure name → ``summary.json``.
    figure : str
        The figure whose runs are compared.
    a, b : str
        Network labels of the figure.
    text : str
        What the check asks.

    Returns
    -------
    Check
        Failed only if ``a`` has the higher error with p <
        :data:`~segdend.results.verdicts.ALPHA`; ``passed`` None if the test is missing.
    """
    summary = summaries.get(figure)
    test = _find_test(summary, a, b) if summary is not None else None
    if test is None:
        return Check(text, None, _missing(summary, figure))
    return Check(text, not (test[0] > 0 and test[1] < ALPHA),
                 f"t = {test[0]:.2f}, p = {fmt_p(test[1])}")


def compare(summaries: Summaries, figure: str, key: str, relation: str, other: str | float,
            text: str) -> Check:
    """Check: a measure is below (``<``) or above (``>``) another measure or a number.

    Parameters
    ----------
    summaries : dict
        Figure name → ``summary.json``.
    figure : str
        The figure whose ``measures`` are read.
    key : str
        The measure compared.
    relation : {'<', '>'}
        Below or above.
    other : str or float
        Another measure of the figure, or a number.
    text : str
        What the check asks.

    Returns
    -------
    Check
        ``passed`` None if either side is missing.
    """
    summary = summaries.get(figure)
    value = _measure(summary, key)
    bound = float(other) if isinstance(other, int | float) else _measure(summary, other)
    if value is None or bound is None:
        return Check(text, None, _missing(summary, figure))
    passed = value < bound if relation == "<" else value > bound
    return Check(text, passed, f"{fmt_number(value)} {relation} {fmt_number(bound)}"
                 if passed else f"{fmt_number(value)} vs {fmt_number(bound)}")


def _exists(summaries: Summaries, figure: str, key: str, text: str) -> Check:
    """Check: a measure (an example index) is not null."""
    summary = summaries.get(figure)
    if summary is None or key not in summary.get("measures", {}):
        return Check(text, None, _missing(summary, figure))
    value = summary["measures"][key]
    return Check(text, value is not None,
                 "never" if value is None else f"at example {int(value)}")


@dataclass(frozen=True)
class Claim:
    """A qualitative claim of the paper, the figures that show it, and its checks."""

    text: str
    figures: tuple[str, ...]
    checks: Callable[[Summaries], list[Check]]
    """Summaries → the checks (with no summaries: every check, not computable)."""


def _shifted(summaries: Summaries) -> list[Check]:
    """Fig 5B–C: the hidden loss follows the output loss, beyond the shuffled control."""
    summary = summaries.get("fig5")
    real = _measure(summary, "5B.r")
    shuffled = _measure(summary, "5B.r_shuffled")
    text = "5B: r(L⁰, L¹) exceeds the shuffled r by at least 0.1"
    if real is None or shuffled is None:
        first = Check(text, None, _missing(summary, "fig5"))
    else:
        first = Check(text, real - shuffled >= 0.1, f"r = {real:.3f}, shuffled {shuffled:.3f}")
    return [first,
            compare(summaries, "fig5", "5C.median_r_after_epoch_1", ">", 0.1,
                    "5C: median per-category r after epoch 1 above 0.1"),
            compare(summaries, "fig5", "5C.share_above_shuffled", ">", 0.9,
                    "5C: real r above the shuffled r in more than 90 % of (epoch, category) "
                    "cells")]


CLAIMS: tuple[Claim, ...] = (
    Claim("Depth helps: 0 < 1 < 2 hidden layers (lower error with more layers)", ("fig6",),
          lambda s: [lower(s, "fig6", "one_hidden", "no_hidden",
                           "784-500-10 below 784-10 (p < 0.05)"),
                     lower(s, "fig6", "two_hidden", "one_hidden",
                           "784-500-100-10 below 784-500-10 (p < 0.05)")]),
    Claim("The hidden loss correlates with the output loss, more strongly than shuffled",
          ("fig5",), _shifted),
    Claim("The Jacobian condition of Theorem 1 holds within the first epoch", ("fig5s1",),
          lambda s: [_exists(s, "fig5s1", "5S1A.first_below_1",
                             "max eigenvalue (product of means) falls below 1 in epoch 1"),
                     compare(s, "fig5s1", "5S1A.end", "<", 1.0,
                             "and is below 1 at the end of epoch 1")]),
    Claim("The angle to backprop stays below 90°, and is lower with rate feedback", ("fig7",),
          lambda s: [compare(s, "fig7", "7A.spiking.max_after_1000", "<", 90.0,
                             "spiking feedback: smoothed angle below 90° after 1,000 examples"),
                     compare(s, "fig7", "7A.rate.max_after_1000", "<", 90.0,
                             "rate feedback: smoothed angle below 90° after 1,000 examples"),
                     compare(s, "fig7", "7A.rate.mean_after_1000", "<",
                             "7A.spiking.mean_after_1000",
                             "mean angle lower with rate than with spiking feedback")]),
    Claim("Receptive fields resemble backprop's more than shuffled ones do", ("fig7",),
          lambda s: [compare(s, "fig7", "7C.mean_max_r", ">", "7C.mean_max_r_shuffled",
                             "mean max r above the shuffled control's"),
                     compare(s, "fig7", "7C.share_above_shuffled", ">", 0.9,
                             "more than 90 % of the fields beat their shuffled control")]),
    Claim("Sparse feedback ×5 is better, ×1 worse", ("fig8", "fig8s1"),
          lambda s: [lower(s, "fig8", "sparse", "regular",
                           "8B: sparse ×5 below regular (p < 0.05)"),
                     lower(s, "fig8s1", "sparse", "regular",
                           "8S1: sparse ×5 below regular (p < 0.05)"),
                     lower(s, "fig8s1", "regular", "sparse_unamplified",
                           "8S1: sparse ×1 above regular (p < 0.05)")]),
    Claim("Symmetric feedback is better, noisy symmetric worse", ("fig8",),
          lambda s: [lower(s, "fig8", "symmetric", "regular",
                           "symmetric below regular (p < 0.05)"),
                     lower(s, "fig8", "regular", "symmetric_noise",
                           "symmetric + noise above regular (p < 0.05)")]),
    Claim("g_a = 0.05 does no harm; g_a = 0.6 impairs learning", ("fig9",),
          lambda s: [no_worse(s, "fig9", "strong", "two_hidden",
                              f"g_a = 0.05 at most {100 * HARMLESS:.0f} % above g_a = 0"),
                     lower(s, "fig9", "two_hidden", "weak",
                           "g_a = 0.6 above g_a = 0 (p < 0.05)"),
                     lower(s, "fig9", "strong", "weak",
                           "g_a = 0.6 above g_a = 0.05 (p < 0.05)")]),
    Claim("Stochastic plateau times make no difference", ("fig6s1",),
          lambda s: [no_worse(s, "fig6s1", "stochastic", "regular",
                              f"stochastic at most {100 * HARMLESS:.0f} % above synchronized"),
                     not_significantly_worse(s, "fig6s1", "stochastic", "regular",
                                             "stochastic not significantly worse "
                                             "(p ≥ 0.05 or lower)")]),
    Claim("Categories separate better at higher layers (t-SNE)", ("fig6",),
          lambda s: [compare(s, "fig6", "6C.neighbour_agreement.hidden1", ">",
                             "6C.neighbour_agreement.input",
                             "nearest-neighbour agreement: hidden 1 above input"),
                     compare(s, "fig6", "6C.neighbour_agreement.hidden2", ">",
                             "6C.neighbour_agreement.hidden1",
                             "hidden 2 above hidden 1")]),
)
"""The paper's qualitative claims RESULTS.md judges, in the order of its table."""


def claim_verdict(checks: list[Check]) -> str:
    """The verdict on a claim from its checks.

    Parameters
    ----------
    checks : list of Check
        What the claim's :attr:`Claim.checks` returned.

    Returns
    -------
    str
        ``holds`` if every check passed, ``partly`` if at least one did, ``does not hold`` if
        none did; ``not computable`` if no check could be computed (summaries written before
        their figure recorded the quantities).
    """
    if all(c.passed is None for c in checks):
        return "not computable"
    passed = sum(bool(c.passed) for c in checks)
    if passed == len(checks):
        return "holds"
    return "partly" if passed else "does not hold"


def claim_cell(claim: Claim, summaries: Summaries) -> str:
    """A claim judged on one reproduction folder, as a RESULTS.md table cell.

    Parameters
    ----------
    claim : Claim
        The claim.
    summaries : dict
        The folder's figure name → ``summary.json``.

    Returns
    -------
    str
        :data:`~segdend.results.formatting.NOT_RUN` if none of the claim's figures has been
        run; else the bold verdict and each check's mark (✔ passed, ✘ failed, ? not
        available) and evidence.
    """
    if not any(f in summaries for f in claim.figures):
        return NOT_RUN
    checks = claim.checks(summaries)
    verdict = claim_verdict(checks)
    marks = "; ".join(f"{'✔' if c.passed else '✘' if c.passed is False else '?'} {c.evidence}"
                      for c in checks)
    return f"**{verdict}** ({marks})"
