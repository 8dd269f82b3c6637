"""Reproductions of the paper's figures: one declarative module per figure (``figures/``), the
scales they run at (``spec``), and the runner that trains their networks in parallel and
post-processes them (``reproduce``)."""
