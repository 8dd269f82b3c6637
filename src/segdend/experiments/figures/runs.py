"""The networks the figures share (PAPER.md §3). Same overrides and length → same run."""

from __future__ import annotations

from segdend.experiments.spec import run

NO_HIDDEN = run("no_hidden", "784-10 (no hidden layer)", model__hidden=[])
ONE_HIDDEN = run("one_hidden", "784-500-10", model__hidden=[500])
TWO_HIDDEN = run("two_hidden", "784-500-100-10", model__hidden=[500, 100])
REGULAR = run("regular", "regular (random Y)", model__hidden=[500])
"""The standard one-hidden-layer network (random feedback, g_a = 0, synchronized plateaus)."""
