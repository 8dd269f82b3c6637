"""RESULTS.md's section on the disagreements with the paper and what their probes found.

Every sentence is computed from the figures' ``summary.json`` measures (never typed), so that
it changes when the numbers do. The depth disagreement has its own section
(:func:`segdend.results.sweeps.depth_section`); this one covers the probes made inside the
figures themselves.
"""

from __future__ import annotations

from typing import Any

from segdend.results.formatting import NOT_RUN
from segdend.results.reading import Summaries
from segdend.results.sweeps import PAPER_ONE_HIDDEN_ERROR, PAPER_TWO_HIDDEN_ERROR

PAPER_5B_R = 0.61
"""Fig 5B's Pearson r in the paper (PAPER.md §0)."""


def _measures(summaries: Summaries, figure: str) -> dict[str, Any]:
    return summaries.get(figure, {}).get("measures", {}) or {}


def fig5b_finding(summaries: Summaries) -> str:
    """Fig 5B: which source of spike noise sets r(L⁰, L¹)."""
    m = _measures(summaries, "fig5")
    keys = ("5B.r", "5B.r_rate_feedback", "5B.r_rate_input", "5B.r_rate_mode")
    if any(m.get(k) is None for k in keys):
        return f"**Fig 5B**, r(L⁰, L¹): {NOT_RUN} (or made before its noise probes)."
    r, feedback, inputs, none = (float(m[k]) for k in keys)
    larger = max((feedback, "the output spikes' noise in the plateaus"),
                 (inputs, "the input spikes' noise"))
    if r < PAPER_5B_R < none:
        where = ("between ours and the noise-free value, as if the paper's runs had less of "
                 "that noise than ours")
    else:
        where = "outside the range between ours and the noise-free value"
    return (f"**Fig 5B**, r(L⁰, L¹) on the '2' test images after epoch 1: ours {r:.3f}, the "
            f"paper's {PAPER_5B_R}. Probing the same network and images again with one source "
            f"of spike noise switched off gives {feedback:.3f} with rate feedback (no "
            f"output-spike noise in α), {inputs:.3f} with rate input and {none:.3f} without "
            f"any spikes. Removing {larger[1]} raises r the most, so in our model that noise "
            f"sets r; the paper's {PAPER_5B_R} lies {where}.")


def fig5c_finding(summaries: Summaries) -> str:
    """Fig 5C: when, within and after epoch 1, the losses become coordinated."""
    m = _measures(summaries, "fig5")
    keys = ("5C.mean_r_epoch_1", "5C.mean_r_later", "5C.mean_r_epoch_1_first_tenth",
            "5C.mean_r_epoch_1_rest")
    if any(m.get(k) is None for k in keys):
        return f"**Fig 5C**, r in epoch 1: {NOT_RUN} (or made before its epoch-1 split)."
    epoch_1, later, first, rest = (float(m[k]) for k in keys)
    order = "lower" if epoch_1 < later else "higher"
    develops = ("rises from the first tenth of epoch 1 to the rest of it"
                if first < rest else "does not rise within epoch 1")
    text = (f"**Fig 5C**, r per category: the paper finds it clearly lower in epoch 1. Ours is "
            f"{order} in epoch 1 ({epoch_1:.2f}) than in the later epochs ({later:.2f}); "
            f"within epoch 1 it {develops} ({first:.2f} → {rest:.2f}).")
    if first < rest and epoch_1 >= later:
        text += (" In our model the coordination develops within the first tenth of epoch 1, "
                 "too early for the per-epoch resolution of Fig 5C to show epoch 1 as lower, "
                 "and r then falls slowly over the later epochs.")
    return text


PAPER_7A_SPIKING = (65, 70)
"""Fig 7A, spiking feedback, in the paper: the angle drops to ≈ 65° and rises to ≈ 70°."""


def fig7a_finding(summaries: Summaries) -> str:
    """Fig 7A: where the smoothed angle crosses 90° and how it changes over training."""
    m = _measures(summaries, "fig7")
    keys = ("7A.spiking.lowest", "7A.spiking.last", "7A.spiking.max_after_1000",
            "7A.spiking.share_above_90_after_1000", "7A.spiking.mean_epoch_1",
            "7A.spiking.mean_last_epoch", "7A.rate.mean_epoch_1", "7A.rate.mean_last_epoch")
    if any(m.get(k) is None for k in keys):
        return f"**Fig 7A**, angle to backprop: {NOT_RUN} (or made before its epoch means)."
    lowest, last, highest, share, first, final, rate_first, rate_final = (
        float(m[k]) for k in keys)
    low, end = PAPER_7A_SPIKING
    text = (f"**Fig 7A**, angle to backprop with spiking feedback: ours falls to {lowest:.1f}° "
            f"(the paper: ≈ {low}°) and ends at {last:.1f}° (≈ {end}°). ")
    if highest > 90.0:
        text += (f"Its 100-image mean is above 90° at {100 * share:.2f} % of the examples after "
                 f"the first 1,000 (at most {highest:.1f}°): brief excursions of a noisy mean, "
                 "but they fail the check that it stays below 90°. ")
    trend = "rises" if final > first else "falls"
    text += (f"Its mean {trend} from {first:.1f}° in epoch 1 to {final:.1f}° in the last epoch "
             f"(rate feedback: {rate_first:.1f}° → {rate_final:.1f}°)")
    if final > first and last > end:
        text += (": the alignment is reached early and then weakens over training, more than "
                 "in the paper.")
    else:
        text += "."
    return text


def findings_section(summaries: Summaries) -> list[str]:
    """Markdown lines: one paragraph per disagreement probed inside a figure.

    Parameters
    ----------
    summaries : dict
        Figure name → summary.json of the main reproduction (``mnist-full``).

    Returns
    -------
    list of str
        The paragraphs, each followed by a blank line.
    """
    lines = []
    for paragraph in (fig5b_finding(summaries), fig5c_finding(summaries),
                      fig7a_finding(summaries)):
        lines += [paragraph, ""]
    fig6 = _measures(summaries, "fig6")
    one, two = fig6.get("final_error.one_hidden"), fig6.get("final_error.two_hidden")
    if one is not None and two is not None and two >= one:
        lines += [f"**Fig 6**, depth: 784-500-100-10 ends at {two:.2f} %, not below "
                  f"784-500-10 ({one:.2f} %; the paper: {PAPER_TWO_HIDDEN_ERROR} % against "
                  f"{PAPER_ONE_HIDDEN_ERROR} %). This is "
                  "investigated one factor at a time in the section *Depth investigation* "
                  "below.", ""]
    return lines
