"""``segdend results RESULTS_DIR``: RESULTS.md, built only from the committed result folders.

Every number in RESULTS.md is read from the folders under ``results/``: the figures'
``summary.json`` files (our values, t-tests, measures, and the paper's values as their ``paper``
fields, taken from PAPER.md §0), their source-data CSVs and PNGs, the runs' ``config.toml``,
``metrics.csv`` and ``repeated_tests.csv``, and ``timings.csv``. Nothing is typed in by hand, so
``segdend results results --out RESULTS.md`` regenerates the file byte for byte.

Sections, each present when its folder exists:

- ``mnist-full`` — the reproduction with the code preset: the numbers of PAPER.md §0 beside
  ours with a verdict, the paper's qualitative claims with a verdict, every figure.
- ``mnist-full-paper`` — the same with the paper preset (Fig 6 side by side with the code
  preset).
- ``seeds`` — a ``segdend sweep`` of the three Fig 6 networks over several seeds.
- ``depth`` — a ``segdend sweep`` changing one factor at a time for 784-500-10 and
  784-500-100-10.
- ``fashion-mnist-full`` — the reproduction on Fashion-MNIST.

The modules, one job each:

- :mod:`~segdend.results.formatting` — numbers, p-values, durations and Markdown tables as
  RESULTS.md writes them;
- :mod:`~segdend.results.reading` — summaries, timings, committed runs' final numbers and
  sweep runs read from the folders;
- :mod:`~segdend.results.verdicts` — our values and t-tests against the paper's (matches,
  close, differs) and the rules;
- :mod:`~segdend.results.claims` — the paper's qualitative claims and their checks (holds,
  partly, does not hold);
- :mod:`~segdend.results.sweeps` — the sections of the ``seeds`` and ``depth`` sweeps;
- :mod:`~segdend.results.compare` — two reproductions compared number by number
  (``segdend compare``), times left out;
- :mod:`~segdend.results.builder` — the document: :class:`Builder`, :func:`build_results`,
  :func:`write_results`.
"""

from __future__ import annotations

from segdend.results.builder import REPRODUCTIONS, Builder, build_results, write_results
from segdend.results.claims import (
    CLAIMS,
    HARMLESS,
    Check,
    Claim,
    claim_verdict,
    compare,
    lower,
    no_worse,
    not_significantly_worse,
)
from segdend.results.compare import Comparison, compare_folders
from segdend.results.formatting import NOT_RUN
from segdend.results.reading import (
    FIGURES,
    end_to_end_seconds,
    figure_wall_seconds,
    load_summaries,
    read_json,
    read_rows,
    read_timings,
    run_final,
)
from segdend.results.verdicts import (
    ALPHA,
    CLOSE_TOLERANCE,
    MATCH_TOLERANCE,
    parse_paper_test,
    parse_paper_value,
    t_test_numbers,
    t_test_verdict,
    value_numbers,
    value_verdict,
)

__all__ = [
    "ALPHA",
    "CLAIMS",
    "CLOSE_TOLERANCE",
    "FIGURES",
    "HARMLESS",
    "MATCH_TOLERANCE",
    "NOT_RUN",
    "REPRODUCTIONS",
    "Builder",
    "Check",
    "Claim",
    "Comparison",
    "build_results",
    "claim_verdict",
    "compare",
    "compare_folders",
    "end_to_end_seconds",
    "figure_wall_seconds",
    "load_summaries",
    "lower",
    "no_worse",
    "not_significantly_worse",
    "parse_paper_test",
    "parse_paper_value",
    "read_json",
    "read_rows",
    "read_timings",
    "run_final",
    "t_test_numbers",
    "t_test_verdict",
    "value_numbers",
    "value_verdict",
    "write_results",
]
