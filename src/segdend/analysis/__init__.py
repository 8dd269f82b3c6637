"""Analyses of the paper's figures: statistics, losses, Jacobians, angles, receptive fields."""
