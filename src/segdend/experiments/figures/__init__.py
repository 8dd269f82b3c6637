"""One module per figure of the paper (PAPER.md §3): its runs and its post-processing."""
